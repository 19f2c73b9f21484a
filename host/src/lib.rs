//! alpha-panda: a host that runs trading strategies as hot-reloadable, sandboxed
//! WebAssembly components on a Kafka-API (Redpanda) event stream.
//!
//! Layout, in the order a tick travels (bytes → envelope → tick → strategy call →
//! signal → envelope → bytes). Each module uses only modules listed before it
//! (`tests/layout.rs` checks it, and that no file or function grows too long).
//! - [`contract`]: the wire format: envelopes, event types, payloads, child derivation.
//! - [`sched`]: real-time scheduling of the threads a tick waits on.
//! - [`config`]: the one typed configuration and every default.
//! - [`clock`]: the one clock (tokio's, so tests run on paused time).
//! - [`backoff`]: the one exponential backoff.
//! - [`errors`]: error classification and the contract's retry policy.
//! - [`topics`]: the topic registry: names, partitions, retention, keys, groups.
//! - [`kafka`]: client settings, the embedded broker, topic administration, producing.
//! - [`dedup`]: skipping events already processed (Redis, or in-process).
//! - [`artifacts`]: model and data files a manifest names, read, capped and hashed.
//! - [`manifest`]: plugin manifests (`NAME.toml`).
//! - [`wasm`]: the sandbox: checks, instances, ticks into the flat batch, output checks.
//! - [`strategy`]: running strategies: snapshots, fault recovery, quarantine, hot swap, routing.
//! - [`registry`]: the plugins folder: scanning, `plugin check`, the watcher, readiness.
//! - [`state`]: strategy state records and reading them back from the cluster.
//! - [`merge`]: ticks of several instruments merged by event time.
//! - [`partitions`]: the partitions this host owns and their state: a state machine.
//! - [`units`]: strategy-scoped strategies: who owns which unit, its consumer, merge and restore.
//! - [`emit`]: signals into `trading_signal` child envelopes.
//! - [`dlq`]: dead-letter records that keep every byte.
//! - [`observe`]: metrics, `/metrics` and `/health`, operator commands, the terminal view.
//! - [`pipeline`]: classify → dedupe → run → encode → deliver → commit.
//! - [`replay`], [`feed`]: recorded ticks through the plugins; ticks onto the stream.
//! - [`app`]: `alpha-panda run`, wiring the parts together.
//! - [`dlq_replay`], [`scaffold`], [`import`]: the other commands.
pub mod contract;
pub mod sched;
pub mod config;
pub mod clock;
pub mod backoff;
pub mod errors;
pub mod topics;
pub mod kafka;
pub mod dedup;
pub mod artifacts;
pub mod manifest;
pub mod wasm;
pub mod strategy;
pub mod registry;
pub mod state;
pub mod merge;
pub mod partitions;
pub mod units;
pub mod emit;
pub mod dlq;
pub mod observe;
pub mod pipeline;
pub mod replay;
pub mod feed;
pub mod app;
pub mod dlq_replay;
pub mod scaffold;
pub mod import;
