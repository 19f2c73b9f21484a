//! The context of consumers that read a partition to its end on purpose (state
//! reads, strategy-scoped units): reaching the end is news they act on, not an
//! error to log; librdkafka's other global errors are logged as warnings.

use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError as RdError;
use rdkafka::ClientContext;

/// A consumer context for which the end of a partition is not an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReaderContext;

/// Logs a global librdkafka error, unless it is the end of a partition.
pub fn log_global_error(error: &RdError, reason: &str) {
    if !matches!(error, RdError::PartitionEOF(_)) {
        tracing::warn!(target: "librdkafka", %error, "{reason}");
    }
}

impl ClientContext for ReaderContext {
    fn error(&self, error: RdError, reason: &str) {
        log_global_error(&error, reason);
    }
}

impl ConsumerContext for ReaderContext {}
