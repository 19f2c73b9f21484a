//! alpha-panda: a host that runs trading strategies as hot-reloadable, sandboxed
//! WebAssembly components on a Kafka-API (Redpanda) event stream.
//!
//! Layout, in the order a tick travels (bytes → envelope → tick → strategy call →
//! signal → envelope → bytes):
//! - [`config`]: the one typed configuration, from TOML plus environment overrides.
//! - [`contract`]: the wire format: envelopes, event types, payloads, child derivation.
//! - [`topics`]: the topic registry: names, partitions, retention, keys, groups.
//! - [`kafka`]: client settings, the embedded broker, topic administration.
pub mod app;
pub mod config;
pub mod contract;
pub mod dedup;
pub mod dlq;
pub mod dlq_replay;
pub mod emit;
pub mod errors;
pub mod feed;
pub mod kafka;
pub mod manifest;
pub mod metrics;
pub mod pipeline;
pub mod registry;
pub mod replay;
pub mod scaffold;
pub mod strategy;
pub mod topics;
pub mod wasm;
