//! `GET /metrics` (Prometheus text format, via the `prometheus` crate) and
//! `GET /health` (200 only when the consumer has its assignment and every plugin
//! the folder configures is loaded). Values are read from [`PipelineStats`] at
//! scrape time; nothing secret is ever exported.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::contract::BrokerNamespace;
use crate::manifest::Manifest;
use crate::pipeline::PipelineStats;
use crate::strategy::LiveStrategies;

fn counter(registry: &Registry, name: &str, help: &str, value: u64) {
    if let Ok(c) = IntCounter::new(name, help) {
        c.inc_by(value);
        let _ = registry.register(Box::new(c));
    }
}

fn gauge(registry: &Registry, name: &str, help: &str, value: u64) {
    if let Ok(g) = IntGauge::new(name, help) {
        g.set(i64::try_from(value).unwrap_or(i64::MAX));
        let _ = registry.register(Box::new(g));
    }
}

/// The metrics text at this moment.
pub fn render(stats: &PipelineStats) -> String {
    let registry = Registry::new_custom(Some("alpha_panda".into()), None).unwrap_or_default();
    let get = PipelineStats::get;
    counter(
        &registry,
        "ticks_consumed_total",
        "Tick messages consumed",
        get(&stats.ticks_consumed),
    );
    counter(
        &registry,
        "dedup_hits_total",
        "Duplicate ticks skipped",
        get(&stats.duplicates),
    );
    counter(
        &registry,
        "signals_total",
        "Signals produced",
        get(&stats.signals),
    );
    counter(
        &registry,
        "dlq_records_total",
        "Records written to a DLQ",
        get(&stats.dlq_records),
    );
    counter(
        &registry,
        "plugin_faults_total",
        "Plugin faults",
        get(&stats.plugin_faults),
    );
    counter(
        &registry,
        "produce_retries_total",
        "Produce retries",
        get(&stats.produce_retries),
    );
    counter(
        &registry,
        "commits_total",
        "Offset commits",
        get(&stats.commits),
    );
    counter(
        &registry,
        "commit_failures_total",
        "Offset commits the broker refused (a later commit covers their offsets)",
        get(&stats.commit_failures),
    );
    counter(
        &registry,
        "transaction_aborts_total",
        "Exactly-once transactions aborted after a failure (their batches run again)",
        get(&stats.txn_aborts),
    );
    counter(
        &registry,
        "rebalances_total",
        "Consumer group rebalances",
        get(&stats.rebalances),
    );
    counter(
        &registry,
        "state_writes_total",
        "Strategy state records written to the state topic",
        get(&stats.state_writes),
    );
    counter(
        &registry,
        "state_restores_total",
        "Strategy states restored on a gained partition",
        get(&stats.state_restores),
    );
    counter(
        &registry,
        "state_replayed_ticks_total",
        "Ticks replayed (outputs suppressed) to bring restored state to the committed offset",
        get(&stats.state_replayed_ticks),
    );
    counter(
        &registry,
        "state_failures_total",
        "Gained partitions whose state could not be read (strategies started from init)",
        get(&stats.state_failures),
    );
    counter(
        &registry,
        "plugin_loads_total",
        "Plugins loaded",
        get(&stats.plugin_loads),
    );
    counter(
        &registry,
        "plugin_reloads_total",
        "Plugins hot-reloaded with their state",
        get(&stats.plugin_reloads),
    );
    counter(
        &registry,
        "plugin_refusals_total",
        "Plugin files refused",
        get(&stats.plugin_refusals),
    );
    counter(
        &registry,
        "plugin_unloads_total",
        "Plugins unloaded",
        get(&stats.plugin_unloads),
    );
    counter(
        &registry,
        "plugin_recoveries_total",
        "Plugin instances rebuilt after a fault",
        get(&stats.plugin_recoveries),
    );
    gauge(
        &registry,
        "plugins_quarantined",
        "Plugins in quarantine",
        get(&stats.plugins_quarantined),
    );
    gauge(
        &registry,
        "plugins_loaded",
        "Plugins running",
        get(&stats.plugins_loaded),
    );
    gauge(
        &registry,
        "assigned_partitions",
        "Partitions assigned to this host",
        get(&stats.assigned_partitions),
    );
    counter(
        &registry,
        "redis_fallbacks_total",
        "Times Redis failed and the in-process dedup store answered",
        get(&stats.redis_fallbacks),
    );
    if let Ok(per) = IntCounterVec::new(
        Opts::new("strategy_signals_total", "Signals per strategy and side"),
        &["strategy_id", "side"],
    ) {
        for ((id, side), n) in stats.per_strategy() {
            per.with_label_values(&[id.as_str(), side]).inc_by(n);
        }
        let _ = registry.register(Box::new(per));
    }
    if let Ok(events) = IntCounterVec::new(
        Opts::new(
            "plugin_events_total",
            "Plugin operator events (load, reload, unload, refusal, fault, recovery, quarantine, release) per strategy",
        ),
        &["strategy_id", "event"],
    ) {
        for ((id, kind), n) in stats.plugin_events.all() {
            events
                .with_label_values(&[id.as_str(), kind.as_str()])
                .inc_by(n);
        }
        let _ = registry.register(Box::new(events));
    }
    let mut families = registry.gather();
    families.extend(stats.histograms.registry.gather());
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&families, &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

/// True when the host can serve: partitions assigned and plugins loaded.
pub fn healthy(stats: &PipelineStats) -> bool {
    stats.assigned_partitions.load(Ordering::Relaxed) > 0
        && stats.plugins_ready.load(Ordering::Relaxed)
}

/// The plugins `dir` configures for `broker` that are not in `loaded`, by name.
///
/// A plugin is configured by its manifest: every visible `NAME.toml` in `dir`
/// whose manifest runs in `broker`, or cannot be read (it may). Its `NAME.wasm`
/// being absent, or refused, leaves it configured but not loaded. A folder that
/// cannot be listed is an error (the caller reports not ready).
pub fn missing_plugins<'a>(
    dir: &Path,
    broker: BrokerNamespace,
    loaded: impl IntoIterator<Item = &'a str>,
) -> std::io::Result<Vec<String>> {
    let loaded: HashSet<&str> = loaded.into_iter().collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_manifest = path.extension().is_some_and(|e| e == "toml");
        if !is_manifest || name.is_empty() || name.starts_with('.') || !path.is_file() {
            continue;
        }
        let enabled = Manifest::load(&path).map_or(true, |m| m.runs_in(broker));
        if enabled && !loaded.contains(name) {
            missing.push(name.to_owned());
        }
    }
    missing.sort();
    Ok(missing)
}

/// Recomputes `stats.plugins_ready` after a plugin lifecycle event (or at start):
/// ready when every plugin the folder configures for this namespace is loaded.
pub fn update_plugins_ready(stats: &PipelineStats, dir: &Path, live: &LiveStrategies) {
    refresh(stats, dir, live, true);
}

/// How often a host that is not ready looks at the plugins folder again.
const RECHECK: Duration = Duration::from_secs(1);

/// While not ready, recomputes readiness at most once per [`RECHECK`]: some
/// changes bring no plugin update (a refused plugin's files or a lone manifest
/// deleted), and must not leave the host unready for good.
pub fn recheck_plugins_ready(stats: &PipelineStats, dir: &Path, live: &LiveStrategies) {
    if stats.plugins_ready.load(Ordering::Relaxed) {
        return;
    }
    let due = stats
        .plugins_checked
        .lock()
        .map(|at| at.is_none_or(|t| t.elapsed() >= RECHECK))
        .unwrap_or(true);
    if due {
        refresh(stats, dir, live, false);
    }
}

/// Computes and stores readiness; says why it is not ready after an event (a
/// recheck stays quiet unless readiness changes).
fn refresh(stats: &PipelineStats, dir: &Path, live: &LiveStrategies, event: bool) {
    let missing = missing_plugins(dir, live.broker(), live.loaded_plugins());
    let ready = matches!(&missing, Ok(m) if m.is_empty());
    if let Ok(mut at) = stats.plugins_checked.lock() {
        *at = Some(Instant::now());
    }
    let was = stats.plugins_ready.swap(ready, Ordering::Relaxed);
    if ready && !was {
        tracing::info!("ready: every configured plugin is loaded");
    } else if !ready && (event || was) {
        match missing {
            Ok(missing) => tracing::info!(?missing, "not ready: configured plugins not loaded"),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "not ready: cannot list the plugins folder")
            }
        }
    }
}

/// Serves `/metrics` and `/health` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, stats: Arc<PipelineStats>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let stats = stats.clone();
        tokio::spawn(async move {
            // Read the request head whole: clients may send it in several segments.
            let mut buf = Vec::with_capacity(512);
            let mut chunk = [0u8; 512];
            let read_head = async {
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            };
            if tokio::time::timeout(std::time::Duration::from_secs(5), read_head)
                .await
                .is_err()
            {
                return;
            }
            let n = buf.len();
            let request = String::from_utf8_lossy(&buf[..n]);
            let mut words = request.split_whitespace();
            let method = words.next().unwrap_or("GET");
            let path = words.next().unwrap_or("/");
            let release = path
                .strip_prefix("/plugins/")
                .and_then(|p| p.strip_suffix("/release"))
                .filter(|id| method == "POST" && !id.is_empty() && !id.contains('/'));
            let (status, body, ctype) = match path {
                _ if release.is_some() => {
                    let id = release.unwrap_or_default();
                    stats.request_release(id);
                    (
                        "202 Accepted",
                        format!("release of {id} requested\n"),
                        "text/plain",
                    )
                }
                "/metrics" => ("200 OK", render(&stats), "text/plain; version=0.0.4"),
                "/health" if healthy(&stats) => ("200 OK", "ready\n".to_owned(), "text/plain"),
                "/health" => (
                    "503 Service Unavailable",
                    "not ready\n".to_owned(),
                    "text/plain",
                ),
                _ => ("404 Not Found", "not found\n".to_owned(), "text/plain"),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "strategy_id = \"s_1\"\nbrokers = [\"paper\"]\ninstruments = [1]\n";

    #[test]
    fn every_manifest_enabled_here_must_be_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let missing =
            |loaded: &[&str]| missing_plugins(dir.path(), BrokerNamespace::Paper, loaded.to_vec());
        assert!(
            missing(&[]).unwrap().is_empty(),
            "an empty folder configures nothing"
        );

        write("a.toml", MANIFEST);
        write("a.wasm", "");
        assert_eq!(missing(&[]).unwrap(), vec!["a"]);
        assert!(missing(&["a"]).unwrap().is_empty());

        // A manifest without its component is configured, not loaded.
        write("b.toml", MANIFEST);
        assert_eq!(missing(&["a"]).unwrap(), vec!["b"]);
        // So is one that cannot be read: it may be meant for this namespace.
        write("c.toml", "strategy_id = ");
        assert_eq!(missing(&["a"]).unwrap(), vec!["b", "c"]);
        assert!(missing(&["a", "b", "c"]).unwrap().is_empty());

        // Manifests for another namespace, hidden files and other files do not count.
        write(
            "z.toml",
            "strategy_id = \"z_1\"\nbrokers = [\"zerodha\"]\ninstruments = [1]\n",
        );
        write(".d.toml", MANIFEST);
        write(".e.toml.tmp", MANIFEST);
        write("f.wasm", "");
        write("notes.txt", "");
        std::fs::create_dir(dir.path().join("g.toml")).unwrap();
        assert!(missing(&["a", "b", "c"]).unwrap().is_empty());

        assert!(missing_plugins(&dir.path().join("nope"), BrokerNamespace::Paper, []).is_err());
    }
}
