//! Applications on top of the engine, each an [`crate::io::worker::App`]:
//! what `synwave serve` and `synwave connect` run on every worker.

pub mod connect;
pub mod kernel;
pub mod server;

pub use connect::{ConnectApp, ConnectOptions};
pub use server::{CloseMode, ServerApp};
