//! Shared by the benches: the sample plugin's files and a stream of FULL ticks
//! (every field of `tests/fixtures/market_tick_full.json` set, five depth levels a
//! side, a price random walk per instrument so the strategy does real work).
#![allow(dead_code)]

pub mod native;

use std::path::PathBuf;

use alpha_panda::contract::{Depth, DepthLevel, MarketTick, Ohlc, Timestamp};
use alpha_panda::manifest::Manifest;
use rust_decimal::Decimal;

/// The workspace root.
pub fn root() -> PathBuf {
    let host = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    host.parent().map(PathBuf::from).unwrap_or(host)
}

/// `plugins/momentum.toml`: strategy id, the 6 instruments, lookback 20, threshold 1 %.
pub fn manifest() -> Manifest {
    plugin_manifest("momentum")
}

/// `plugins/momentum.wasm` (built by `cargo xtask plugins`).
pub fn wasm_bytes() -> Vec<u8> {
    plugin_bytes("momentum")
}

/// `plugins/NAME.toml`.
pub fn plugin_manifest(name: &str) -> Manifest {
    let path = root().join(format!("plugins/{name}.toml"));
    Manifest::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// `plugins/NAME.wasm` (built by `cargo xtask plugins`).
pub fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = root().join(format!("plugins/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build it first with `cargo xtask plugins`",
            path.display()
        )
    })
}

/// `/proc/loadavg`'s three load averages: how busy the machine was around a run.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// The fixture's `data`: a full RELIANCE tick.
pub fn fixture_tick() -> MarketTick {
    let path = root().join("tests/fixtures/market_tick_full.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let env: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    serde_json::from_value(env["data"].clone()).expect("fixture is a market tick")
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[-1, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYMBOLS: [&str; 8] = [
    "RELIANCE",
    "INFY",
    "TCS",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "LT",
];
const BASE_PAISE: [i64; 8] = [250155, 398740, 165025, 84510, 51235, 121000, 43210, 345005];

/// Relative step of the walk per tick: uniform in ±0.24 %, i.e. a standard
/// deviation of ~0.14 %, so a 20-tick momentum beyond ±1 % happens on roughly
/// one tick in ten (a signal then).
const STEP: f64 = 0.0024;
/// Prices move in steps of 5 paise.
const TICK_SIZE: i64 = 5;
const LEVELS: i64 = 5;

fn paise(p: i64) -> Decimal {
    Decimal::new(p, 2)
}

/// `per_instrument` ticks of each instrument, interleaved (i0, i1, …, i0, i1, …),
/// each a FULL tick: symbol, volumes, average price, change, OHLC, OI, trade and
/// exchange times, 5 bid and 5 ask levels, mode `full`, tradable.
pub fn full_ticks(instruments: &[u32], per_instrument: usize) -> Vec<MarketTick> {
    let template = fixture_tick();
    let t0 = template.timestamp.to_unix_micros();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n = instruments.len();
    let mut price: Vec<i64> = (0..n).map(|i| BASE_PAISE[i % BASE_PAISE.len()]).collect();
    let mut high = price.clone();
    let mut low = price.clone();
    let mut volume: Vec<u64> = vec![1_000_000; n];
    let mut out = Vec::with_capacity(n * per_instrument);
    for k in 0..per_instrument {
        for (i, &token) in instruments.iter().enumerate() {
            let base = BASE_PAISE[i % BASE_PAISE.len()];
            let step = (price[i] as f64 * STEP * rng.unit() / TICK_SIZE as f64).round() as i64;
            price[i] = (price[i] + step * TICK_SIZE).max(TICK_SIZE * (LEVELS + 1));
            high[i] = high[i].max(price[i]);
            low[i] = low[i].min(price[i]);
            let ltq = 1 + rng.below(500);
            volume[i] += ltq;
            let close = base - base / 200;
            let ts = t0 + (k as i64) * 250_000 + i as i64 * 1_000;
            let mut t = template.clone();
            t.instrument_token = token;
            t.symbol = Some(SYMBOLS[i % SYMBOLS.len()].to_owned());
            t.last_price = paise(price[i]);
            t.timestamp = Timestamp::from_unix_micros(ts).expect("time in range");
            t.volume_traded = Some(volume[i]);
            t.last_traded_quantity = Some(ltq);
            t.average_traded_price = Some(paise((high[i] + low[i]) / 2));
            t.total_buy_quantity = Some(40_000 + rng.below(20_000));
            t.total_sell_quantity = Some(40_000 + rng.below(20_000));
            t.change = Some(
                (Decimal::from(price[i] - close) * Decimal::from(100) / Decimal::from(close))
                    .round_dp(2),
            );
            t.ohlc = Some(Ohlc {
                open: paise(base),
                high: paise(high[i]),
                low: paise(low[i]),
                close: paise(close),
            });
            t.oi = Some(0);
            t.oi_day_high = Some(0);
            t.oi_day_low = Some(0);
            t.last_trade_time = Timestamp::from_unix_micros(ts - 1_000_000);
            t.exchange_timestamp = Timestamp::from_unix_micros(ts);
            let mut level = |p: i64| DepthLevel {
                price: paise(p),
                quantity: 1 + rng.below(500),
                orders: 1 + rng.below(20),
            };
            let buy = (1..=LEVELS)
                .map(|j| level(price[i] - j * TICK_SIZE))
                .collect();
            let sell = (1..=LEVELS)
                .map(|j| level(price[i] + j * TICK_SIZE))
                .collect();
            t.depth = Some(Depth { buy, sell });
            out.push(t);
        }
    }
    out
}
