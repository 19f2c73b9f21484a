//! Wire tests of the whole contract against the project's fixtures
//! (`tests/fixtures/*.json`, copied from the Python services' output).

use rust_decimal::Decimal;
use serde_json::Value;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/",
                $name,
                ".json"
            )),
        )
    };
}

const FIXTURES: [(&str, &str); 10] = [
    fixture!("market_tick_full"),
    fixture!("market_tick_index_ltp"),
    fixture!("market_tick_numeric_price"),
    fixture!("trading_signal"),
    fixture!("validated_signal"),
    fixture!("rejected_signal"),
    fixture!("order_placed"),
    fixture!("order_filled"),
    fixture!("order_failed"),
    fixture!("pnl_snapshot"),
];

#[test]
fn every_fixture_file_is_in_the_list() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(n, _)| format!("{n}.json")).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every file of tests/fixtures/ is in FIXTURES (and tested through it)"
    );
}

fn fixture(name: &str) -> &'static str {
    FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text.trim_end())
        .unwrap()
}

fn encode<T: serde::Serialize>(env: &EventEnvelope<T>) -> String {
    String::from_utf8(env.to_vec().unwrap()).unwrap()
}

/// Every string in `input` that reads as a decimal appears, same text, at the
/// same place in `output`.
fn assert_decimal_texts_kept(input: &Value, output: &Value, path: &str) {
    match input {
        Value::String(s) if s.parse::<Decimal>().is_ok() => {
            assert_eq!(output, input, "decimal text changed at {path}");
        }
        Value::Object(map) => {
            for (k, v) in map {
                let out = output.get(k).unwrap_or(&Value::Null);
                assert_decimal_texts_kept(v, out, &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                assert_decimal_texts_kept(v, &output[i], &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_fixture_decodes_and_re_encodes_to_an_equal_event() {
    for (name, text) in FIXTURES {
        let env = decode_envelope(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(env.data.event_type(), env.event_type, "{name}");
        assert!(name.starts_with(env.event_type.as_str()), "{name}");
        let out = encode(&env);
        assert!(!out.contains('\n'), "{name}: not compact");
        let again = decode_envelope(out.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, env, "{name}");
        let (input, output): (Value, Value) = (
            serde_json::from_str(text).unwrap(),
            serde_json::from_str(&out).unwrap(),
        );
        assert_decimal_texts_kept(&input, &output, name);
    }
}

#[test]
fn fixtures_whose_times_are_canonical_re_encode_byte_for_byte() {
    // The others differ only as expected: `.700000Z` is written `.700Z`, absent
    // optional fields are written as null, `MARKET_TICK` as `market_tick`, and
    // risk checks in name order.
    for name in [
        "market_tick_full",
        "market_tick_index_ltp",
        "trading_signal",
        "order_placed",
        "order_filled",
        "order_failed",
    ] {
        let text = fixture(name);
        let env = decode_envelope(text.as_bytes()).unwrap();
        assert_eq!(encode(&env), text, "{name}");
    }
}

#[test]
fn specific_decimal_texts_survive() {
    let cases = [
        ("market_tick_full", r#""last_price":"2501.55""#),
        ("market_tick_full", r#""open":"2480.0""#),
        ("order_filled", r#""fees":"250.280077500""#),
        ("order_filled", r#""fill_price":"2502.800775""#),
        ("pnl_snapshot", r#""unrealized_pnl":"-130.077500""#),
        ("pnl_snapshot", r#""total_pnl":"-130.077500""#),
        ("market_tick_numeric_price", r#""last_price":"3987.4""#),
    ];
    for (name, needle) in cases {
        let env = decode_envelope(fixture(name).as_bytes()).unwrap();
        let out = encode(&env);
        assert!(out.contains(needle), "{name}: {needle} not in {out}");
    }
    let tick = decode_tick(fixture("market_tick_numeric_price").as_bytes()).unwrap();
    assert_eq!(tick.data.last_price.to_string(), "3987.4");
}

#[test]
fn full_tick_carries_every_field() {
    let env = decode_tick(fixture("market_tick_full").as_bytes()).unwrap();
    let t = &env.data;
    assert_eq!(t.instrument_token, 738561);
    assert_eq!(t.symbol.as_deref(), Some("RELIANCE"));
    assert_eq!(t.volume_traded, Some(1234567));
    assert_eq!(t.mode, Some(TickMode::Full));
    assert_eq!(t.tradable, Some(true));
    let depth = t.depth.as_ref().unwrap();
    assert_eq!((depth.buy.len(), depth.sell.len()), (2, 1));
    assert_eq!(depth.buy[1].price.to_string(), "2501.45");
    assert_eq!(t.ohlc.as_ref().unwrap().low.to_string(), "2475.5");
    assert_eq!(
        t.last_trade_time.unwrap().to_string(),
        "2025-08-29T04:45:03Z"
    );
    assert_eq!(env.key, "738561");
    assert_eq!(env.broker, SHARED);
    assert_eq!(env.causation_id, None);
}

#[test]
fn any_letter_case_of_type_decodes_the_same() {
    let text = fixture("market_tick_full");
    let lower = decode_tick(text.as_bytes()).unwrap();
    for t in ["MARKET_TICK", "Market_Tick"] {
        let variant = text.replace("\"market_tick\"", &format!("\"{t}\""));
        assert_eq!(decode_tick(variant.as_bytes()).unwrap(), lower);
        let any = decode_envelope(variant.as_bytes()).unwrap();
        assert_eq!(any.event_type, EventType::MarketTick);
    }
    let numeric = decode_envelope(fixture("market_tick_numeric_price").as_bytes()).unwrap();
    assert_eq!(numeric.event_type, EventType::MarketTick);
    assert!(encode(&numeric).contains(r#""type":"market_tick""#));
}

#[test]
fn unknown_type_is_its_own_error() {
    let text = fixture("market_tick_full").replace("\"market_tick\"", "\"market_tock\"");
    for err in [
        decode_envelope(text.as_bytes()).unwrap_err(),
        decode_tick(text.as_bytes()).unwrap_err(),
    ] {
        assert_eq!(err, DecodeError::UnknownEventType("market_tock".to_owned()));
        assert_eq!(err.class(), "unknown_event_type");
    }
}

#[test]
fn missing_required_field_names_it() {
    let text = fixture("market_tick_full").replace(r#""last_price":"2501.55","#, "");
    for err in [
        decode_envelope(text.as_bytes()).unwrap_err(),
        decode_tick(text.as_bytes()).unwrap_err(),
    ] {
        assert_eq!(
            err,
            DecodeError::MissingField {
                field: "data.last_price".to_owned()
            }
        );
        assert!(err.to_string().contains("last_price"));
    }
    let text = fixture("trading_signal").replace(
        r#""correlation_id":"0198f3a1c2b4f--406e-a004-4c794b95943a","#,
        "",
    );
    assert_eq!(
        decode_envelope(text.as_bytes()).unwrap_err(),
        DecodeError::MissingField {
            field: "correlation_id".to_owned()
        }
    );
    let text = fixture("market_tick_full").replace(r#""type":"market_tick","#, "");
    assert_eq!(
        decode_envelope(text.as_bytes()).unwrap_err(),
        DecodeError::MissingField {
            field: "type".to_owned()
        }
    );
}

#[test]
fn naive_timestamp_is_an_invalid_field() {
    let text = fixture("market_tick_full").replace(
        r#""timestamp":"2025-08-29T04:45:04Z""#,
        r#""timestamp":"2025-08-29T04:45:04""#,
    );
    match decode_tick(text.as_bytes()).unwrap_err() {
        DecodeError::InvalidField { field, reason } => {
            assert_eq!(field, "data.timestamp");
            assert!(reason.starts_with("time has no UTC offset: "), "{reason}");
            assert!(reason.contains("2025-08-29T04:45:04"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nested_bad_values_are_named_by_path() {
    let text = fixture("market_tick_full").replace(r#"{"price":"2501.45""#, r#"{"price":"abc""#);
    match decode_tick(text.as_bytes()).unwrap_err() {
        DecodeError::InvalidField { field, reason } => {
            assert_eq!(field, "data.depth.buy[1].price");
            assert!(reason.contains("abc"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let text = fixture("trading_signal").replace("\"BUY\"", "\"HOLD\"");
    match decode_envelope(text.as_bytes()).unwrap_err() {
        DecodeError::InvalidField { field, reason } => {
            assert_eq!(field, "data.signal_type");
            assert!(reason.contains("HOLD"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let text = fixture("validated_signal").replace(r#""quantity":100"#, r#""quantity":0"#);
    match decode_envelope(text.as_bytes()).unwrap_err() {
        DecodeError::InvalidField { field, .. } => {
            assert_eq!(field, "data.original_signal.quantity")
        }
        other => panic!("{other:?}"),
    }
    let text = fixture("trading_signal").replace(
        "\"ts\":\"2025-08-29T04:45:04.912974Z\"",
        "\"ts\":\"2025-08-29\"",
    );
    assert!(matches!(
        decode_envelope(text.as_bytes()).unwrap_err(),
        DecodeError::InvalidField { field, .. } if field == "ts"
    ));
}

#[test]
fn bad_bytes_give_their_own_variants() {
    let err = decode_envelope(b"hello, world").unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::NotJson {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), "not_json");
    assert!(matches!(
        decode_tick(b"").unwrap_err(),
        DecodeError::NotJson { .. }
    ));
    let truncated = &fixture("market_tick_full")[..300];
    assert!(matches!(
        decode_tick(truncated.as_bytes()).unwrap_err(),
        DecodeError::NotJson { .. }
    ));
    let with_trailing = format!("{} x", fixture("market_tick_full"));
    assert!(matches!(
        decode_tick(with_trailing.as_bytes()).unwrap_err(),
        DecodeError::NotJson { .. }
    ));

    let mut bytes = fixture("market_tick_full").as_bytes().to_vec();
    bytes[10] = 0xff;
    assert_eq!(
        decode_envelope(&bytes).unwrap_err(),
        DecodeError::NotUtf8 { valid_up_to: 10 }
    );

    let huge = format!(r#"{{"id":"{}"}}"#, "x".repeat(10 * 1024 * 1024));
    let err = decode_tick(huge.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Oversize {
            len: huge.len(),
            max: MAX_MESSAGE_BYTES
        }
    );
    assert_eq!(err.class(), "oversize");

    for not_object in ["[1,2]", "42", "\"market_tick\"", "null"] {
        assert_eq!(
            decode_envelope(not_object.as_bytes()).unwrap_err(),
            DecodeError::NotAnObject,
            "{not_object}"
        );
    }
    assert!(matches!(
        decode_envelope(b"[1,2] x").unwrap_err(),
        DecodeError::NotJson { .. }
    ));
}

#[test]
fn tick_decoder_refuses_other_types() {
    for (name, text) in FIXTURES
        .iter()
        .filter(|(n, _)| !n.starts_with("market_tick"))
    {
        match decode_tick(text.as_bytes()).unwrap_err() {
            DecodeError::UnexpectedType { expected, found } => {
                assert_eq!(expected, EventType::MarketTick);
                assert_ne!(found, EventType::MarketTick);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn id_length_is_validated() {
    let text = fixture("market_tick_full");
    let id = "0198f3a1c2b4e--4991-9c71-2ac97dc2d6f8";
    for bad in [String::new(), "x".repeat(129)] {
        let t = text.replacen(id, &bad, 1);
        match decode_tick(t.as_bytes()).unwrap_err() {
            DecodeError::InvalidField { field, reason } => {
                assert_eq!(field, "id");
                assert!(reason.contains("1..=128"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    let t = text.replacen(id, &"x".repeat(128), 1);
    assert!(decode_tick(t.as_bytes()).is_ok());
}

#[test]
fn unknown_fields_are_ignored() {
    let text = fixture("market_tick_full")
        .replace(
            r#""instrument_token":738561,"#,
            r#""instrument_token":738561,"new_field":[1,{"a":2}],"#,
        )
        .replace(r#""version":1,"#, r#""version":1,"region":"in","#);
    let a = decode_tick(text.as_bytes()).unwrap();
    let b = decode_tick(fixture("market_tick_full").as_bytes()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn no_input_panics() {
    // Every prefix and a sweep of single-byte corruptions of every fixture.
    for (_, text) in FIXTURES {
        let bytes = text.as_bytes();
        for end in 0..bytes.len() {
            let _ = decode_envelope(&bytes[..end]);
            let _ = decode_tick(&bytes[..end]);
        }
        for i in (0..bytes.len()).step_by(7) {
            for b in [b'"', b'{', b'}', b'0', b'-', b'\\', 0x80, b'e'] {
                let mut corrupt = bytes.to_vec();
                corrupt[i] = b;
                if let Err(e) = decode_envelope(&corrupt) {
                    assert!(!e.class().is_empty());
                }
            }
        }
    }
}

#[test]
fn error_classes_are_distinct() {
    let all = [
        DecodeError::Oversize { len: 0, max: 0 },
        DecodeError::NotUtf8 { valid_up_to: 0 },
        DecodeError::NotJson {
            line: 0,
            column: 0,
            reason: String::new(),
        },
        DecodeError::NotAnObject,
        DecodeError::UnknownEventType(String::new()),
        DecodeError::MissingField {
            field: String::new(),
        },
        DecodeError::InvalidField {
            field: String::new(),
            reason: String::new(),
        },
        DecodeError::UnexpectedType {
            expected: EventType::MarketTick,
            found: EventType::SystemError,
        },
    ];
    let mut classes: Vec<_> = all.iter().map(DecodeError::class).collect();
    classes.sort_unstable();
    classes.dedup();
    assert_eq!(classes.len(), all.len());
}

fn lineage(strategy_id: &str, index: u32) -> Lineage<'_> {
    Lineage {
        namespace: BrokerNamespace::Paper,
        strategy_id,
        index,
    }
}

fn signal_from(tick: &EventEnvelope<MarketTick>) -> NewEvent<TradingSignal> {
    NewEvent {
        event_type: EventType::TradingSignal,
        key: format!("momentum_1:{}", tick.data.instrument_token),
        source: "strategy_runner".to_owned(),
        ts: Timestamp::parse("2025-08-29T04:45:04.912974Z").unwrap(),
        data: TradingSignal {
            strategy_id: "momentum_1".to_owned(),
            instrument_token: tick.data.instrument_token,
            signal_type: SignalType::Buy,
            quantity: 100,
            price: Some(tick.data.last_price),
            timestamp: tick.data.timestamp,
            confidence: Some(0.0625),
            metadata: serde_json::Map::new(),
        },
    }
}

#[test]
fn child_inherits_lineage_from_its_parent() {
    let tick = decode_tick(fixture("market_tick_full").as_bytes()).unwrap();
    let child = tick.child(&lineage("momentum_1", 0), signal_from(&tick));
    assert_eq!(child.correlation_id, tick.correlation_id);
    assert_eq!(child.trace_id, tick.trace_id);
    assert_eq!(
        child.parent_trace_id.as_deref(),
        Some(tick.trace_id.as_str())
    );
    assert_eq!(child.causation_id.as_deref(), Some(tick.id.as_str()));
    assert_eq!(child.broker, "paper");
    assert_eq!(child.version, VERSION);
    assert_eq!(child.event_type, EventType::TradingSignal);
    let id = uuid::Uuid::parse_str(&child.id).unwrap();
    assert_eq!(id.to_string(), child.id);
    assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
    assert_eq!(id.get_version(), Some(uuid::Version::SortRand), "a UUIDv7");
    let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
    let millis = secs as i64 * 1000 + i64::from(nanos / 1_000_000);
    assert_eq!(millis, tick.ts.to_unix_millis(), "the parent's time");
}

#[test]
fn child_id_time_is_the_parents_clamped_to_the_field() {
    let base = lineage("momentum_1", 0);
    let ms = |id: uuid::Uuid| {
        let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
        secs * 1000 + u64::from(nanos / 1_000_000)
    };
    assert_eq!(
        ms(child_id("p", 1_756_442_704_512, &base)),
        1_756_442_704_512
    );
    assert_eq!(ms(child_id("p", -5, &base)), 0, "before 1970");
    assert_eq!(ms(child_id("p", i64::MAX, &base)), (1 << 48) - 1);
    // The time only sets the time field: the other bits stay those of the digest.
    let a = child_id("p", 1_000, &base).as_bytes()[6..].to_vec();
    let b = child_id("p", 2_000, &base).as_bytes()[6..].to_vec();
    assert_eq!(a, b);
    // Ids of later parents sort later, as fresh v7 ids do.
    assert!(child_id("z", 1_000, &base) < child_id("a", 1_001, &base));
}

#[test]
fn child_ids_are_deterministic_and_distinct() {
    let tick = decode_tick(fixture("market_tick_full").as_bytes()).unwrap();
    let base = lineage("momentum_1", 0);
    let id = |l: &Lineage<'_>| tick.child(l, signal_from(&tick)).id;
    assert_eq!(id(&base), id(&base));
    let ms = tick.ts.to_unix_millis();
    assert_eq!(child_id(&tick.id, ms, &base).to_string(), id(&base));
    let variants = [
        Lineage {
            namespace: BrokerNamespace::Zerodha,
            ..base
        },
        lineage("momentum_2", 0),
        lineage("momentum_1", 1),
    ];
    let mut seen = vec![id(&base)];
    for l in &variants {
        let other = id(l);
        assert!(!seen.contains(&other), "{l:?}");
        seen.push(other);
    }
    // A different parent id gives a different child id.
    assert_ne!(child_id("a", ms, &base), child_id("b", ms, &base));
    // Part boundaries matter: ("ab", "c") differs from ("a", "bc").
    assert_ne!(
        child_id("p", ms, &lineage("ab", 0)),
        child_id("pa", ms, &lineage("b", 0))
    );
}

#[test]
fn signal_at_the_tick_price_carries_the_tick_text() {
    let tick = decode_tick(fixture("market_tick_full").as_bytes()).unwrap();
    let child = tick.child(&lineage("momentum_1", 0), signal_from(&tick));
    let out = encode(&child);
    assert!(out.contains(r#""price":"2501.55""#), "{out}");
    assert!(
        out.contains(r#""timestamp":"2025-08-29T04:45:04Z""#),
        "{out}"
    );
    assert!(
        out.contains(r#""ts":"2025-08-29T04:45:04.912974Z""#),
        "{out}"
    );
    assert!(out.contains(r#""type":"trading_signal""#), "{out}");
    assert!(
        out.contains(&format!(r#""causation_id":"{}""#, tick.id)),
        "{out}"
    );
    let back = decode_as::<TradingSignal>(out.as_bytes(), EventType::TradingSignal).unwrap();
    assert_eq!(back, child);
}

#[test]
fn root_envelopes_get_fresh_v7_ids() {
    let tick = MarketTick::new(
        81153,
        Decimal::new(39874, 1),
        Timestamp::parse("2025-08-29T04:45:06Z").unwrap(),
    );
    let env = EventEnvelope::root(
        SHARED,
        NewEvent {
            event_type: EventType::MarketTick,
            key: "81153".to_owned(),
            source: "market_feed".to_owned(),
            ts: Timestamp::now(),
            data: tick,
        },
    );
    let id = uuid::Uuid::parse_str(&env.id).unwrap();
    assert_eq!(id.get_version(), Some(uuid::Version::SortRand));
    assert_ne!(env.id, env.trace_id);
    assert_eq!(env.causation_id, None);
    let back = decode_tick(&env.to_vec().unwrap()).unwrap();
    assert_eq!(back, env);
}
