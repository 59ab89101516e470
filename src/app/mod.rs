//! Applications on top of the engine, each an [`crate::io::worker::App`]:
//! what `synwave serve` and `synwave connect` run on every worker.

pub mod connect;
pub mod kernel;
pub mod load;
pub mod metrics;
pub mod rate;
pub mod report;
pub mod server;
pub mod tuples;

pub use connect::{ConnectApp, ConnectOptions};
pub use load::{LoadApp, LoadClose, LoadOptions, ResponseEnd};
pub use server::{CloseMode, ServerApp};
