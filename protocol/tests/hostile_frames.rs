//! Hostile frame prefixes: no allocation follows from the length a peer
//! announces.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

use bytes::BytesMut;
use ferrokafka_protocol::frame::{FrameDecoder, FrameError};

const MIB: usize = 1024 * 1024;

fn decode(
    input: &[u8],
) -> (
    Result<Option<bytes::Bytes>, FrameError>,
    counting_alloc::Measured,
) {
    let mut buf = BytesMut::from(input);
    let mut decoder = FrameDecoder::new();
    counting_alloc::measure(|| decoder.decode(&mut buf))
}

#[test]
fn length_i32_max_is_refused_without_allocating() {
    let (result, measured) = decode(&[0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3]);
    assert!(
        matches!(result, Err(FrameError::TooLarge { .. })),
        "{result:?}"
    );
    assert!(measured.largest <= MIB, "{measured:?}");
}

#[test]
fn length_minus_one_is_refused_without_allocating() {
    let (result, measured) = decode(&[0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]);
    assert_eq!(result, Err(FrameError::NegativeLength { length: -1 }));
    assert!(measured.largest <= MIB, "{measured:?}");
}

#[test]
fn a_large_but_allowed_length_waits_without_allocating() {
    // 99 MiB announced, 4 bytes present: wait for more, allocate nothing for it.
    let (result, measured) = decode(&(99 * MIB as i32).to_be_bytes());
    assert_eq!(result, Ok(None));
    assert!(measured.largest <= MIB, "{measured:?}");
}

#[test]
fn tls_alert_as_length_is_named() {
    // 0x15030300 read as a length is ~350 MB: the Java client allocates it.
    let (result, measured) = decode(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("wrong port or security.protocol?"));
    assert!(measured.largest <= MIB, "{measured:?}");
}
