//! The sans-IO TCP lifecycle engine (RFC 9293): pure functions of frames and
//! time — no syscalls, no threads, no clock reads.

mod batch;
mod challenge;
mod config;
mod core;
mod engine;
mod event;
mod input;
mod isn;
mod keys;
mod listen;
mod output;
mod rack;
mod reassembly;
mod recovery;
mod retransmit;
mod rtt;
mod scoreboard;
mod spurious;
mod state;
mod stats;
mod syn_cookie;
mod table;
mod tcb;
mod time;
mod time_wait;
pub mod timer;
mod tuple;
mod tuple_map;

pub use batch::{FrameBatch, Slots};
pub use config::{Config, ConfigError};
pub use engine::{Engine, EngineError};
pub use event::{ConnId, Event, EventKind, Events, TimeoutReason};
pub use isn::IsnGenerator;
pub use keys::Keys;
pub use rtt::{RtoBounds, RttEstimator};
pub use state::State;
pub use stats::Stats;
pub use syn_cookie::SynCookies;
pub use table::{Slot, Table};
pub use time::Instant;
pub use tuple::FourTuple;
#[cfg(test)]
mod tests;
