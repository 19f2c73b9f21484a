//! The signal vectors, defined: valid buffers written from signals, and malformed ones
//! made by damaging a valid buffer, each with the meaning its JSON states.

use alpha_panda_abi::layout::{sig_off, SIGNAL_SIZE};
use alpha_panda_abi::signal::{write_signal, Price, Signal};
use alpha_panda_abi::{Decimal, Side};
use serde_json::{json, Value};

use crate::meaning::signal_json;
use crate::tick_cases::d;

pub struct SignalCase {
    pub name: &'static str,
    pub about: &'static str,
    pub count: u32,
    pub data: Vec<u8>,
    /// The signals, or the kind of the buffer's error.
    pub expect: Result<Vec<Signal>, &'static str>,
}

impl SignalCase {
    fn valid(name: &'static str, about: &'static str, signals: Vec<Signal>) -> Self {
        let mut data = Vec::new();
        for s in &signals {
            write_signal(&mut data, s);
        }
        Self {
            name,
            about,
            count: u32::try_from(signals.len()).expect("few signals"),
            data,
            expect: Ok(signals),
        }
    }

    fn broken(
        name: &'static str,
        about: &'static str,
        error: &'static str,
        damage: impl FnOnce(&mut Self),
    ) -> Self {
        let mut c = Self::valid(name, about, basic_signals());
        damage(&mut c);
        c.expect = Err(error);
        c
    }

    pub fn json(&self) -> Value {
        let mut v = match &self.expect {
            Ok(s) => {
                json!({"count": self.count, "signals": s.iter().map(signal_json).collect::<Vec<_>>()})
            }
            Err(kind) => json!({"count": self.count, "error": kind}),
        };
        v["description"] = json!(self.about);
        v
    }
}

fn sig(tick_index: u32, instrument_token: u32, side: Side, quantity: u64) -> Signal {
    Signal {
        tick_index,
        instrument_token,
        side,
        quantity,
        price: None,
        confidence: None,
        metadata: vec![],
    }
}

fn basic_signals() -> Vec<Signal> {
    vec![
        Signal {
            price: Some(Price::Exact(d("2501.50"))),
            confidence: Some(0.25),
            metadata: vec![
                ("momentum".into(), "0.012345".into()),
                ("reason".into(), "crossed ↑ SMA(20)".into()),
            ],
            ..sig(0, 738_561, Side::Buy, 100)
        },
        Signal {
            price: Some(Price::Approx(2501.5)),
            ..sig(0, 738_561, Side::Sell, 50)
        },
        Signal {
            confidence: Some(1.0),
            metadata: vec![("é".into(), String::new())],
            ..sig(3, 256_265, Side::Buy, 1)
        },
    ]
}

pub fn signal_cases() -> Vec<SignalCase> {
    let extremes = vec![
        Signal {
            price: Some(Price::Exact(Decimal::new(i64::MIN, 255))),
            confidence: Some(0.0),
            metadata: vec![
                (String::new(), String::new()),
                ("🐼".into(), "价格 2501.50".into()),
                ("nul".into(), "a\u{0}b".into()),
                ("long".into(), "x".repeat(300)),
            ],
            ..sig(u32::MAX, u32::MAX, Side::Sell, u64::MAX)
        },
        Signal {
            price: Some(Price::Approx(5e-324)),
            confidence: Some(1.0),
            ..sig(0, 0, Side::Buy, 1)
        },
        Signal {
            price: Some(Price::Approx(f64::MAX)),
            ..sig(1, 1, Side::Buy, 2)
        },
        Signal {
            price: Some(Price::Approx(-1.5e300)),
            confidence: Some(0.5),
            ..sig(1, 2, Side::Sell, 3)
        },
        Signal {
            price: Some(Price::Exact(Decimal::new(i64::MAX, 0))),
            ..sig(2, 3, Side::Buy, 4)
        },
    ];
    vec![
        SignalCase::valid(
            "basic",
            "Three signals: an exact price with confidence and metadata (one value \
             non-ASCII), an approximate price, no price with a one-pair metadata whose key \
             is non-ASCII and whose value is empty.",
            basic_signals(),
        ),
        SignalCase::valid("empty", "No signals: an empty buffer.", vec![]),
        SignalCase::valid(
            "extremes",
            "Values the wire carries although the host refuses some (a negative or \
             non-finite price is the host's to reject, not the reader's): u32::MAX and \
             u64::MAX integers, an exact price of i64::MIN at scale 255, the smallest \
             subnormal and the largest f64, confidence 0 and 1, an empty key, emoji, CJK, \
             a NUL inside a value, a 300-byte value.",
            extremes,
        ),
        SignalCase::broken(
            "truncated",
            "count says 4, the buffer holds 3 signals.",
            "truncated",
            |c| c.count = 4,
        ),
        SignalCase::broken(
            "truncated_metadata",
            "The buffer ends inside signal 0's metadata.",
            "truncated",
            |c| c.data.truncate(SIGNAL_SIZE + 10),
        ),
        SignalCase::broken(
            "trailing_bytes",
            "count says 2, the buffer holds 3 signals.",
            "trailing_bytes",
            |c| c.count = 2,
        ),
        SignalCase::broken("bad_side", "Signal 0's side byte is 2.", "bad_side", |c| {
            c.data[sig_off::SIDE] = 2
        }),
        SignalCase::broken(
            "bad_price_kind",
            "Signal 0's price-kind byte is 3.",
            "bad_price_kind",
            |c| c.data[sig_off::PRICE_KIND] = 3,
        ),
        SignalCase::broken(
            "bad_has_confidence",
            "Signal 0's has-confidence byte is 2.",
            "bad_has_confidence",
            |c| c.data[sig_off::HAS_CONFIDENCE] = 2,
        ),
        SignalCase::broken(
            "metadata_not_utf8",
            "The first byte of signal 0's first key is 0xff.",
            "metadata_not_utf8",
            |c| c.data[SIGNAL_SIZE + 4] = 0xff,
        ),
        SignalCase::broken(
            "metadata_length",
            "Signal 0 announces 1 metadata pair; its metadata bytes hold 2.",
            "metadata_length",
            |c| {
                c.data[sig_off::META_PAIRS..sig_off::META_PAIRS + 4]
                    .copy_from_slice(&1u32.to_le_bytes())
            },
        ),
    ]
}
