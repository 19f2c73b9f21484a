//! The vectors' JSON: what a tick batch or a signal buffer means, written from and
//! read into the crate's values (decimals as strings that keep their scale, absent
//! fields as null).

use alpha_panda_abi::signal::{read_signals, Price, Signal};
use alpha_panda_abi::tick::{DepthLevel, Ohlc, TickFields, TickMode};
use alpha_panda_abi::{Decimal, Side};
use serde_json::{json, Value};

use crate::common::{Decoded, OwnedTick};

fn level_json(l: &DepthLevel) -> Value {
    json!({"price": l.price.to_string(), "quantity": l.quantity, "orders": l.orders})
}

pub fn tick_json(t: &OwnedTick) -> Value {
    let f = &t.fields;
    let dec = |d: Option<Decimal>| d.map(|d| d.to_string());
    let levels = |ls: &[DepthLevel]| ls.iter().map(level_json).collect::<Vec<_>>();
    json!({
        "instrument_token": f.instrument_token,
        "timestamp_us": f.timestamp_us,
        "last_price": f.last_price.to_string(),
        "volume_traded": f.volume_traded,
        "last_traded_quantity": f.last_traded_quantity,
        "average_traded_price": dec(f.average_traded_price),
        "total_buy_quantity": f.total_buy_quantity,
        "total_sell_quantity": f.total_sell_quantity,
        "change": dec(f.change),
        "ohlc": f.ohlc.map(|o| json!({
            "open": o.open.to_string(),
            "high": o.high.to_string(),
            "low": o.low.to_string(),
            "close": o.close.to_string(),
        })),
        "oi": f.oi,
        "oi_day_high": f.oi_day_high,
        "oi_day_low": f.oi_day_low,
        "last_trade_time_us": f.last_trade_time_us,
        "exchange_timestamp_us": f.exchange_timestamp_us,
        "symbol": t.symbol,
        "depth": t.depth.as_ref().map(|(b, s)| json!({"buy": levels(b), "sell": levels(s)})),
        "mode": f.mode.map(TickMode::as_str),
        "tradable": f.tradable,
    })
}

pub fn dec_from(v: &Value, what: &str) -> Option<Decimal> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.parse().unwrap_or_else(|e| panic!("{what}: {e}"))),
        other => panic!("{what}: {other} is not a decimal string"),
    }
}

fn u64_from(v: &Value, what: &str) -> Option<u64> {
    (!v.is_null()).then(|| v.as_u64().unwrap_or_else(|| panic!("{what}: {v}")))
}

fn i64_from(v: &Value, what: &str) -> Option<i64> {
    (!v.is_null()).then(|| v.as_i64().unwrap_or_else(|| panic!("{what}: {v}")))
}

pub fn tick_from_json(v: &Value) -> OwnedTick {
    let dec = |k: &str| dec_from(&v[k], k);
    let u64 = |k: &str| u64_from(&v[k], k);
    let i64 = |k: &str| i64_from(&v[k], k);
    let level = |l: &Value| DepthLevel {
        price: dec_from(&l["price"], "level price").expect("a level has a price"),
        quantity: u64_from(&l["quantity"], "quantity").expect("a level has a quantity"),
        orders: u64_from(&l["orders"], "orders")
            .and_then(|o| u32::try_from(o).ok())
            .expect("a level has u32 orders"),
    };
    let side = |s: &Value| -> Vec<DepthLevel> {
        s.as_array()
            .expect("a depth side is a list")
            .iter()
            .map(level)
            .collect()
    };
    let fields = TickFields {
        instrument_token: u64("instrument_token")
            .and_then(|t| u32::try_from(t).ok())
            .expect("instrument_token"),
        timestamp_us: i64("timestamp_us").expect("timestamp_us"),
        last_price: dec("last_price").expect("last_price"),
        volume_traded: u64("volume_traded"),
        last_traded_quantity: u64("last_traded_quantity"),
        average_traded_price: dec("average_traded_price"),
        total_buy_quantity: u64("total_buy_quantity"),
        total_sell_quantity: u64("total_sell_quantity"),
        change: dec("change"),
        ohlc: (!v["ohlc"].is_null()).then(|| {
            let p = |k: &str| dec_from(&v["ohlc"][k], k).expect("ohlc prices");
            Ohlc {
                open: p("open"),
                high: p("high"),
                low: p("low"),
                close: p("close"),
            }
        }),
        oi: u64("oi"),
        oi_day_high: u64("oi_day_high"),
        oi_day_low: u64("oi_day_low"),
        last_trade_time_us: i64("last_trade_time_us"),
        exchange_timestamp_us: i64("exchange_timestamp_us"),
        mode: v["mode"].as_str().map(|m| match m {
            "ltp" => TickMode::Ltp,
            "quote" => TickMode::Quote,
            "full" => TickMode::Full,
            other => panic!("mode {other}"),
        }),
        tradable: v["tradable"].as_bool(),
    };
    OwnedTick {
        fields,
        symbol: v["symbol"].as_str().map(str::to_owned),
        depth: (!v["depth"].is_null())
            .then(|| (side(&v["depth"]["buy"]), side(&v["depth"]["sell"]))),
    }
}

/// The meaning of a decoded batch, as the vectors' JSON states it.
pub fn decoded_json(count: u32, symbols: &[String], decoded: &Decoded) -> Value {
    match decoded {
        Err(e) => json!({"count": count, "symbols": symbols, "error": e.kind()}),
        Ok(ticks) => {
            let ticks: Vec<Value> = ticks
                .iter()
                .map(|t| match t {
                    Ok(t) => tick_json(t),
                    Err(e) => json!({"error": e.kind()}),
                })
                .collect();
            json!({"count": count, "symbols": symbols, "ticks": ticks})
        }
    }
}

fn price_json(p: Option<Price>) -> Value {
    match p {
        None => Value::Null,
        Some(Price::Exact(d)) => json!({"exact": d.to_string()}),
        Some(Price::Approx(f)) => json!({"approx": f}),
    }
}

pub fn signal_json(s: &Signal) -> Value {
    json!({
        "tick_index": s.tick_index,
        "instrument_token": s.instrument_token,
        "side": s.side.as_str(),
        "quantity": s.quantity,
        "price": price_json(s.price),
        "confidence": s.confidence,
        "metadata": s.metadata.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}

pub fn signal_from_json(v: &Value) -> Signal {
    let u32 = |k: &str| {
        v[k].as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("{k}"))
    };
    let price = match &v["price"] {
        Value::Null => None,
        p if !p["exact"].is_null() => {
            Some(Price::Exact(dec_from(&p["exact"], "exact").expect("exact")))
        }
        p => Some(Price::Approx(
            p["approx"].as_f64().expect("approx is a number"),
        )),
    };
    Signal {
        tick_index: u32("tick_index"),
        instrument_token: u32("instrument_token"),
        side: match v["side"].as_str() {
            Some("buy") => Side::Buy,
            Some("sell") => Side::Sell,
            other => panic!("side {other:?}"),
        },
        quantity: v["quantity"].as_u64().expect("quantity"),
        price,
        confidence: v["confidence"].as_f64(),
        metadata: v["metadata"]
            .as_array()
            .expect("metadata is a list")
            .iter()
            .map(|p| {
                let s = |i: usize| {
                    p[i].as_str()
                        .expect("metadata pairs are strings")
                        .to_owned()
                };
                (s(0), s(1))
            })
            .collect(),
    }
}

pub fn signals_decoded_json(count: u32, data: &[u8]) -> Value {
    match read_signals(count, data) {
        Ok(s) => json!({"count": count, "signals": s.iter().map(signal_json).collect::<Vec<_>>()}),
        Err(e) => json!({"count": count, "error": e.kind()}),
    }
}
