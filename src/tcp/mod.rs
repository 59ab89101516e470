//! The sans-IO TCP lifecycle engine.

pub mod timer;
