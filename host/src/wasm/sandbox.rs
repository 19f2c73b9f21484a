//! What each store holds: an empty WASI context (no files, env, args, network,
//! inherited stdio), clocks pinned at zero, randomness from a seed, the memory
//! limiter, captured stderr, and the host's logging import.

use rand::SeedableRng;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::alpha_panda::strategy::host::Host;
use super::bindings::types::LogLevel;

/// Bytes of guest stderr kept (panic messages land there).
const STDERR_CAPACITY: usize = 8 * 1024;
/// Log lines a plugin may write per call before the rest are dropped and counted.
pub const LOG_LINES_PER_CALL: u32 = 100;

/// A clock that never moves: strategies get time only from ticks.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The store's limits, and the linear memory its instances hold in all (it only
/// grows: a guest's allocator never hands pages back).
pub struct Limiter {
    inner: StoreLimits,
    pub(crate) memory_bytes: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        if ok {
            self.memory_bytes += desired.saturating_sub(current);
        }
        Ok(ok)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The state of one store.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limiter,
    stderr: MemoryOutputPipe,
    strategy_id: String,
    logs_this_call: u32,
    pub(crate) logs_dropped: u64,
    /// When false (replay after a fault), plugin logs are not written again.
    pub(crate) log_enabled: bool,
    /// The CPU budget of the call in progress.
    pub(crate) budget: super::cpu::CpuBudget,
}

impl StoreState {
    pub fn new(strategy_id: &str, seed: u64, limits: &super::EngineLimits) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(rand::rngs::StdRng::seed_from_u64(seed))
            .insecure_random(rand::rngs::StdRng::seed_from_u64(
                seed ^ 0x9e37_79b9_7f4a_7c15,
            ))
            .insecure_random_seed(u128::from(seed))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(limits.memory_limit_bytes)
                .instances(limits.max_instances as usize)
                .tables(64)
                .memories(4)
                .trap_on_grow_failure(true)
                .build(),
            memory_bytes: 0,
        };
        Self {
            wasi,
            table: ResourceTable::new(),
            limits,
            stderr,
            strategy_id: strategy_id.to_owned(),
            logs_this_call: 0,
            logs_dropped: 0,
            log_enabled: true,
            budget: super::cpu::CpuBudget::default(),
        }
    }

    /// What the guest wrote to stderr (a panic message, usually), lossily decoded.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_owned()
    }

    pub(crate) fn start_call(&mut self) {
        self.logs_this_call = 0;
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Host for StoreState {
    fn log(&mut self, level: LogLevel, message: String, fields: Vec<(String, String)>) {
        if !self.log_enabled {
            return;
        }
        if self.logs_this_call >= LOG_LINES_PER_CALL {
            self.logs_dropped += 1;
            return;
        }
        self.logs_this_call += 1;
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let id = self.strategy_id.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(strategy_id = id, %fields, "plugin: {message}"),
            LogLevel::Debug => tracing::debug!(strategy_id = id, %fields, "plugin: {message}"),
            LogLevel::Info => tracing::info!(strategy_id = id, %fields, "plugin: {message}"),
            LogLevel::Warn => tracing::warn!(strategy_id = id, %fields, "plugin: {message}"),
            LogLevel::Error => tracing::error!(strategy_id = id, %fields, "plugin: {message}"),
        }
    }
}

impl super::bindings::alpha_panda::strategy::types::Host for StoreState {}
