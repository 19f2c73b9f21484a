//! Kafka I/O through `rdkafka`: client settings, the embedded broker, topic
//! administration, and producing with in-place retries.
//!
//! - [`settings`]: every client's librdkafka properties.
//! - [`embedded`]: the in-process broker of the default profile.
//! - [`admin`]: `topics create` and `topics check`.
//! - [`outbox`]: writing records, retried with the contract's backoff.
//! - [`reader`]: the context of consumers that read partitions to their end.
pub mod admin;
pub mod embedded;
pub mod outbox;
pub mod reader;
pub mod settings;

/// A Kafka client could not be built or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka client setup failed: {0}")]
    Client(#[source] rdkafka::error::KafkaError),
    #[error("kafka request `{op}` failed: {source}")]
    Request {
        op: &'static str,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error("topic `{topic}`: {message}")]
    Topic { topic: String, message: String },
    #[error("embedded broker: {0}")]
    Embedded(String),
}
