//! synwave: a kernel-bypass TCP connection engine.
//!
//! Layers, bottom up: [`wire`] (zero-copy packet views, parse and emit),
//! [`tcp`] (the sans-IO connection engine: states, TCB table, timers),
//! [`io`] (the AF_XDP data path: XDP steering program, AF_XDP sockets,
//! workers), [`app`] (what runs on the engine: server, connector).
#![deny(unsafe_code)]

pub mod app;
pub mod io;
pub mod tcp;
pub mod wire;
