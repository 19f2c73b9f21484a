//! One `on-ticks` call's data, the SDK's end of the wire: the host's tick batch read
//! (by `alpha-panda-abi`) into [`Tick`] views that borrow its symbols, with the depth
//! levels decoded all at once the first time a tick's depth is read; and the emitted
//! signals written into the flat signal buffer the host reads back. The Wasm adapter
//! uses it; it is plain Rust, so it is tested natively.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use std::cell::OnceCell;

use alpha_panda_abi::layout::LEVEL_SIZE;
use alpha_panda_abi::signal as wire_signal;
use alpha_panda_abi::tick::{self as wire, BatchError, RecordError};

use crate::runner::Emitted;
use crate::tick::DepthLevel;
use crate::Tick;

/// The depth-level records of a batch, decoded all at once on first use.
#[derive(Debug)]
pub(crate) struct Levels<'a> {
    records: &'a [[u8; LEVEL_SIZE]],
    decoded: OnceCell<Vec<DepthLevel>>,
}

impl Levels<'_> {
    /// The levels of `span` (checked against the batch by the reader).
    pub(crate) fn side(&self, span: wire::Span) -> &[DepthLevel] {
        let all = self.decoded.get_or_init(|| {
            self.records
                .iter()
                .map(|r| wire::read_level(r).into())
                .collect()
        });
        all.get(span.range()).unwrap_or(&[])
    }
}

/// A tick batch as the host sent it, its shape checked.
#[derive(Debug)]
pub(crate) struct Received<'a> {
    records: &'a [[u8; alpha_panda_abi::layout::TICK_SIZE]],
    symbols: &'a [String],
    levels: Levels<'a>,
}

impl<'a> Received<'a> {
    /// Checks that `data` holds `count` tick records and whole level records.
    pub(crate) fn parse(
        count: u32,
        data: &'a [u8],
        symbols: &'a [String],
    ) -> Result<Self, BatchError> {
        let batch = wire::Batch::parse(count, data)?;
        Ok(Self {
            records: batch.records(),
            symbols,
            levels: Levels {
                records: batch.levels(),
                decoded: OnceCell::new(),
            },
        })
    }

    /// Each tick in feed order, or why its record cannot be read.
    pub(crate) fn ticks(&self) -> impl Iterator<Item = Result<Tick<'_>, RecordError>> {
        let (symbols, levels) = (self.symbols.len(), self.levels.records.len());
        self.records.iter().map(move |r| {
            let t = wire::check_tick(r, symbols, levels)?;
            let symbol = t
                .symbol
                .and_then(|i| self.symbols.get(i as usize))
                .map(String::as_str);
            Ok(Tick::from_batch(t.record, symbol, &self.levels, t.depth))
        })
    }
}

/// Writes `signals` (drained) into the signal buffer `out`; returns how many.
pub(crate) fn write_signals(signals: &mut Vec<Emitted>, out: &mut Vec<u8>) -> u32 {
    let count = u32::try_from(signals.len()).unwrap_or(u32::MAX);
    for Emitted { tick_index, signal } in signals.drain(..) {
        let s = wire_signal::Signal {
            tick_index,
            // The runner sets it on every signal it lets out.
            instrument_token: signal.instrument_token.unwrap_or(0),
            side: signal.side,
            quantity: signal.quantity,
            price: signal.price.map(Into::into),
            confidence: signal.confidence,
            metadata: signal.metadata,
        };
        wire_signal::write_signal(out, &s);
    }
    count
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use alpha_panda_abi::tick::TickFields;
    use alpha_panda_abi::tick_write::BatchWriter;
    use serde_json::{json, Value};

    use super::*;
    use crate::{Decimal, Signal};

    /// A tick view rendered as the golden vectors spell a tick's meaning.
    fn tick_json(t: &Tick) -> Value {
        let dec = |d: Option<Decimal>| d.map(|d| d.to_string());
        let levels = |ls: &[DepthLevel]| -> Vec<Value> {
            ls.iter()
                .map(|l| json!({"price": l.price.to_string(), "quantity": l.quantity, "orders": l.orders}))
                .collect()
        };
        json!({
            "instrument_token": t.instrument_token(),
            "timestamp_us": t.timestamp_us(),
            "last_price": t.last_price().to_string(),
            "volume_traded": t.volume_traded(),
            "last_traded_quantity": t.last_traded_quantity(),
            "average_traded_price": dec(t.average_traded_price()),
            "total_buy_quantity": t.total_buy_quantity(),
            "total_sell_quantity": t.total_sell_quantity(),
            "change": dec(t.change()),
            "ohlc": t.ohlc().map(|o| json!({
                "open": o.open.to_string(),
                "high": o.high.to_string(),
                "low": o.low.to_string(),
                "close": o.close.to_string(),
            })),
            "oi": t.oi(),
            "oi_day_high": t.oi_day_high(),
            "oi_day_low": t.oi_day_low(),
            "last_trade_time_us": t.last_trade_time_us(),
            "exchange_timestamp_us": t.exchange_timestamp_us(),
            "symbol": t.symbol(),
            "depth": t.has_depth().then(|| json!({"buy": levels(t.depth_buy()), "sell": levels(t.depth_sell())})),
            "mode": t.mode().map(|m| format!("{m:?}").to_lowercase()),
            "tradable": t.tradable(),
        })
    }

    /// The SDK reads every golden tick vector as its JSON says: the same views a
    /// strategy gets, field by field, and the same failures.
    #[test]
    fn reads_the_golden_tick_vectors() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/ticks");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let meaning: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let data = std::fs::read(path.with_extension("bin")).unwrap();
            let count = u32::try_from(meaning["count"].as_u64().unwrap()).unwrap();
            let symbols: Vec<String> = serde_json::from_value(meaning["symbols"].clone()).unwrap();
            let name = path.display();
            match Received::parse(count, &data, &symbols) {
                Err(e) => assert_eq!(meaning["error"], json!(e.kind()), "{name}"),
                Ok(batch) => {
                    let got: Vec<Value> = batch
                        .ticks()
                        .map(|t| match t {
                            Ok(t) => tick_json(&t),
                            Err(e) => json!({"error": e.kind()}),
                        })
                        .collect();
                    assert_eq!(json!(got), meaning["ticks"], "{name}");
                }
            }
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} vectors in {}", dir.display());
    }

    #[test]
    fn levels_are_decoded_only_when_read() {
        let level = alpha_panda_abi::tick::DepthLevel {
            price: alpha_panda_abi::Decimal::new(15, 1),
            quantity: 2,
            orders: 1,
        };
        let mut w = BatchWriter::new();
        let f = TickFields::new(1, alpha_panda_abi::Decimal::new(1, 0), 0);
        w.push(&f, Some("A"), Some((&[level], &[])));
        w.push(&f, None, None);
        let b = w.finish();
        let received = Received::parse(b.count, &b.data, &b.symbols).unwrap();
        let ticks: Vec<Tick> = received.ticks().map(Result::unwrap).collect();
        assert!(received.levels.decoded.get().is_none());
        assert_eq!(ticks[0].depth_buy(), &[DepthLevel::from(level)]);
        assert!(received.levels.decoded.get().is_some());
        assert!(ticks[0].depth_sell().is_empty() && ticks[0].has_depth());
        assert!(!ticks[1].has_depth() && ticks[1].symbol().is_none());
    }

    #[test]
    fn signals_are_written_as_the_host_reads_them() {
        let mut emitted = vec![
            Emitted {
                tick_index: 2,
                signal: Signal::sell(7)
                    .instrument(9)
                    .price_exact("2501.50".parse().unwrap())
                    .confidence(0.5)
                    .meta("k", "é"),
            },
            Emitted {
                tick_index: 3,
                signal: Signal::buy(1).instrument(4).price(10.25),
            },
        ];
        let mut out = Vec::new();
        assert_eq!(write_signals(&mut emitted, &mut out), 2);
        assert!(emitted.is_empty());
        let read = wire_signal::read_signals(2, &out).unwrap();
        assert_eq!(read[0].tick_index, 2);
        assert_eq!(read[0].instrument_token, 9);
        assert_eq!(read[0].side, crate::Side::Sell);
        assert_eq!(read[0].quantity, 7);
        assert_eq!(
            read[0].price,
            Some(wire_signal::Price::Exact(alpha_panda_abi::Decimal::new(
                250150, 2
            )))
        );
        assert_eq!(read[0].confidence, Some(0.5));
        assert_eq!(read[0].metadata, vec![("k".to_owned(), "é".to_owned())]);
        assert_eq!(read[1].price, Some(wire_signal::Price::Approx(10.25)));
        assert_eq!(read[1].confidence, None);
    }
}
