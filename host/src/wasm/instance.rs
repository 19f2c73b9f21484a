//! One live plugin instance in its own store. Every call gets a CPU budget
//! (`plugins.call_timeout_ms` per tick, checked at epoch deadlines against the
//! thread's CPU clock: [`super::cpu`]); any trap, timeout or memory exhaustion
//! becomes a [`Fault`] and leaves the instance dead (wasmtime poisons the store), so
//! the owner must rebuild it.

use std::time::Duration;

use wasmtime::{Store, UpdateDeadline};

use super::bindings::types::{InitConfig, TickBatch};
use super::bindings::{guest, Plugin};
use super::component::{LoadError, PluginComponent};
use super::cpu::CpuBudget;
use super::engine::{StrategyEngine, TickerHandle, EPOCH_PERIOD};
use super::output::RawOutput;
use super::sandbox::StoreState;

/// Longest CPU budget a single call may get, however large the batch.
const MAX_CALL_DEADLINE: Duration = Duration::from_secs(2);

/// What went wrong inside a plugin call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    #[error("call exceeded its CPU deadline of {0:?}")]
    Timeout(Duration),
    #[error("memory limit exceeded: {0}")]
    OutOfMemory(String),
    #[error("plugin panicked: {0}")]
    Panic(String),
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("invalid output: {0}")]
    InvalidOutput(String),
    #[error("strategy error: {0}")]
    Strategy(String),
    #[error("instance is dead after an earlier fault")]
    Dead,
}

impl Fault {
    /// A short stable name, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Timeout(_) => "timeout",
            Fault::OutOfMemory(_) => "out_of_memory",
            Fault::Panic(_) => "panic",
            Fault::Trap(_) => "trap",
            Fault::InvalidOutput(_) => "invalid_output",
            Fault::Strategy(_) => "strategy_error",
            Fault::Dead => "dead",
        }
    }

    /// True when the instance cannot be called again.
    pub fn kills_instance(&self) -> bool {
        !matches!(self, Fault::InvalidOutput(_) | Fault::Strategy(_))
    }
}

/// A live instance: a store and the bindings of one component.
pub struct Instance {
    store: Store<StoreState>,
    plugin: Plugin,
    call_timeout: Duration,
    dead: bool,
    /// Advances the epoch while this instance runs guest code.
    ticker: TickerHandle,
}

impl Instance {
    /// Instantiates `component` in a fresh store (no `init` yet).
    pub fn new(
        engine: &StrategyEngine,
        component: &PluginComponent,
        strategy_id: &str,
        seed: u64,
    ) -> Result<Self, LoadError> {
        let limits = engine.limits();
        let state = StoreState::new(strategy_id, seed, limits);
        let mut store = Store::new(engine.engine(), state);
        store.limiter(|s| &mut s.limits);
        // At each epoch deadline: stop the call if it used its CPU budget, else let
        // it run for what is left (wall time ≥ CPU time, so it is checked again).
        store.epoch_deadline_callback(|mut ctx| {
            Ok(match ctx.data_mut().budget.check() {
                Some(left) => UpdateDeadline::Continue(epoch_ticks(left)),
                None => UpdateDeadline::Interrupt,
            })
        });
        let first = CpuBudget::new(budget(limits.call_timeout, 1));
        store.set_epoch_deadline(epoch_ticks(first.first_check()));
        store.data_mut().budget = first;
        let ticker = engine.ticker();
        let plugin = {
            let _busy = ticker.busy();
            component
                .pre()
                .instantiate(&mut store)
                .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?
        };
        Ok(Self {
            store,
            plugin,
            call_timeout: limits.call_timeout,
            dead: false,
            ticker,
        })
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The linear memory the instance holds, in bytes (every memory of every
    /// core instance in it).
    pub fn memory_bytes(&self) -> usize {
        self.store.data().limits.memory_bytes
    }

    fn arm(&mut self, units: usize) -> Result<(), Fault> {
        if self.dead {
            return Err(Fault::Dead);
        }
        let budget = CpuBudget::new(budget(self.call_timeout, units));
        self.store
            .set_epoch_deadline(epoch_ticks(budget.first_check()));
        let data = self.store.data_mut();
        data.budget = budget;
        data.start_call();
        Ok(())
    }

    fn fail(&mut self, err: wasmtime::Error) -> Fault {
        self.dead = true;
        classify(
            &err,
            self.store.data().stderr_text(),
            self.store.data().budget.limit(),
        )
    }

    /// One guest call with a deadline of `units` ticks of work, the epoch ticker
    /// running meanwhile; a trap kills the instance and becomes a [`Fault`].
    fn call<T>(
        &mut self,
        units: usize,
        f: impl FnOnce(&guest::Guest, &mut Store<StoreState>) -> wasmtime::Result<T>,
    ) -> Result<T, Fault> {
        self.arm(units)?;
        let result = {
            let _busy = self.ticker.busy();
            f(self.plugin.alpha_panda_strategy_strategy(), &mut self.store)
        };
        result.map_err(|e| self.fail(e))
    }

    /// Hands the parameters over. `Ok(Err(_))` is the plugin refusing them.
    pub fn init(&mut self, config: &InitConfig) -> Result<Result<(), String>, Fault> {
        let refused = self.call(100, |g, s| g.call_init(s, config))?;
        Ok(refused.map_err(|e| match e.param {
            Some(p) => format!("parameter `{p}`: {}", e.message),
            None => e.message,
        }))
    }

    /// Runs a batch of ticks. A signal buffer the host cannot read is a fault of
    /// the call, like a trap.
    pub fn on_ticks(&mut self, batch: &TickBatch) -> Result<RawOutput, Fault> {
        let units = (batch.count as usize).max(1);
        let out = self.call(units, |g, s| g.call_on_ticks(s, batch))?;
        RawOutput::read(out)
    }

    /// The plugin's state as bytes.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, Fault> {
        self.call(100, |g, s| g.call_snapshot(s))
    }

    /// Restores a snapshot. `Ok(Err(_))` is the plugin refusing the bytes.
    pub fn restore(&mut self, state: &[u8]) -> Result<Result<(), String>, Fault> {
        self.call(100, |g, s| g.call_restore(s, state))
    }

    /// Turns the plugin's own log lines on or off (off while replaying after a fault).
    pub fn set_logging(&mut self, on: bool) {
        self.store.data_mut().log_enabled = on;
    }
}

/// The CPU budget of `units` ticks of work: `timeout` each, capped at
/// [`MAX_CALL_DEADLINE`] unless one tick's budget is larger.
fn budget(timeout: Duration, units: usize) -> Duration {
    timeout
        .saturating_mul(u32::try_from(units).unwrap_or(u32::MAX))
        .min(MAX_CALL_DEADLINE)
        .max(timeout)
}

/// Epoch periods until `d` of wall time has passed, plus one for the partial
/// current period.
fn epoch_ticks(d: Duration) -> u64 {
    (d.as_micros() / EPOCH_PERIOD.as_micros().max(1)) as u64 + 1
}

fn classify(err: &wasmtime::Error, stderr: String, budget: Duration) -> Fault {
    let text = format!("{err:#}");
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => Fault::Timeout(budget),
            wasmtime::Trap::UnreachableCodeReached => {
                if stderr.is_empty() {
                    Fault::Panic("unreachable code reached (no message)".into())
                } else {
                    Fault::Panic(last_lines(&stderr))
                }
            }
            wasmtime::Trap::MemoryOutOfBounds | wasmtime::Trap::HeapMisaligned
                if text.contains("memory") && text.contains("limit") =>
            {
                Fault::OutOfMemory(text)
            }
            other => Fault::Trap(format!("{other}")),
        };
    }
    if text.contains("memory") && (text.contains("limit") || text.contains("grow")) {
        return Fault::OutOfMemory(first_line(&text));
    }
    Fault::Trap(first_line(&text))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn last_lines(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_per_tick_deadline_times_the_ticks_capped() {
        let t = Duration::from_millis(10);
        assert_eq!(
            budget(t, 1),
            t,
            "no floor: one tick gets exactly its deadline"
        );
        assert_eq!(budget(t, 50), Duration::from_millis(500));
        assert_eq!(budget(t, 1_000_000), MAX_CALL_DEADLINE, "cap of 2 s");
        assert_eq!(
            budget(Duration::from_secs(5), 1),
            Duration::from_secs(5),
            "a configured timeout above the cap wins"
        );
        assert_eq!(epoch_ticks(Duration::from_millis(10)), 11);
    }
}
