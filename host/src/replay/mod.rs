//! `alpha-panda replay`: the configured plugins over recorded ticks, with no broker
//! and no Redis. A backtest with the very same plugin files: deterministic output
//! (signal envelopes as JSON lines, children of the tick envelopes, stamped with the
//! tick's time rather than the clock). Ticks go in the live merge order
//! ([`order`]), so a strategy over several instruments sees what it sees live.
pub mod input;
pub mod order;

use std::io::Write;
use std::path::Path;

use crate::config::Config;
use crate::contract::{EventEnvelope, MarketTick};
use crate::emit::signal_envelope;
use crate::registry::{load_plugin, scan_dir, PluginError};
use crate::strategy::{SlotConfig, StrategySet};
use crate::topics::TopicRegistry;
use crate::wasm::{LoadError, StrategyEngine};
use order::MergeOrder;

pub use input::{InputError, TickReader};

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("engine: {0}")]
    Engine(#[from] LoadError),
    #[error("no plugin in {0} runs in namespace `{1}`")]
    NoPlugins(String, &'static str),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Totals of a replay.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    pub ticks: u64,
    pub signals: u64,
    pub faults: u64,
    pub strategies: Vec<String>,
}

/// Loads every plugin of `config.plugins.dir` that runs in `config.broker`.
pub fn load_strategies(config: &Config) -> Result<StrategySet, ReplayError> {
    let plugins = config.plugins.offline();
    let engine = StrategyEngine::from_config(&plugins)?;
    let mut set = StrategySet::new(engine.clone(), SlotConfig::from_config(&plugins));
    for files in scan_dir(&config.plugins.dir)? {
        let loaded = load_plugin(&engine, &files)?;
        if !loaded.manifest.runs_in(config.broker) {
            continue;
        }
        set.insert(loaded.component, loaded.manifest)
            .map_err(|source| PluginError::Component {
                path: files.wasm.clone(),
                source,
            })?;
    }
    if set.is_empty() {
        return Err(ReplayError::NoPlugins(
            config.plugins.dir.display().to_string(),
            config.broker.as_str(),
        ));
    }
    Ok(set)
}

/// Replays `ticks` through `set`, writing signal envelopes as JSON lines to `out`.
/// `progress` is told the bytes of input consumed so far.
pub fn replay(
    config: &Config,
    set: &mut StrategySet,
    ticks: &Path,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<ReplaySummary, ReplayError> {
    let mut reader = TickReader::open(ticks)?;
    let mut summary = ReplaySummary {
        strategies: set.slots().map(|s| s.strategy_id().to_owned()).collect(),
        ..ReplaySummary::default()
    };
    let batch_size = config.plugins.max_batch;
    let mut batch: Vec<EventEnvelope<MarketTick>> = Vec::with_capacity(batch_size);
    let mut line = Vec::with_capacity(512);
    let registry = TopicRegistry::new(&config.topics);
    let mut order = MergeOrder::new(|token| registry.tick_partition(token));
    let mut read_all = false;
    loop {
        batch.clear();
        while batch.len() < batch_size {
            let next = if read_all {
                order.pop()
            } else {
                match reader.next_tick()? {
                    Some(t) => order.push(t),
                    None => {
                        read_all = true;
                        continue;
                    }
                }
            };
            match next {
                Some(t) => batch.push(t),
                None if read_all => break,
                None => {}
            }
        }
        if batch.is_empty() {
            break;
        }
        let refs: Vec<&MarketTick> = batch.iter().map(|e| &e.data).collect();
        let processed = set.process(&refs);
        summary.ticks += batch.len() as u64;
        summary.faults += processed.faults.len() as u64;
        for f in &processed.faults {
            if let Some(tick) = batch.get(f.tick_pos) {
                crate::strategy::events::log_tick_fault(
                    &f.strategy_id,
                    &f.sha256,
                    &f.fault,
                    &tick.id,
                    &tick.correlation_id,
                );
            }
        }
        for s in &processed.signals {
            let tick = &batch[s.tick_pos];
            let env = signal_envelope(tick, s, config.broker, &config.service, tick.data.timestamp);
            line.clear();
            env.write_to(&mut line)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            line.push(b'\n');
            out.write_all(&line)?;
            summary.signals += 1;
        }
        progress(reader.bytes_read());
    }
    out.flush()?;
    Ok(summary)
}
