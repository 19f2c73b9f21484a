//! Validation of what a plugin returns: a signal must answer a tick of the batch,
//! name a subscribed instrument, have a positive quantity, a finite positive price
//! (or none), a confidence in 0..=1 (or none), and bounded metadata; a tick may not
//! get more than the configured number of signals. A tick whose output breaks any
//! rule loses all of its signals and counts as a fault.

use alpha_panda_abi::signal::{read_signals, Price, Signal};
use alpha_panda_abi::Side;
use rust_decimal::Decimal;

use super::bindings::types::{BatchOutput, TickError};
use super::instance::Fault;

/// Caps on a plugin's output.
#[derive(Debug, Clone, Copy)]
pub struct OutputLimits {
    pub max_signals_per_tick: u32,
    pub max_metadata_bytes: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        use crate::config::defaults as d;
        Self {
            max_signals_per_tick: d::MAX_SIGNALS_PER_TICK,
            max_metadata_bytes: d::MAX_METADATA_BYTES,
        }
    }
}

/// A validated signal, not yet an envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySignal {
    /// Index of the answered tick in the batch given to the plugin.
    pub tick_index: u32,
    pub instrument_token: u32,
    pub side: Side,
    pub quantity: u64,
    pub price: Option<Decimal>,
    pub confidence: Option<f64>,
    pub metadata: Vec<(String, String)>,
}

/// The result of validating one batch output.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Checked {
    /// Valid signals in batch order.
    pub signals: Vec<StrategySignal>,
    /// Faults with the index of the tick they belong to.
    pub faults: Vec<(u32, Fault)>,
}

/// A plugin's output for one batch, its signal buffer read.
#[derive(Debug, Default, Clone)]
pub struct RawOutput {
    pub signals: Vec<Signal>,
    pub errors: Vec<TickError>,
}

impl RawOutput {
    /// Reads the flat signal buffer; one the host cannot read faults the whole call.
    pub fn read(out: BatchOutput) -> Result<Self, Fault> {
        let signals = read_signals(out.signal_count, &out.signals)
            .map_err(|e| Fault::InvalidOutput(e.to_string()))?;
        Ok(Self {
            signals,
            errors: out.errors,
        })
    }
}

/// Converts a plugin decimal into an exact decimal.
fn decimal_from_wire(d: alpha_panda_abi::Decimal) -> Option<Decimal> {
    if d.scale() > 28 {
        return None;
    }
    Some(Decimal::new(d.mantissa(), u32::from(d.scale())))
}

/// A signal's price as the host writes it: exact as given, or an approximate one
/// rounded to 8 places; neither may be zero, negative or not finite.
pub fn check_price(p: &Price) -> Result<Decimal, String> {
    match *p {
        Price::Exact(d) => {
            let v =
                decimal_from_wire(d).ok_or_else(|| format!("price scale {} > 28", d.scale()))?;
            if v <= Decimal::ZERO {
                return Err(format!("price {v} is not positive"));
            }
            Ok(v)
        }
        Price::Approx(f) => {
            if !f.is_finite() {
                return Err(format!("price is {f}"));
            }
            if f <= 0.0 {
                return Err(format!("price {f} is not positive"));
            }
            Decimal::from_f64_retain(f)
                .map(|d| d.round_dp(8).normalize())
                .ok_or_else(|| format!("price {f} is out of range"))
        }
    }
}

/// Checks `out` for a batch of `batch_len` ticks whose plugin subscribes to
/// `instruments` (sorted).
pub fn check(
    out: RawOutput,
    batch_len: usize,
    instruments: &[u32],
    limits: &OutputLimits,
) -> Checked {
    let mut checked = Checked::default();
    let mut bad: Vec<u32> = Vec::new();
    // Signals counted per tick (an index past the batch is refused by `validate`).
    let mut per_tick: Vec<u32> = vec![0; batch_len];
    for e in out.errors {
        if !bad.contains(&e.tick_index) {
            bad.push(e.tick_index);
        }
        checked
            .faults
            .push((e.tick_index, Fault::Strategy(e.message)));
    }
    for s in out.signals {
        let idx = s.tick_index;
        if bad.contains(&idx) {
            continue;
        }
        let count = match per_tick.get_mut(idx as usize) {
            Some(c) => {
                *c += 1;
                *c
            }
            None => 1,
        };
        let verdict = validate(s, batch_len, instruments, limits, count);
        match verdict {
            Ok(sig) => checked.signals.push(sig),
            Err(reason) => {
                bad.push(idx);
                checked.faults.push((
                    idx.min(batch_len.saturating_sub(1) as u32),
                    Fault::InvalidOutput(reason),
                ));
            }
        }
    }
    if !bad.is_empty() {
        checked.signals.retain(|s| !bad.contains(&s.tick_index));
    }
    checked
}

fn validate(
    s: Signal,
    batch_len: usize,
    instruments: &[u32],
    limits: &OutputLimits,
    count: u32,
) -> Result<StrategySignal, String> {
    let (tick_index, instrument_token) = (s.tick_index, s.instrument_token);
    if tick_index as usize >= batch_len {
        return Err(format!(
            "signal answers tick {tick_index} of a batch of {batch_len}"
        ));
    }
    if count > limits.max_signals_per_tick {
        return Err(format!(
            "more than {} signals for one tick (plugins.max_signals_per_tick)",
            limits.max_signals_per_tick
        ));
    }
    if instruments.binary_search(&instrument_token).is_err() {
        return Err(format!(
            "signal for instrument {instrument_token} that the strategy does not subscribe to"
        ));
    }
    if s.quantity == 0 {
        return Err("quantity is 0".into());
    }
    if i64::try_from(s.quantity).is_err() {
        return Err(format!("quantity {} is out of range", s.quantity));
    }
    let price = s.price.as_ref().map(check_price).transpose()?;
    if let Some(c) = s.confidence {
        if !(0.0..=1.0).contains(&c) {
            return Err(format!("confidence {c} is not in 0..=1"));
        }
    }
    let meta_bytes: usize = s.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if meta_bytes > limits.max_metadata_bytes {
        return Err(format!(
            "metadata of {meta_bytes} bytes exceeds {} (plugins.max_metadata_bytes)",
            limits.max_metadata_bytes
        ));
    }
    Ok(StrategySignal {
        tick_index,
        instrument_token,
        side: s.side,
        quantity: s.quantity,
        price,
        confidence: s.confidence,
        metadata: s.metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alpha_panda_abi::signal::write_signal;

    fn sig(idx: u32) -> Signal {
        Signal {
            tick_index: idx,
            instrument_token: 7,
            side: Side::Buy,
            quantity: 10,
            price: Some(Price::Exact(alpha_panda_abi::Decimal::new(250155, 2))),
            confidence: Some(0.5),
            metadata: vec![],
        }
    }

    fn run(signals: Vec<Signal>) -> Checked {
        check(
            RawOutput {
                signals,
                errors: vec![],
            },
            3,
            &[7, 9],
            &OutputLimits::default(),
        )
    }

    #[test]
    fn valid_signal_keeps_exact_price_text() {
        let c = run(vec![sig(0)]);
        assert!(c.faults.is_empty());
        assert_eq!(
            c.signals[0].price.map(|p| p.to_string()).as_deref(),
            Some("2501.55")
        );
    }

    #[test]
    fn each_rule_breaks_only_its_tick() {
        let mut nan = sig(1);
        nan.price = Some(Price::Approx(f64::NAN));
        let mut zero = sig(2);
        zero.quantity = 0;
        let c = run(vec![sig(0), nan, zero, sig(1)]);
        assert_eq!(c.signals.len(), 1);
        assert_eq!(c.signals[0].tick_index, 0);
        assert_eq!(c.faults.len(), 2);
        assert!(matches!(&c.faults[0], (1, Fault::InvalidOutput(m)) if m.contains("NaN")));
        assert!(matches!(&c.faults[1], (2, Fault::InvalidOutput(m)) if m.contains("quantity")));
    }

    #[test]
    fn other_rules() {
        let mut unknown = sig(0);
        unknown.instrument_token = 8;
        let mut conf = sig(0);
        conf.confidence = Some(1.5);
        let mut neg = sig(0);
        neg.price = Some(Price::Approx(-1.0));
        let mut meta = sig(0);
        meta.metadata = vec![("k".into(), "v".repeat(5000))];
        let mut scale = sig(0);
        scale.price = Some(Price::Exact(alpha_panda_abi::Decimal::new(1, 29)));
        let mut out_of_batch = sig(0);
        out_of_batch.tick_index = 3;
        for (s, needle) in [
            (unknown, "subscribe"),
            (conf, "confidence"),
            (neg, "not positive"),
            (meta, "metadata"),
            (out_of_batch, "batch of 3"),
            (scale, "scale 29 > 28"),
        ] {
            let c = run(vec![s]);
            assert!(c.signals.is_empty());
            assert!(
                matches!(&c.faults[0].1, Fault::InvalidOutput(m) if m.contains(needle)),
                "{needle}: {:?}",
                c.faults
            );
        }
    }

    #[test]
    fn flood_is_capped() {
        let c = run((0..17).map(|_| sig(0)).collect());
        assert!(c.signals.is_empty());
        assert_eq!(c.faults.len(), 1);
        let c = run((0..16).map(|_| sig(0)).collect());
        assert_eq!(c.signals.len(), 16);
    }

    #[test]
    fn strategy_errors_drop_that_ticks_signals() {
        let c = check(
            RawOutput {
                signals: vec![sig(0), sig(1)],
                errors: vec![TickError {
                    tick_index: 1,
                    message: "bad".into(),
                }],
            },
            3,
            &[7],
            &OutputLimits::default(),
        );
        assert_eq!(c.signals.len(), 1);
        assert_eq!(c.faults, vec![(1, Fault::Strategy("bad".into()))]);
    }

    #[test]
    fn the_signal_buffer_is_read_or_faults_the_call() {
        let mut data = Vec::new();
        let sent = [sig(0), sig(2)];
        for s in &sent {
            write_signal(&mut data, s);
        }
        let read = RawOutput::read(BatchOutput {
            signal_count: 2,
            signals: data.clone(),
            errors: vec![],
        })
        .unwrap();
        assert_eq!(read.signals, sent);
        let c = check(read, 3, &[7], &OutputLimits::default());
        assert_eq!(c.signals.len(), 2);
        assert_eq!(c.signals[1].tick_index, 2);
        assert_eq!(
            c.signals[1].price.map(|p| p.to_string()).as_deref(),
            Some("2501.55")
        );
        let short = RawOutput::read(BatchOutput {
            signal_count: 3,
            signals: data,
            errors: vec![],
        });
        assert!(
            matches!(&short, Err(Fault::InvalidOutput(m)) if m.contains("inside signal 2")),
            "{short:?}"
        );
    }
}
