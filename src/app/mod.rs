//! Applications on top of the engine, each an [`App`] driven by [`turn`]:
//! what `synwave serve` and `synwave connect` run on every worker.

pub mod capture;
pub mod connect;
mod counters;
pub mod demo;
pub mod http;
pub mod interval;
pub mod kernel;
pub mod load;
pub mod merge;
pub mod owner;
pub mod plan;
pub mod prometheus;
pub mod rate;
pub mod report;
pub mod search;
pub mod segment;
pub mod server;
pub mod tuples;
mod turn;

pub use connect::{ConnectApp, ConnectCounters, ConnectOptions};
pub use load::{LoadApp, LoadClose, LoadCounters, LoadOptions, ResponseEnd};
pub use server::{CloseMode, ServerApp, ServerCounters};
pub use turn::{turn, App};
