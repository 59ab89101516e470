//! The sans-IO TCP lifecycle engine.
