//! alpha-panda: a host that runs trading strategies as hot-reloadable, sandboxed
//! WebAssembly components on a Kafka-API (Redpanda) event stream.
//!
//! Layout, in the order a tick travels (bytes → envelope → tick → strategy call →
//! signal → envelope → bytes):
//! - [`config`]: the one typed configuration, from TOML plus environment overrides.
//! - [`contract`]: the wire format: envelopes, event types, payloads, child derivation.
//! - [`topics`]: the topic registry: names, partitions, retention, keys, groups.
//! - [`kafka`]: client settings, the embedded broker, topic administration.
pub mod config;
pub mod contract;
pub mod kafka;
pub mod topics;
pub mod manifest;
pub mod wasm;
pub mod strategy;
pub mod emit;
pub mod registry;
pub mod replay;
pub mod scaffold;
pub mod dlq;
pub mod errors;
pub mod dedup;
pub mod pipeline;
