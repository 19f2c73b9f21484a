//! The builder against the golden vectors (`vectors/ticks`): for the ticks a vector's
//! JSON describes, `BatchBuilder` writes exactly the vector's bytes, the canonical form
//! every SDK decodes.

use rust_decimal::Decimal;

use super::BatchBuilder;
use crate::contract::{self, Depth, MarketTick, Timestamp};

/// A tick of a golden vector as the feed would send it, or `None` if a value is
/// beyond what the feed's types hold (a scale above 28, a time chrono cannot hold).
fn market_tick(v: &serde_json::Value) -> Option<MarketTick> {
    let dec = |v: &serde_json::Value| -> Option<Option<Decimal>> {
        match v.as_str() {
            None => Some(None),
            Some(s) => Decimal::from_str_exact(s).ok().map(Some),
        }
    };
    let time = |v: &serde_json::Value| -> Option<Option<Timestamp>> {
        match v.as_i64() {
            None => Some(None),
            Some(us) => Timestamp::from_unix_micros(us).map(Some),
        }
    };
    let u64 = |k: &str| v[k].as_u64();
    let level = |l: &serde_json::Value| -> Option<contract::DepthLevel> {
        Some(contract::DepthLevel {
            price: dec(&l["price"])??,
            quantity: l["quantity"].as_u64()?,
            orders: l["orders"].as_u64()?,
        })
    };
    let side = |s: &serde_json::Value| -> Option<Vec<contract::DepthLevel>> {
        s.as_array()?.iter().map(level).collect()
    };
    let mut t = MarketTick::new(
        u32::try_from(u64("instrument_token")?).ok()?,
        dec(&v["last_price"])??,
        time(&v["timestamp_us"])??,
    );
    t.symbol = v["symbol"].as_str().map(str::to_owned);
    t.volume_traded = u64("volume_traded");
    t.last_traded_quantity = u64("last_traded_quantity");
    t.average_traded_price = dec(&v["average_traded_price"])?;
    t.total_buy_quantity = u64("total_buy_quantity");
    t.total_sell_quantity = u64("total_sell_quantity");
    t.change = dec(&v["change"])?;
    t.ohlc = match &v["ohlc"] {
        serde_json::Value::Null => None,
        o => Some(contract::Ohlc {
            open: dec(&o["open"])??,
            high: dec(&o["high"])??,
            low: dec(&o["low"])??,
            close: dec(&o["close"])??,
        }),
    };
    t.oi = u64("oi");
    t.oi_day_high = u64("oi_day_high");
    t.oi_day_low = u64("oi_day_low");
    t.last_trade_time = time(&v["last_trade_time_us"])?;
    t.exchange_timestamp = time(&v["exchange_timestamp_us"])?;
    t.depth = match &v["depth"] {
        serde_json::Value::Null => None,
        d => Some(Depth {
            buy: side(&d["buy"])?,
            sell: side(&d["sell"])?,
        }),
    };
    t.mode = match v["mode"].as_str() {
        None => None,
        Some("ltp") => Some(contract::TickMode::Ltp),
        Some("quote") => Some(contract::TickMode::Quote),
        Some("full") => Some(contract::TickMode::Full),
        Some(other) => panic!("mode {other}"),
    };
    t.tradable = v["tradable"].as_bool();
    Some(t)
}

/// The builder writes exactly the golden vectors' bytes (`vectors/ticks`, the
/// canonical form every SDK decodes) for the same ticks, built from their JSON.
#[test]
fn builds_the_golden_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/ticks");
    let (mut built, mut beyond) = (Vec::new(), Vec::new());
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let meaning: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if meaning["canonical"] != serde_json::json!(true) {
            continue;
        }
        let ticks: Option<Vec<MarketTick>> = meaning["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .map(market_tick)
            .collect();
        let Some(ticks) = ticks else {
            beyond.push(name);
            continue;
        };
        let mut b = BatchBuilder::new();
        for t in &ticks {
            b.push(t).unwrap();
        }
        let batch = b.take();
        let data = std::fs::read(path.with_extension("bin")).unwrap();
        assert_eq!(
            batch.count as u64,
            meaning["count"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            serde_json::json!(batch.symbols),
            meaning["symbols"],
            "{name}"
        );
        assert!(batch.data == data, "{name}: the builder writes other bytes");
        built.push(name);
    }
    assert_eq!(
        built,
        [
            "empty",
            "extremes",
            "full_depth",
            "index_ltp",
            "several_shared"
        ]
    );
    assert_eq!(
        beyond,
        ["wide_scales"],
        "vectors the feed's types cannot hold"
    );
}
