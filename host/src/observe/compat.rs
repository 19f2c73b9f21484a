//! `compat.python_monitoring`: what the Python system's monitor and dashboards
//! read of its strategy runner, written beside our own metrics so the strategy
//! stage does not look dead after the switch. On `/metrics`, without our prefix:
//! `trading_signals_generated_total{strategy_id,broker,signal_type}`,
//! `trading_events_processed_total{service,broker,event_type}`,
//! `trading_dlq_messages_total{service,broker}`,
//! `trading_last_activity_timestamp_unix{service,stage,broker}` and
//! `trading_pipeline_stage_healthy{stage,broker}`. In Redis (off the tick path,
//! by [`write_redis`]): `pipeline:signals:{broker}:count` (INCRBY),
//! `pipeline:signals:{broker}:last` (JSON, 300 s TTL),
//! `pipeline:strategies.{id}.signals:{broker}:count`, and every 15 s the
//! heartbeat `pipeline:strategies:{broker}:count` and `:last` (300 s TTL,
//! refreshed: the Python runner wrote the count once and it expired).

use std::time::Duration;

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// How often the heartbeat is written.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// The TTL of the `:last` keys and of the strategy count, as the monitor expects.
const TTL_SECS: u64 = 300;

/// A signal as the monitor's keys describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSeen {
    pub strategy_id: String,
    pub instrument_token: u32,
    pub side: &'static str,
}

/// What the Redis writer writes.
#[derive(Debug)]
pub enum RedisWrite {
    Signals(Vec<SignalSeen>),
    Heartbeat { strategies: usize },
}

/// The monitoring the Python runner had.
pub struct PythonMonitoring {
    registry: Registry,
    service: String,
    broker: String,
    signals_generated: IntCounterVec,
    events_processed: IntCounterVec,
    dlq_messages: IntCounterVec,
    last_activity: GaugeVec,
    stage_healthy: IntGaugeVec,
    redis: UnboundedSender<RedisWrite>,
}

fn ok<T>(r: prometheus::Result<T>) -> T {
    // Names and labels are constants here: an error is a bug in this file.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

/// Seconds since the epoch, as Python's `time.time()`.
fn unix_now() -> f64 {
    crate::clock::wall().to_unix_micros() as f64 / 1e6
}

impl PythonMonitoring {
    /// The metrics of `service` in namespace `broker`, and the receiver of what
    /// [`write_redis`] writes.
    pub fn new(service: &str, broker: &str) -> (Self, UnboundedReceiver<RedisWrite>) {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = ok(IntCounterVec::new(Opts::new(name, help), labels));
            ok(registry.register(Box::new(c.clone())));
            c
        };
        let signals_generated = counter(
            "trading_signals_generated_total",
            "Signals emitted",
            &["strategy_id", "broker", "signal_type"],
        );
        let events_processed = counter(
            "trading_events_processed_total",
            "Events processed",
            &["service", "broker", "event_type"],
        );
        let dlq_messages = counter(
            "trading_dlq_messages_total",
            "Messages sent to a DLQ",
            &["service", "broker"],
        );
        let last_activity = ok(GaugeVec::new(
            Opts::new("trading_last_activity_timestamp_unix", "Last activity"),
            &["service", "stage", "broker"],
        ));
        ok(registry.register(Box::new(last_activity.clone())));
        let stage_healthy = ok(IntGaugeVec::new(
            Opts::new("trading_pipeline_stage_healthy", "1 while the stage runs"),
            &["stage", "broker"],
        ));
        ok(registry.register(Box::new(stage_healthy.clone())));
        let (tx, rx) = unbounded_channel();
        let m = Self {
            registry,
            service: service.to_owned(),
            broker: broker.to_owned(),
            signals_generated,
            events_processed,
            dlq_messages,
            last_activity,
            stage_healthy,
            redis: tx,
        };
        (m, rx)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Signals emitted to this namespace.
    pub fn signals(&self, signals: Vec<SignalSeen>) {
        if signals.is_empty() {
            return;
        }
        let now = unix_now();
        for s in &signals {
            self.signals_generated
                .with_label_values(&[&s.strategy_id, &self.broker, s.side])
                .inc();
            self.last_activity
                .with_label_values(&[
                    &self.service,
                    &format!("signal.{}", s.strategy_id),
                    &self.broker,
                ])
                .set(now);
        }
        self.events_processed
            .with_label_values(&[&self.service, &self.broker, "trading_signal"])
            .inc_by(signals.len() as u64);
        let _ = self.redis.send(RedisWrite::Signals(signals));
    }

    /// A batch of ticks was run.
    pub fn processed_ticks(&self) {
        self.last_activity
            .with_label_values(&[&self.service, "process_tick", "shared"])
            .set(unix_now());
    }

    /// `n` messages of topic `topic` went to its DLQ (labelled, as the Python
    /// runner did, with the topic's first segment: `market` for `market.ticks`).
    pub fn dlq(&self, topic: &str, n: u64) {
        let prefix = topic.split('.').next().unwrap_or(topic);
        self.dlq_messages
            .with_label_values(&[&self.service, prefix])
            .inc_by(n);
    }

    /// The heartbeat: `strategies` run here.
    pub fn heartbeat(&self, strategies: usize) {
        self.last_activity
            .with_label_values(&[&self.service, "heartbeat", &self.broker])
            .set(unix_now());
        let _ = self.redis.send(RedisWrite::Heartbeat { strategies });
    }

    /// The stage runs (`true`) or stopped.
    pub fn set_running(&self, running: bool) {
        self.stage_healthy
            .with_label_values(&["strategy_runner", &self.broker])
            .set(i64::from(running));
    }
}

/// A naive-UTC ISO timestamp, as the monitor parses it (`datetime.fromisoformat`
/// compared with `utcnow()`).
fn naive_utc_now() -> String {
    let ts = crate::clock::wall().to_unix_micros();
    chrono::DateTime::from_timestamp_micros(ts)
        .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

/// The Redis commands of one write.
fn commands(broker: &str, write: &RedisWrite) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    match write {
        RedisWrite::Signals(signals) => {
            pipe.cmd("INCRBY")
                .arg(format!("pipeline:signals:{broker}:count"))
                .arg(signals.len())
                .ignore();
            for s in signals {
                pipe.cmd("INCR")
                    .arg(format!(
                        "pipeline:strategies.{}.signals:{broker}:count",
                        s.strategy_id
                    ))
                    .ignore();
            }
            if let Some(last) = signals.last() {
                let value = serde_json::json!({
                    "timestamp": naive_utc_now(),
                    "signal_id": format!("{}_{}", last.strategy_id, last.instrument_token),
                    "strategy_id": last.strategy_id,
                    "instrument_token": last.instrument_token,
                    "signal_type": last.side,
                });
                pipe.cmd("SETEX")
                    .arg(format!("pipeline:signals:{broker}:last"))
                    .arg(TTL_SECS)
                    .arg(value.to_string())
                    .ignore();
            }
        }
        RedisWrite::Heartbeat { strategies } => {
            pipe.cmd("SETEX")
                .arg(format!("pipeline:strategies:{broker}:count"))
                .arg(TTL_SECS)
                .arg(strategies.to_string())
                .ignore();
            let value = serde_json::json!({
                "timestamp": naive_utc_now(),
                "strategies": strategies,
            });
            pipe.cmd("SETEX")
                .arg(format!("pipeline:strategies:{broker}:last"))
                .arg(TTL_SECS)
                .arg(value.to_string())
                .ignore();
        }
    }
    pipe
}

/// Writes what `rx` brings to Redis at `url` until every sender is gone. A write
/// that fails is logged (once per outage) and dropped: monitoring never holds
/// the tick path back.
pub async fn write_redis(url: String, broker: String, mut rx: UnboundedReceiver<RedisWrite>) {
    let client = match redis::Client::open(url.as_str()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "compat.python_monitoring: Redis URL refused; no monitor keys are written");
            return;
        }
    };
    let mut conn: Option<redis::aio::ConnectionManager> = None;
    let mut failing = false;
    while let Some(write) = rx.recv().await {
        if conn.is_none() {
            conn = redis::aio::ConnectionManager::new(client.clone())
                .await
                .ok();
        }
        let result = match conn.as_mut() {
            Some(c) => commands(&broker, &write)
                .query_async::<()>(c)
                .await
                .map_err(|e| e.to_string()),
            None => Err("no connection".to_owned()),
        };
        match result {
            Ok(()) if failing => {
                tracing::info!("compat.python_monitoring: Redis writes work again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "compat.python_monitoring: Redis write failed; monitor keys lag until it answers");
                failing = true;
                conn = None;
            }
            Err(_) => conn = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_carry_the_python_names_and_labels() {
        let (m, mut rx) = PythonMonitoring::new("strategy_runner", "paper");
        m.signals(vec![SignalSeen {
            strategy_id: "momentum_1".into(),
            instrument_token: 738561,
            side: "BUY",
        }]);
        m.dlq("market.ticks", 2);
        m.set_running(true);
        let mut buf = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &m.registry().gather(),
            &mut buf,
        )
        .expect("encodes");
        let text = String::from_utf8(buf).expect("utf-8");
        for line in [
            "trading_signals_generated_total{broker=\"paper\",signal_type=\"BUY\",strategy_id=\"momentum_1\"} 1",
            "trading_events_processed_total{broker=\"paper\",event_type=\"trading_signal\",service=\"strategy_runner\"} 1",
            "trading_dlq_messages_total{broker=\"market\",service=\"strategy_runner\"} 2",
            "trading_pipeline_stage_healthy{broker=\"paper\",stage=\"strategy_runner\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(text.contains("stage=\"signal.momentum_1\""), "{text}");
        assert!(matches!(rx.try_recv(), Ok(RedisWrite::Signals(s)) if s.len() == 1));
    }

    #[test]
    fn the_timestamp_is_naive_utc() {
        let t = naive_utc_now();
        assert!(
            chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
            "{t}"
        );
        assert!(!t.ends_with('Z') && !t.contains('+'), "{t}");
    }
}
