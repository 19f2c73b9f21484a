//! alpha-panda: a host that runs trading strategies as hot-reloadable, sandboxed
//! WebAssembly components on a Kafka-API (Redpanda) event stream.
//!
//! Layout, in the order a tick travels (bytes → envelope → tick → strategy call →
//! signal → envelope → bytes):
//! - [`config`]: the one typed configuration, from TOML plus environment overrides.
//! - [`topics`]: the topic registry: names, partitions, retention, keys, groups.
//! - [`kafka`]: client settings, the embedded broker, topic administration.
//! - [`contract`]: the wire format: envelopes, event types, payloads, child derivation.
//! - [`dedup`]: skipping events already processed (Redis, or in-process).
//! - [`manifest`]: plugin manifests (`NAME.toml`).
//! - [`wasm`]: the sandboxed engine: checks, instances, tick batches, output validation.
//! - [`strategy`]: running strategies: snapshots, fault recovery, quarantine, hot swap, routing.
//! - [`registry`]: the plugins folder: scanning, `plugin check`, the watcher.
//! - [`emit`]: signals into `trading_signal` child envelopes.
//! - [`errors`]: error types of the contract and the retry policy.
//! - [`dlq`]: dead-letter records that keep every byte.
//! - [`pipeline`]: consume → dedup → run → produce → commit.
//! - [`state`]: strategy state that follows a partition of `market.ticks`.
//! - [`metrics`]: `/metrics` and `/health`.
//! - [`app`]: `alpha-panda run`, wiring the parts together.
//! - [`feed`], [`replay`], [`dlq_replay`], [`scaffold`]: the other commands.
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
pub mod state;
pub mod strategy;
pub mod topics;
pub mod wasm;
