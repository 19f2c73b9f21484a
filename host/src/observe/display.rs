//! The live view of `alpha-panda run`: a panel redrawn every second on a
//! terminal, one line every five seconds elsewhere; and the summary printed at
//! the end of a run.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use super::metrics::Metrics;
use crate::clock;

/// Draws the view until the task is dropped.
pub async fn display(metrics: Arc<Metrics>) {
    let tty = std::io::stdout().is_terminal();
    let period = Duration::from_secs(if tty { 1 } else { 5 });
    let mut last = (clock::now(), 0u64);
    loop {
        clock::sleep(period).await;
        let ticks = metrics.ticks_consumed.get();
        let secs = clock::now().saturating_duration_since(last.0).as_secs_f64();
        let rate = (ticks - last.1) as f64 / secs.max(1e-3);
        last = (clock::now(), ticks);
        if tty {
            print!("{}", panel(&metrics, rate));
        } else {
            println!("{}", line(&metrics, rate));
        }
    }
}

fn per_strategy(m: &Metrics) -> Vec<String> {
    m.per_strategy()
        .into_iter()
        .map(|(id, side, n)| format!("{id} {side} {n}"))
        .collect()
}

/// The terminal panel (cleared and drawn from the top).
fn panel(m: &Metrics, rate: f64) -> String {
    let mut out = String::from("\x1b[2J\x1b[H");
    out.push_str("alpha-panda  (Ctrl-C stops)\n\n");
    out.push_str(&format!(
        "ticks/s {:>8.0}   ticks {:>10}   signals {:>8}   dlq {:>5}   faults {:>5}\n\n",
        rate,
        m.ticks_consumed.get(),
        m.signals.get(),
        m.dlq_records.get(),
        m.plugin_faults.get()
    ));
    out.push_str("signals per strategy:\n");
    for p in per_strategy(m) {
        out.push_str(&format!("  {p}\n"));
    }
    out.push_str("\nlast signals:\n");
    for s in m.recent.signal_lines() {
        out.push_str(&format!("  {s}\n"));
    }
    out.push_str("\nplugin events:\n");
    for e in m.recent.event_lines() {
        out.push_str(&format!("  {e}\n"));
    }
    out
}

/// One line of the view, for a log.
fn line(m: &Metrics, rate: f64) -> String {
    format!(
        "ticks/s {:.0} ticks {} signals {} [{}] dlq {} faults {}",
        rate,
        m.ticks_consumed.get(),
        m.signals.get(),
        per_strategy(m).join(", "),
        m.dlq_records.get(),
        m.plugin_faults.get()
    )
}

/// What a run did, printed when it stops.
pub fn print_summary(m: &Metrics) {
    println!(
        "alpha-panda stopped: {} ticks, {} signals, {} DLQ records, {} plugin faults",
        m.ticks_consumed.get(),
        m.signals.get(),
        m.dlq_records.get(),
        m.plugin_faults.get()
    );
    for (id, side, n) in m.per_strategy() {
        println!("  {id} {side}: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_and_the_panel_show_the_counts() {
        let m = Metrics::new();
        m.ticks_consumed.inc_by(10);
        m.count_signals([("m_1", "BUY")]);
        m.recent.signals(["m_1 BUY 100 @ 5".to_owned()]);
        assert_eq!(
            line(&m, 2.0),
            "ticks/s 2 ticks 10 signals 1 [m_1 BUY 1] dlq 0 faults 0"
        );
        let p = panel(&m, 2.0);
        assert!(
            p.contains("  m_1 BUY 1\n") && p.contains("  m_1 BUY 100 @ 5\n"),
            "{p}"
        );
    }
}
