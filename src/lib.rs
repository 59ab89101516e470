//! synwave: a kernel-bypass TCP connection engine.
//!
//! Layers, bottom up; each uses only those below it:
//!
//! ```text
//!   bin     the `synwave` command: arguments, dispatch (errors: [`Failure`])
//!    |
//!   io      the AF_XDP data path: XDP program, AF_XDP sockets, workers,
//!    |      runtime, ARP, keys, testbed — the only `unsafe` (io::sys)
//!   app     what runs on an engine, and the one turn every driver shares:
//!    |      load, connect, serve; plans, tuples, reports
//!   tcp     the sans-IO engine: frames and time in, frames and events out
//!    |
//!   wire    zero-copy packet views, parse and emit
//! ```
//!
//! [`wire`], [`tcp`] and [`app`] read no clock and make no syscall (the
//! kernel yardsticks in `app::kernel` aside, which use ordinary sockets):
//! the simulated wire in `tests/` and the benches drive the same engine and
//! applications the workers do.
#![deny(unsafe_code)]

pub mod app;
mod error;
pub mod io;
pub mod tcp;
pub mod wire;

pub use error::Failure;
