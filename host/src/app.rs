//! `alpha-panda run`: wires a host together. The configured cluster, or the
//! embedded broker with the built-in paper feed; the plugin watcher; the dedup
//! store; the metrics endpoint; the live terminal display; and the pipeline,
//! which runs until the shutdown future resolves.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::kafka::admin::{Admin, Drift};
use crate::kafka::embedded::EmbeddedBroker;
use crate::kafka::{settings, KafkaError};
use crate::pipeline::{Host, PipelineError, PipelineStats, RunSummary};
use crate::registry::watcher::{PluginWatcher, WatchError};
use crate::strategy::{LiveStrategies, SlotConfig, StrategySet};
use crate::topics::{TopicRegistry, TopicSpec, MARKET_TICKS};
use crate::wasm::{LoadError, StrategyEngine};

/// Why `run` could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Watch(#[from] WatchError),
    #[error(
        "{topics} missing on {bootstrap}; create them with `alpha-panda topics create` \
         (same --config), then start again"
    )]
    MissingTopics { topics: String, bootstrap: String },
    #[error("engine: {0}")]
    Engine(#[from] LoadError),
    #[error("metrics endpoint {listen}: {message}")]
    Metrics { listen: String, message: String },
}

/// Runs the host until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, AppError> {
    let stats = Arc::new(PipelineStats::default());
    let registry = TopicRegistry::new(&config.topics);

    // The broker: the configured cluster, or an in-process one with a paper feed.
    let (embedded, bootstrap) = if config.kafka.is_embedded() {
        let broker = EmbeddedBroker::start(&registry.topics_for(&[config.broker]))?;
        let bootstrap = broker.bootstrap_servers();
        tracing::info!(%bootstrap, "embedded broker started (librdkafka mock cluster)");
        (Some(broker), bootstrap)
    } else {
        (None, config.kafka.bootstrap_servers.clone())
    };
    if embedded.is_none() {
        preflight(&config, &registry)?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let feed = if embedded.is_some() {
        let producer: rdkafka::producer::FutureProducer = settings::producer(&config, &bootstrap)
            .create()
            .map_err(KafkaError::Client)?;
        let (seed, rate, count) = (config.feed.seed, config.feed.rate, config.feed.count);
        let rx = stop_rx.clone();
        Some(tokio::spawn(async move {
            match crate::feed::run_paper(&producer, seed, rate, count, &rx).await {
                Ok(n) => tracing::info!(ticks = n, "paper feed finished"),
                Err(e) => tracing::error!(error = %e, "paper feed stopped"),
            }
        }))
    } else {
        None
    };

    // Plugins: load what is there, then follow the folder.
    let engine = StrategyEngine::from_config(&config.plugins)?;
    let mut live = LiveStrategies::new(
        StrategySet::new(
            engine.clone(),
            SlotConfig::from_config(&config.plugins).with_events(stats.plugin_events.clone()),
        ),
        config.broker,
    );
    let (initial, watcher) = PluginWatcher::start(
        &config.plugins.dir,
        engine,
        Duration::from_millis(config.plugins.debounce_ms),
    )?;
    for update in initial {
        if let Some(event) = live.apply(update) {
            stats.event(event.to_string());
        }
    }
    if live.is_empty() {
        tracing::warn!(dir = %config.plugins.dir.display(), "no plugin loaded yet; waiting for NAME.wasm + NAME.toml");
    }

    // Metrics and the display.
    let metrics = if config.metrics.listen.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&config.metrics.listen)
            .await
            .map_err(|e| AppError::Metrics {
                listen: config.metrics.listen.clone(),
                message: e.to_string(),
            })?;
        tracing::info!(listen = %config.metrics.listen, "serving /metrics and /health");
        Some(tokio::spawn(crate::metrics::serve(listener, stats.clone())))
    };
    let display = tokio::spawn(display(stats.clone()));

    let host = Host::connect(&config, &bootstrap, live, Some(watcher), stats.clone())?;
    let result = host.run(shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(f) = feed {
        let _ = f.await;
    }
    display.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    print_summary(&stats);
    drop(embedded);
    Ok(result?)
}

/// How long `run` waits for the cluster to answer its topic check.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(5);

/// The topics `run` reads or writes: ticks, the namespace's raw signals, their
/// DLQs, and the state topic when state is kept.
fn host_topics(config: &Config, registry: &TopicRegistry) -> Vec<TopicSpec> {
    let signals = registry.signals_raw(config.broker);
    let mut wanted = vec![
        MARKET_TICKS.to_owned(),
        registry.dlq_of(MARKET_TICKS),
        registry.dlq_of(&signals),
        signals,
    ];
    if config.state.enabled() {
        wanted.push(registry.strategy_state(config.broker));
    }
    registry
        .topics_for(&[config.broker])
        .into_iter()
        .filter(|t| wanted.contains(&t.name))
        .collect()
}

/// Before joining the group: every topic the host uses must exist. A missing
/// one stops the start with its name (a producer would otherwise retry into it
/// until its messages expired, and a missing state topic loses strategy state);
/// a partition count other than the registry's is a warning (`topics check`
/// also compares retention and cleanup). A cluster that does not answer in time is left
/// to the clients, which keep retrying.
fn preflight(config: &Config, registry: &TopicRegistry) -> Result<(), AppError> {
    let specs = host_topics(config, registry);
    let checked =
        Admin::connect_with(config).and_then(|admin| admin.layout_drift(&specs, PREFLIGHT_TIMEOUT));
    let drift = match checked {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "topics not checked before the start (the cluster did not answer); the host starts and keeps retrying");
            return Ok(());
        }
    };
    let mut missing = Vec::new();
    for d in drift {
        match d {
            Drift::Missing { topic } => missing.push(topic),
            other => {
                tracing::warn!(drift = %other, "a topic differs from the registry; `alpha-panda topics check` lists every drift")
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(AppError::MissingTopics {
        topics: missing.join(", "),
        bootstrap: config.kafka.bootstrap_servers.clone(),
    })
}

fn print_summary(stats: &PipelineStats) {
    println!(
        "alpha-panda stopped: {} ticks, {} signals, {} DLQ records, {} plugin faults",
        PipelineStats::get(&stats.ticks_consumed),
        PipelineStats::get(&stats.signals),
        PipelineStats::get(&stats.dlq_records),
        PipelineStats::get(&stats.plugin_faults)
    );
    for ((id, side), n) in stats.per_strategy() {
        println!("  {id} {side}: {n}");
    }
}

/// The live view: a panel redrawn every second on a terminal, a line every five
/// seconds elsewhere.
async fn display(stats: Arc<PipelineStats>) {
    let tty = std::io::stdout().is_terminal();
    let period = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::time::sleep(period).await;
        let ticks = stats.ticks_consumed.load(Ordering::Relaxed);
        let rate = (ticks - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-3);
        last = (Instant::now(), ticks);
        let per: Vec<String> = stats
            .per_strategy()
            .into_iter()
            .map(|((id, side), n)| format!("{id} {side} {n}"))
            .collect();
        if tty {
            let mut out = String::from("\x1b[2J\x1b[H");
            out.push_str("alpha-panda  (Ctrl-C stops)\n\n");
            out.push_str(&format!(
                "ticks/s {:>8.0}   ticks {:>10}   signals {:>8}   dlq {:>5}   faults {:>5}\n\n",
                rate,
                ticks,
                PipelineStats::get(&stats.signals),
                PipelineStats::get(&stats.dlq_records),
                PipelineStats::get(&stats.plugin_faults)
            ));
            out.push_str("signals per strategy:\n");
            for p in &per {
                out.push_str(&format!("  {p}\n"));
            }
            out.push_str("\nlast signals:\n");
            for s in stats.recent_signals() {
                out.push_str(&format!("  {s}\n"));
            }
            out.push_str("\nplugin events:\n");
            for e in stats.recent_events() {
                out.push_str(&format!("  {e}\n"));
            }
            print!("{out}");
        } else {
            println!(
                "ticks/s {:.0} ticks {} signals {} [{}] dlq {} faults {}",
                rate,
                ticks,
                PipelineStats::get(&stats.signals),
                per.join(", "),
                PipelineStats::get(&stats.dlq_records),
                PipelineStats::get(&stats.plugin_faults)
            );
        }
    }
}
