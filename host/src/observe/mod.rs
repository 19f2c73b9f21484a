//! What an operator sees of a running host.
//!
//! - [`metrics`]: every counter, gauge and histogram, registered once.
//! - [`compat`]: the Python runner's metrics and Redis keys, when asked for.
//! - [`recent`]: the last signals and plugin events, for the terminal view.
//! - [`http`]: `/metrics`, `/health`, and operator commands to the stream loop.
//! - [`display`]: the terminal view and the summary at the end of a run.
pub mod compat;
pub mod display;
pub mod http;
pub mod metrics;
pub mod recent;

pub use http::{Endpoint, OperatorCommand};
pub use metrics::Metrics;
