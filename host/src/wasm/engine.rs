//! One wasmtime [`Engine`] and [`Linker`] per process: epoch interruption driven by
//! a 1 ms ticker thread that runs only while a plugin call is in progress, no async
//! concurrency machinery (3× cheaper calls), and a cache of compiled components
//! keyed by content hash.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::bindings::Plugin;
use super::component::{self, LoadError, PluginComponent};
use super::sandbox::StoreState;

/// Epoch period: a call's deadline is counted in these.
pub const EPOCH_PERIOD: Duration = Duration::from_millis(1);

/// Sandbox limits of every instance the engine creates.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// CPU budget of one tick; a batch gets this times its length (capped).
    pub call_timeout: Duration,
    /// Linear memory cap of one instance.
    pub memory_limit_bytes: usize,
    /// A component file larger than this is refused.
    pub max_wasm_bytes: u64,
    /// Core instances one component may create.
    pub max_instances: u32,
    /// An artifact file larger than this is refused.
    pub max_artifact_bytes: u64,
    /// Compiled code is named in `/tmp/perf-PID.map` for `perf` (`plugins.perf_map`).
    pub perf_map: bool,
    /// `SCHED_FIFO` priority of the epoch ticker, one above the strategy
    /// workers' (`plugins.realtime_priority`), so a looping call's deadline
    /// fires even while real-time workers hold every core; 0: the normal scheduler.
    pub ticker_priority: u8,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self::from_config(&crate::config::PluginsConfig::default())
    }
}

impl EngineLimits {
    pub fn from_config(p: &crate::config::PluginsConfig) -> Self {
        Self {
            call_timeout: Duration::from_millis(p.call_timeout_ms),
            memory_limit_bytes: usize::try_from(p.memory_limit_mib.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            max_wasm_bytes: p.max_wasm_bytes,
            max_instances: p.max_instances,
            max_artifact_bytes: p.max_artifact_bytes,
            perf_map: p.perf_map,
            ticker_priority: match p.realtime_priority {
                0 => 0,
                n => n.saturating_add(1),
            },
        }
    }
}

/// The epoch ticker: advances the engine's epoch every [`EPOCH_PERIOD`] while at
/// least one call is running, and sleeps (no wake-ups) while none is.
pub(crate) struct Ticker {
    stop: AtomicBool,
    /// Calls in progress.
    active: AtomicUsize,
    thread: OnceLock<std::thread::Thread>,
}

impl Ticker {
    /// Starts the ticker's thread for `engine`, at `SCHED_FIFO` `priority` (0:
    /// the normal scheduler); a thread that cannot take it fails the start.
    fn start(engine: wasmtime::EngineWeak, priority: u8) -> Result<Arc<Ticker>, LoadError> {
        let ticker = Arc::new(Ticker {
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            thread: OnceLock::new(),
        });
        let shared = ticker.clone();
        let handle = crate::sched::spawn("wasm-epoch", priority, move || shared.run(&engine))
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        let _ = ticker.thread.set(handle.thread().clone());
        Ok(ticker)
    }

    /// The ticker's loop, until it is stopped or its engine is gone.
    fn run(&self, engine: &wasmtime::EngineWeak) {
        while !self.stop.load(Ordering::Acquire) {
            if self.active.load(Ordering::Acquire) == 0 {
                // `busy` unparks; an unpark that came first makes this return.
                std::thread::park();
                continue;
            }
            std::thread::sleep(EPOCH_PERIOD);
            match engine.upgrade() {
                Some(e) => e.increment_epoch(),
                None => break,
            }
        }
    }

    /// Marks a call as running until the guard drops.
    pub(crate) fn busy(&self) -> Busy<'_> {
        if self.active.fetch_add(1, Ordering::AcqRel) == 0 {
            if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
        Busy(self)
    }
}

/// A call in progress (see [`Ticker::busy`]).
pub(crate) struct Busy<'a>(&'a Ticker);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A share in the ticker (an instance holds one).
#[derive(Clone)]
pub(crate) struct TickerHandle(Arc<TickerOwner>);

impl TickerHandle {
    pub(crate) fn busy(&self) -> Busy<'_> {
        self.0 .0.busy()
    }
}

/// Stops the ticker thread when the last engine handle and instance are gone.
struct TickerOwner(Arc<Ticker>);

impl Drop for TickerOwner {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
        if let Some(t) = self.0.thread.get() {
            t.unpark();
        }
    }
}

/// The shared engine: clone it freely (it is reference-counted).
#[derive(Clone)]
pub struct StrategyEngine {
    engine: Engine,
    linker: Arc<Linker<StoreState>>,
    limits: EngineLimits,
    cache_dir: Option<PathBuf>,
    allowed_sha256: Arc<Vec<String>>,
    ticker: Arc<TickerOwner>,
}

/// Where a component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    Compiled,
    Cache,
}

impl StrategyEngine {
    /// Builds the engine. `cache_dir` = None disables the compiled cache.
    pub fn new(limits: EngineLimits, cache_dir: Option<PathBuf>) -> Result<Self, LoadError> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .concurrency_support(false)
            .wasm_component_model(true)
            .max_wasm_stack(512 * 1024);
        if limits.perf_map {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let mut linker: Linker<StoreState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let ticker = Ticker::start(engine.weak(), limits.ticker_priority)?;
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            limits,
            cache_dir,
            allowed_sha256: Arc::new(Vec::new()),
            ticker: Arc::new(TickerOwner(ticker)),
        })
    }

    /// The engine the `[plugins]` configuration asks for: its limits, its compiled
    /// cache and its allow-list.
    pub fn from_config(p: &crate::config::PluginsConfig) -> Result<Self, LoadError> {
        Ok(
            Self::new(EngineLimits::from_config(p), Some(p.cache_dir()))?
                .with_allow_list(p.allowed_sha256.clone()),
        )
    }

    /// Only components whose sha256 (hex) is listed load; empty allows any.
    pub fn with_allow_list(mut self, hashes: Vec<String>) -> Self {
        self.allowed_sha256 =
            Arc::new(hashes.into_iter().map(|h| h.to_ascii_lowercase()).collect());
        self
    }

    /// What a plugin's artifacts must satisfy: the size cap and the same allow-list.
    pub fn artifact_policy(&self) -> crate::artifacts::Policy {
        crate::artifacts::Policy {
            max_bytes: self.limits.max_artifact_bytes,
            allowed_sha256: self.allowed_sha256.clone(),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<StoreState> {
        &self.linker
    }

    pub fn limits(&self) -> &EngineLimits {
        &self.limits
    }

    /// The epoch ticker, kept alive by every instance that needs it.
    pub(crate) fn ticker(&self) -> TickerHandle {
        TickerHandle(self.ticker.clone())
    }

    /// Reads, checks and compiles a component file.
    pub fn load_file(&self, path: &Path) -> Result<PluginComponent, LoadError> {
        let meta = std::fs::metadata(path).map_err(|e| LoadError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if meta.len() > self.limits.max_wasm_bytes {
            return Err(LoadError::TooLarge {
                size: meta.len(),
                max: self.limits.max_wasm_bytes,
            });
        }
        let bytes = std::fs::read(path).map_err(|e| LoadError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        self.load_bytes(&bytes)
    }

    /// Checks and compiles component bytes (from the cache when present).
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<PluginComponent, LoadError> {
        if bytes.len() as u64 > self.limits.max_wasm_bytes {
            return Err(LoadError::TooLarge {
                size: bytes.len() as u64,
                max: self.limits.max_wasm_bytes,
            });
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        if !self.allowed_sha256.is_empty() && !self.allowed_sha256.contains(&sha256) {
            return Err(LoadError::NotAllowed { sha256 });
        }
        component::check_header(bytes)?;
        let (compiled, source) = self.compile(bytes, &sha256)?;
        let language = super::language::Language::detect(bytes);
        PluginComponent::new(self, compiled, sha256, source, language)
    }

    fn cache_path(&self, sha256: &str) -> Option<PathBuf> {
        use std::hash::{Hash, Hasher};
        let dir = self.cache_dir.as_ref()?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        Some(dir.join(format!("{sha256}-{:016x}.cwasm", h.finish())))
    }

    fn compile(&self, bytes: &[u8], sha256: &str) -> Result<(Component, CompileSource), LoadError> {
        let cached = self.cache_path(sha256);
        if let Some(path) = cached.as_ref().filter(|p| p.is_file()) {
            // SAFETY: the cache holds only artifacts this host wrote itself, named by
            // the source hash and this engine's compatibility hash.
            if let Ok(c) = unsafe { Component::deserialize_file(&self.engine, path) } {
                return Ok((c, CompileSource::Cache));
            }
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        if let Some(path) = cached {
            if let Err(e) = write_cache(&component, &path) {
                tracing::warn!(path = %path.display(), error = %e, "compiled cache not written");
            }
        }
        Ok((component, CompileSource::Compiled))
    }
}

fn write_cache(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
