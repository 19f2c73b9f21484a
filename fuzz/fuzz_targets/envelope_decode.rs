//! Fuzz target: any bytes as a Kafka message value through the envelope and tick
//! decoders. Never a panic; what decodes encodes, and encoding is a fixed point
//! (decode(encode(x)) encodes to the same bytes).
#![no_main]

use alpha_panda::contract::{decode_envelope, decode_tick};
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
    if let Ok(tick) = decode_tick(data) {
        let bytes = tick.to_vec().expect("a decoded tick encodes");
        let again = decode_tick(&bytes).expect("an encoded tick decodes");
        assert_eq!(again.to_vec().expect("encodes again"), bytes);
    }
});
