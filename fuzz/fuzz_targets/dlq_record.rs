//! Fuzz target: a DLQ record built from an arbitrary failed message (any key,
//! value and header bytes, any topic and failure text). Never a panic; the record
//! encodes, decodes, and gives back every original byte.
#![no_main]

use alpha_panda::contract::{decode_as, EventType, Timestamp};
use alpha_panda::dlq::{dlq_envelope, DlqRecord, FailedMessage, Failure};
use alpha_panda::errors::ErrorType;
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    topic: String,
    partition: i32,
    offset: i64,
    timestamp_ms: Option<i64>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    error_class: String,
    message: String,
    retries: u32,
    exhausted: bool,
    poison: bool,
}

fuzz_target!(|input: Input| {
    let m = FailedMessage {
        topic: &input.topic,
        partition: input.partition,
        offset: input.offset,
        timestamp_ms: input.timestamp_ms,
        key: input.key.as_deref(),
        value: input.value.as_deref(),
        headers: &input.headers,
    };
    let failure = Failure {
        error_type: if input.poison {
            ErrorType::Poison
        } else {
            ErrorType::Transient
        },
        error_class: input.error_class.clone(),
        message: input.message.clone(),
        retries: input.retries,
        exhausted: input.exhausted,
    };
    let env = dlq_envelope(&m, &failure, "fuzz", "alpha-panda.fuzz.paper", Timestamp::now());
    let bytes = env.to_vec().expect("a DLQ record always encodes");
    let back = decode_as::<DlqRecord>(&bytes, EventType::SystemError).expect("a DLQ record decodes");
    let original = &back.data.original_message;
    assert_eq!(original.key().expect("key base64"), input.key);
    assert_eq!(original.value().expect("value base64"), input.value);
    assert_eq!(original.headers().expect("headers base64"), input.headers);
    assert_eq!(back.data.dlq_metadata.original_topic, input.topic);
    assert_eq!(back.data.failure_info.error_message, input.message);
});
