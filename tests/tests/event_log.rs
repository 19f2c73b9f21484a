//! The operator event lines, as an operator's log collector sees them (JSON): one
//! line per event with `event`, `strategy_id`, `old_sha256`, `new_sha256` and
//! `reason`. Its own test binary: the subscriber is the process's global one, as
//! in the host, because a batch's strategies run on the worker pool's threads and
//! a slot's events are logged on whichever thread ran its call.

mod common;

use alpha_panda::contract::MarketTick;
use alpha_panda::observe::Metrics;
use alpha_panda::strategy::EventKind;
use common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::util::SubscriberInitExt;

const TOKEN: u32 = 81153;

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_quarantine_is_one_structured_log_line() {
    let buf = Captured::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let engine = engine();
    let stats = Metrics::new();
    subscriber.try_init().expect("the binary's only subscriber");
    let sha = {
        let mut live = bad_and_good(&engine, &stats, TOKEN);
        let ticks = ticks_of(TOKEN, 5);
        let refs: Vec<&MarketTick> = ticks.iter().collect();
        live.process(&refs);
        live.local()
            .unwrap()
            .get("bad_1")
            .unwrap()
            .sha256()
            .to_owned()
    };
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |event: &str| -> Vec<&serde_json::Value> {
        lines
            .iter()
            .filter(|l| l["fields"]["event"] == event)
            .collect()
    };
    let quarantine = of("quarantine");
    assert_eq!(quarantine.len(), 1, "{text}");
    let q = &quarantine[0];
    assert_eq!(q["level"], "ERROR");
    assert_eq!(q["fields"]["strategy_id"], "bad_1");
    assert_eq!(q["fields"]["old_sha256"], "-");
    assert_eq!(q["fields"]["new_sha256"], sha.as_str());
    let reason = q["fields"]["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("3 faults within"), "{reason}");
    assert_eq!(of("load").len(), 2, "{text}");
    assert_eq!(
        of("recovery").len() as u64,
        stats.plugin_events.get("bad_1", EventKind::Recovery)
    );
    // The slot only counts faults: their one line is the pipeline's, with the tick's ids.
    assert!(of("fault").is_empty(), "{text}");
}
