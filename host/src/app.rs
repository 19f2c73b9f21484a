//! `alpha-panda run`: wires a host together. The configured cluster, or the
//! embedded broker with the built-in paper feed; the plugin watcher; the dedup
//! store; the metrics endpoint; the live terminal display; and the pipeline,
//! which runs until the shutdown future resolves. The pipeline has a thread and
//! a single-threaded runtime of its own (its acks, lane returns and ticks wake
//! that one thread, not a pool's); the operator's side (`/metrics`, `/health`,
//! commands, the display, the Python runner's monitoring, the embedded feed)
//! runs on another, so it answers while the pipeline is busy.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::kafka::admin::{Admin, Drift};
use crate::kafka::embedded::EmbeddedBroker;
use crate::kafka::{settings, KafkaError};
use crate::observe::compat::{write_redis, PythonMonitoring, RedisWrite, HEARTBEAT};
use crate::observe::{Endpoint, Metrics};
use crate::pipeline::{Host, PipelineError, RunSummary, Shared};
use crate::registry::watcher::{PluginWatcher, WatchError};
use crate::registry::Readiness;
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
    #[error("cannot start a runtime: {0}")]
    Runtime(String),
    #[error(transparent)]
    Sched(#[from] crate::sched::SchedError),
}

/// How long the operator's side may take to stop once the pipeline has.
const SIDE_STOP: Duration = Duration::from_secs(2);

/// Runs the host on this thread until `shutdown` resolves: the pipeline on a
/// single-threaded runtime here (at `plugins.realtime_priority`, if set), the
/// operator's side on a thread of its own.
pub fn run_blocking(
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, AppError> {
    let rt_error = |e: std::io::Error| AppError::Runtime(e.to_string());
    let side = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("alpha-panda-side")
        .enable_all()
        .build()
        .map_err(rt_error)?;
    let pipeline = Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(rt_error)?;
    // Before anything else starts: a host that may not have the priority it is
    // configured with says so and reads nothing.
    if config.plugins.realtime_priority > 0 {
        crate::sched::enter("pipeline", config.plugins.realtime_priority)?;
    }
    let result = pipeline.block_on(run(config, shutdown, side.handle().clone()));
    side.shutdown_timeout(SIDE_STOP);
    result
}

/// Runs the host until `shutdown` resolves, its operator's side on `side`.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    side: Handle,
) -> Result<RunSummary, AppError> {
    let (metrics, monitoring) = metrics_for(&config);
    let registry = TopicRegistry::new(&config.topics);

    // The broker: the configured cluster, or an in-process one with a paper feed.
    let (embedded, bootstrap) = if config.kafka.is_embedded() {
        let broker = EmbeddedBroker::start(&registry.topics_for(&[config.broker]))?;
        let bootstrap = broker.bootstrap_servers();
        tracing::info!(%bootstrap, "embedded broker started (librdkafka mock cluster)");
        (Some(broker), bootstrap)
    } else {
        preflight(&config, &registry)?;
        (None, config.kafka.bootstrap_servers.clone())
    };
    // The operator's endpoint and the display, before the plugins compile (a cold
    // start of many plugins takes a while): /metrics answers, /health says not
    // ready until the host runs with them.
    let readiness = Readiness::default();
    let (commands_tx, commands) = tokio::sync::mpsc::unbounded_channel();
    let endpoint = Endpoint {
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        commands: commands_tx,
    };
    let served = serve_metrics(&config, endpoint, &side).await?;
    let display = side.spawn(crate::observe::display::display(metrics.clone()));
    let (live, watcher) = plugins(&config, &metrics)?;
    // The paper feed once the plugins are loaded: while they compile (a minute for
    // the nine samples, cold) it would only pile up ticks, and the in-process
    // broker keeps a bounded log per partition: a backlog past it is dropped from
    // the front faster than the consumer can reset to it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let feed = match &embedded {
        Some(_) => Some(paper_feed(&config, &bootstrap, stop_rx, &side)?),
        None => None,
    };

    let shared = Shared {
        metrics: metrics.clone(),
        readiness,
        commands,
    };
    let host = Host::connect(&config, &bootstrap, live, Some(watcher), shared)?;
    let heartbeat = monitoring.map(|redis| python_monitoring(&config, &metrics, redis, &side));
    let result = host.run(shutdown).await;
    if let Some((beat, writer)) = heartbeat {
        beat.abort();
        if let Some(c) = &metrics.compat {
            c.set_running(false);
        }
        writer.abort();
    }
    let _ = stop_tx.send(true);
    if let Some(f) = feed {
        let _ = f.await;
    }
    display.abort();
    if let Some(m) = served {
        m.abort();
    }
    crate::observe::display::print_summary(&metrics);
    drop(embedded);
    Ok(result?)
}

/// The host's metrics; with `compat.python_monitoring`, the Python runner's too,
/// and the receiver of what goes to Redis for its monitor.
fn metrics_for(config: &Config) -> (Arc<Metrics>, Option<UnboundedReceiver<RedisWrite>>) {
    if !config.compat.python_monitoring {
        return (Arc::new(Metrics::new()), None);
    }
    let (compat, redis) = PythonMonitoring::new(&config.service, config.broker.as_str());
    (
        Arc::new(Metrics::new().with_python_monitoring(compat)),
        Some(redis),
    )
}

/// The Python runner's heartbeat (every 15 s, from the start) and the task that
/// writes its monitor's Redis keys.
fn python_monitoring(
    config: &Config,
    metrics: &Arc<Metrics>,
    redis: UnboundedReceiver<RedisWrite>,
    side: &Handle,
) -> (JoinHandle<()>, JoinHandle<()>) {
    let writer = side.spawn(write_redis(
        config.redis.url.clone(),
        config.broker.as_str().to_owned(),
        redis,
    ));
    let m = metrics.clone();
    let beat = side.spawn(async move {
        if let Some(c) = &m.compat {
            c.set_running(true);
        }
        let mut every = tokio::time::interval(HEARTBEAT);
        loop {
            every.tick().await;
            if let Some(c) = &m.compat {
                c.heartbeat(m.plugins_loaded.get().max(0) as usize);
            }
        }
    });
    (beat, writer)
}

/// The embedded profile's paper feed, until `stop` turns true.
fn paper_feed(
    config: &Config,
    bootstrap: &str,
    stop: tokio::sync::watch::Receiver<bool>,
    side: &Handle,
) -> Result<tokio::task::JoinHandle<()>, AppError> {
    let producer: rdkafka::producer::FutureProducer = settings::producer(config, bootstrap)
        .create()
        .map_err(KafkaError::Client)?;
    let (seed, rate, count) = (config.feed.seed, config.feed.rate, config.feed.count);
    tracing::info!(rate, count, "paper feed started");
    Ok(side.spawn(async move {
        match crate::feed::run_paper(&producer, seed, rate, count, &stop).await {
            Ok(n) => tracing::info!(ticks = n, "paper feed finished"),
            Err(e) => tracing::error!(error = %e, "paper feed stopped"),
        }
    }))
}

/// The plugins folder loaded now, and the watcher that follows it.
fn plugins(
    config: &Config,
    metrics: &Metrics,
) -> Result<(LiveStrategies, PluginWatcher), AppError> {
    let engine = StrategyEngine::from_config(&config.plugins)?;
    let slots = SlotConfig::from_config(&config.plugins).with_events(metrics.plugin_events.clone());
    let mut live = LiveStrategies::new(StrategySet::new(engine.clone(), slots), config.broker);
    let (initial, watcher) = PluginWatcher::start(
        &config.plugins.dir,
        engine,
        Duration::from_millis(config.plugins.debounce_ms),
    )?;
    for update in initial {
        if let Some(event) = live.apply(update) {
            metrics.recent.event(event.to_string());
        }
    }
    if live.is_empty() {
        tracing::warn!(dir = %config.plugins.dir.display(), "no plugin loaded yet; waiting for NAME.wasm + NAME.toml");
    }
    Ok((live, watcher))
}

/// Serves `/metrics`, `/health` and operator commands on `side`, unless
/// `metrics.listen` is empty.
async fn serve_metrics(
    config: &Config,
    endpoint: Endpoint,
    side: &Handle,
) -> Result<Option<tokio::task::JoinHandle<()>>, AppError> {
    let listen = config.metrics.listen.clone();
    if listen.is_empty() {
        return Ok(None);
    }
    let failed = |message: String| AppError::Metrics {
        listen: listen.clone(),
        message,
    };
    // Bound on the side's runtime, whose reactor then serves it.
    let bound = side.spawn(tokio::net::TcpListener::bind(listen.clone()));
    let listener = bound
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))?;
    tracing::info!(%listen, "serving /metrics and /health");
    Ok(Some(
        side.spawn(crate::observe::http::serve(listener, endpoint)),
    ))
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::mpsc;

    use super::*;

    /// `GET /metrics`; `None` if nothing answers within 20 s.
    fn scrape(port: u16) -> Option<String> {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        c.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        write!(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
        let mut text = String::new();
        c.read_to_string(&mut text).ok()?;
        Some(text)
    }

    #[test]
    fn the_operators_side_answers_while_the_pipelines_thread_is_blocked() {
        let plugins = tempfile::tempdir().expect("a temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut config =
            Config::from_toml_with_env("broker = \"paper\"", "test", Vec::new()).expect("defaults");
        config.plugins.dir = plugins.path().to_owned();
        config.plugins.cache_dir = Some(plugins.path().join("cache"));
        config.metrics.listen = format!("127.0.0.1:{port}");
        // The shutdown future runs on the pipeline's thread: told to, it blocks
        // that thread (as a long call or a blocking commit would) until released.
        let (block_tx, block_rx) = tokio::sync::oneshot::channel::<()>();
        let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let shutdown = async move {
            let _ = block_rx.await;
            let _ = blocked_tx.send(());
            let _ = release_rx.recv();
        };
        let host = std::thread::spawn(move || run_blocking(config, shutdown));
        let mut up = scrape(port);
        while up.is_none() && !host.is_finished() {
            up = scrape(port);
        }
        assert!(up.is_some(), "the endpoint came up");
        block_tx.send(()).expect("the host runs");
        blocked_rx.recv().expect("the pipeline's thread is blocked");
        let text = scrape(port).expect("/metrics answered while the pipeline was blocked");
        assert!(text.contains("alpha_panda_ticks_consumed_total"), "{text}");
        release_tx.send(()).expect("still blocked");
        let summary = host
            .join()
            .expect("the host's thread")
            .expect("a clean stop");
        assert_eq!(summary.dlq, 0);
    }

    #[test]
    fn a_metrics_address_in_use_stops_the_start_with_its_address() {
        let plugins = tempfile::tempdir().expect("a temp dir");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = taken.local_addr().expect("its address").to_string();
        let mut config =
            Config::from_toml_with_env("broker = \"paper\"", "test", Vec::new()).expect("defaults");
        config.plugins.dir = plugins.path().to_owned();
        config.metrics.listen = addr.clone();
        match run_blocking(config, std::future::pending()) {
            Err(AppError::Metrics { listen, message }) => {
                assert_eq!(listen, addr);
                assert!(!message.is_empty());
            }
            Err(e) => panic!("another error: {e}"),
            Ok(s) => panic!("ran: {s:?}"),
        }
    }
}
