//! Fuzz target: any bytes as a Kafka message value through the envelope and tick
//! decoders. Never a panic; what decodes encodes, and encoding is a fixed point
//! (decode(encode(x)) encodes to the same bytes). The tick decoder's hand-written
//! fast path reads every input exactly as serde alone does (`decode_as`).
#![no_main]

use alpha_panda::contract::{decode_as, decode_envelope, decode_tick, EventType, MarketTick};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = decode_envelope(data) {
        let first = env.to_vec().expect("a decoded envelope encodes");
        let again = decode_envelope(&first).expect("an encoded envelope decodes");
        let second = again.to_vec().expect("encodes again");
        assert_eq!(
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second),
            "encoding is not a fixed point"
        );
    }
    let tick = decode_tick(data);
    let serde = decode_as::<MarketTick>(data, EventType::MarketTick);
    match (&tick, &serde) {
        (Ok(fast), Ok(slow)) => assert_eq!(
            fast.to_vec().expect("encodes"),
            slow.to_vec().expect("encodes"),
            "the fast path read another tick than serde"
        ),
        (Err(fast), Err(slow)) => assert_eq!(fast, slow, "the two paths refused differently"),
        _ => panic!("one path read what the other refused: {tick:?} / {serde:?}"),
    }
    if let Ok(tick) = tick {
        let bytes = tick.to_vec().expect("a decoded tick encodes");
        let again = decode_tick(&bytes).expect("an encoded tick decodes");
        assert_eq!(again.to_vec().expect("encodes again"), bytes);
    }
});
