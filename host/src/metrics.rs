//! `GET /metrics` (Prometheus text format, via the `prometheus` crate) and
//! `GET /health` (200 only when the consumer has its assignment and the plugins are
//! loaded). Values are read from [`PipelineStats`] at scrape time; nothing secret
//! is ever exported.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::pipeline::PipelineStats;

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
        "rebalances_total",
        "Consumer group rebalances",
        get(&stats.rebalances),
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
