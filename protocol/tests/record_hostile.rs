//! Hostile record batches: every count and length is checked against the
//! bytes left, so lying headers give typed errors, never a panic or a large
//! allocation. A counting global allocator (per thread, so parallel tests do
//! not disturb each other) records the largest single allocation made while
//! decoding, and the number of allocations per record.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::compression::{Compression, CompressionError};
use ferrokafka_protocol::record::{
    BatchDecoder, BatchEncoder, BatchOptions, RecordBatch, RecordError, VarintError,
};

// ---------------------------------------------------------------------------
// Counting allocator

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn record_alloc(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record_alloc(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with (largest single allocation,
/// number of allocations) made on this thread meanwhile.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    LARGEST.with(|l| l.set(0));
    COUNT.with(|c| c.set(0));
    TRACKING.with(|t| t.set(true));
    let r = f();
    TRACKING.with(|t| t.set(false));
    (r, LARGEST.with(Cell::get), COUNT.with(Cell::get))
}

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// Helpers

/// Field offsets in a batch.
const LENGTH: usize = 8;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const RECORD_COUNT: usize = 57;
const RECORDS: usize = 61;

fn batch_of(options: &BatchOptions, values: &[&[u8]]) -> BytesMut {
    let mut out = BytesMut::new();
    let mut enc = BatchEncoder::new();
    let mut w = enc.begin(&mut out, options).unwrap();
    for (i, v) in values.iter().enumerate() {
        w.append(
            1_000 + i as i64,
            Some(b"key"),
            Some(v),
            &[("h", Some(b"v"))],
        )
        .unwrap();
    }
    w.finish().unwrap();
    out
}

fn plain(values: &[&[u8]]) -> BytesMut {
    batch_of(&BatchOptions::default(), values)
}

/// Recomputes batchLength and the CRC after a test edited a batch.
fn fix(batch: &mut BytesMut) -> Bytes {
    let len = (batch.len() - 12) as i32;
    batch[LENGTH..LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    batch.clone().freeze()
}

/// A batch whose records region is `records` (raw bytes), declaring
/// `count` records.
fn raw_batch(count: i32, records: &[u8]) -> Bytes {
    let mut b = plain(&[b"x"]);
    b.truncate(RECORDS);
    b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&count.to_be_bytes());
    b.extend_from_slice(records);
    fix(&mut b)
}

/// Decodes everything in `buf` (batches, records, headers), returning the
/// first error. Asserts nothing was allocated above 1 MiB.
fn decode_all(buf: Bytes) -> Result<usize, RecordError> {
    let (result, largest, _) = measure(|| -> Result<usize, RecordError> {
        let mut n = 0;
        for batch in BatchDecoder::new(buf).max_decompressed_bytes(512 * 1024) {
            let batch = batch?;
            let _ = batch.control_type();
            for r in &batch.records()? {
                let r = r?;
                for h in r.headers() {
                    n += h?.key().len();
                }
                n += 1;
            }
        }
        Ok(n)
    });
    assert!(largest <= MIB, "largest allocation {largest} bytes");
    result
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn record_count_i32_max_is_refused_before_decoding() {
    let mut b = plain(&[b"one", b"two"]);
    b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    let err = decode_all(fix(&mut b)).unwrap_err();
    assert!(
        matches!(err, RecordError::InvalidLength { what, value, .. }
            if what.starts_with("record count") && value == i64::from(i32::MAX)),
        "{err}"
    );

    // Compressed: refused before decompressing anything.
    let mut b = batch_of(
        &BatchOptions {
            compression: Compression::Gzip,
            ..BatchOptions::default()
        },
        &[b"one", b"two"],
    );
    b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    let err = decode_all(fix(&mut b)).unwrap_err();
    assert!(matches!(err, RecordError::InvalidLength { .. }), "{err}");

    // Negative: refused with the header.
    let mut b = plain(&[b"one"]);
    b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&(-1i32).to_be_bytes());
    let err = decode_all(fix(&mut b)).unwrap_err();
    assert!(
        matches!(err, RecordError::InvalidLength { value: -1, .. }),
        "{err}"
    );
}

#[test]
fn header_count_i32_max_is_refused() {
    // length, attributes, ts delta, offset delta, key null, value null,
    // header count i32::MAX (zigzag varint fe ff ff ff 0f), then 2 bytes.
    let body = [0u8, 0, 0, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x02, b'h'];
    let mut rec = vec![(body.len() as u8) << 1];
    rec.extend_from_slice(&body);
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::InvalidLength {
                what: "header count",
                ..
            }
        ),
        "{err}"
    );
    // Negative header count.
    let body = [0u8, 0, 0, 1, 1, 0x03];
    let mut rec = vec![(body.len() as u8) << 1];
    rec.extend_from_slice(&body);
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(matches!(err, RecordError::InvalidLength { .. }), "{err}");
}

#[test]
fn lengths_past_the_end_are_errors() {
    // Key length i32::MAX in a 9-byte record.
    let body = [0u8, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0];
    let mut rec = vec![(body.len() as u8) << 1];
    rec.extend_from_slice(&body);
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::Truncated {
                what: "record key",
                ..
            }
        ),
        "{err}"
    );

    // Value length past the record (but inside the batch: a second record
    // follows, so only the length prefix bounds the value).
    let body = [0u8, 0, 0, 1, 0x10, b'a', 0];
    let mut recs = vec![(body.len() as u8) << 1];
    recs.extend_from_slice(&body);
    recs.extend_from_slice(&[0x0e, 0, 0, 2, 1, 1, 0, 0]);
    let err = decode_all(raw_batch(2, &recs)).unwrap_err();
    assert!(matches!(err, RecordError::Truncated { .. }), "{err}");

    // Record length past the end of the batch, in the middle of the
    // fetched buffer (another batch follows): an error, not a skipped tail.
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&raw_batch(1, &[0x7e, 0, 0, 0, 1, 1, 0]));
    buf.extend_from_slice(&plain(&[b"next"]));
    let err = decode_all(buf.freeze()).unwrap_err();
    assert!(
        matches!(err, RecordError::Truncated { what: "record", .. }),
        "{err}"
    );

    // Header key length past the end (found when the headers are iterated).
    let body = [0u8, 0, 0, 1, 1, 2, 0x7e, b'h', 0];
    let mut rec = vec![(body.len() as u8) << 1];
    rec.extend_from_slice(&body);
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(matches!(err, RecordError::Truncated { .. }), "{err}");

    // Negative lengths other than -1.
    let body = [0u8, 0, 0, 3, 1, 0];
    let mut rec = vec![(body.len() as u8) << 1];
    rec.extend_from_slice(&body);
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(
        matches!(err, RecordError::InvalidLength { value: -2, .. }),
        "{err}"
    );
    let err = decode_all(raw_batch(1, &[0x03, 0, 0, 0, 0, 0, 0])).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::InvalidLength {
                what: "record length",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn batch_length_past_the_end_of_the_buffer_is_a_skipped_tail() {
    let first = plain(&[b"a", b"b"]);
    let mut second = plain(&[b"c"]);
    // Claims 10 MB: the broker cut it (or it lies); either way it is the
    // end of the buffer and is skipped without allocating.
    second[LENGTH..LENGTH + 4].copy_from_slice(&10_000_000i32.to_be_bytes());
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&first);
    buf.extend_from_slice(&second);
    let buf = buf.freeze();
    assert_eq!(decode_all(buf.clone()).unwrap(), 2 + 2);
    let mut decoder = BatchDecoder::new(buf);
    assert_eq!(decoder.by_ref().count(), 1);
    let tail = decoder.partial_tail().unwrap();
    assert_eq!(tail.bytes, second.len());
    assert_eq!(tail.batch_length, Some(10_000_000));
    assert_eq!(tail.base_offset, Some(0));

    // Below the v2 header size, or negative: an error.
    for bad in [48i32, 0, -1, i32::MIN] {
        let mut b = plain(&[b"a"]);
        b[LENGTH..LENGTH + 4].copy_from_slice(&bad.to_be_bytes());
        let err = decode_all(b.freeze()).unwrap_err();
        assert!(
            matches!(
                err,
                RecordError::InvalidLength {
                    what: "batch length",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
    // Old message formats.
    for magic in [0u8, 1, 3, 0xff] {
        let mut b = plain(&[b"a"]);
        b[MAGIC] = magic;
        let err = decode_all(b.freeze()).unwrap_err();
        assert!(
            matches!(err, RecordError::InvalidMagic { .. }),
            "{magic}: {err}"
        );
    }
    // RecordBatch::parse insists on exactly one batch.
    let b = plain(&[b"a"]).freeze();
    assert!(RecordBatch::parse(b.slice(..b.len() - 1)).is_err());
    assert!(RecordBatch::parse(b.slice(..20)).is_err());
}

#[test]
fn bad_crc_is_reported_as_corruption() {
    let mut b = plain(&[b"payload"]);
    b[0..8].copy_from_slice(&77i64.to_be_bytes());
    let n = b.len();
    b[n - 3] ^= 0x40;
    let stored = u32::from_be_bytes(b[CRC..CRC + 4].try_into().unwrap());
    let actual = crc32c::crc32c(&b[ATTRIBUTES..]);
    let err = decode_all(b.freeze()).unwrap_err();
    match err {
        RecordError::Corrupt {
            base_offset,
            expected_crc,
            actual_crc,
        } => {
            assert_eq!(base_offset, 77);
            assert_eq!(expected_crc, stored);
            assert_eq!(actual_crc, actual);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn overlong_varints_are_errors() {
    // Record length encoded in 6 bytes.
    let rec = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0, 0, 1, 1, 0];
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::Varint {
                source: VarintError::TooLong { max: 5 },
                ..
            }
        ),
        "{err}"
    );
    // Timestamp delta (varlong) in 11 bytes.
    let mut body = vec![0u8];
    body.extend_from_slice(&[0x80; 10]);
    body.extend_from_slice(&[0x00, 0, 1, 1, 0]);
    let mut rec = vec![(body.len() as u8) << 1];
    rec.extend_from_slice(&body);
    let err = decode_all(raw_batch(1, &rec)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::Varint {
                what: "timestamp delta",
                source: VarintError::TooLong { max: 10 },
                ..
            }
        ),
        "{err}"
    );
    // Varint that runs off the end of its record: a 2-byte record whose
    // timestamp delta has a continuation bit and nothing after it.
    let err = decode_all(raw_batch(1, &[0x04, 0x00, 0x80, 0, 0, 0, 0])).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::Varint {
                source: VarintError::Truncated,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn record_count_mismatches_are_errors() {
    // Two 15-byte records: length 14, attributes, timestamp delta, offset
    // delta, null key, 8-byte value, no headers.
    let record = |delta: u8| {
        let mut r = vec![0x1c, 0, 0, delta << 1, 1, 0x10];
        r.extend_from_slice(b"abcdefgh");
        r.push(0);
        r
    };
    let mut two = record(0);
    two.extend_from_slice(&record(1));
    // Declares 3 (30 bytes could hold 4 minimal records, so the upfront
    // check lets it through): the region ends after 2.
    let err = decode_all(raw_batch(3, &two)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::RecordCountMismatch {
                declared: 3,
                found: 2,
                trailing_bytes: 0,
                ..
            }
        ),
        "{err}"
    );
    // Declares 1: 15 bytes are left over.
    let err = decode_all(raw_batch(1, &two)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::RecordCountMismatch {
                declared: 1,
                found: 1,
                trailing_bytes: 15,
                ..
            }
        ),
        "{err}"
    );
    // Declares 5: more than 30 bytes can hold, refused before iterating.
    let err = decode_all(raw_batch(5, &two)).unwrap_err();
    assert!(
        matches!(err, RecordError::InvalidLength { value: 5, .. }),
        "{err}"
    );
    // A record whose length leaves bytes after its last header.
    let err = decode_all(raw_batch(1, &[0x0e, 0, 0, 0, 1, 1, 0, 9])).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::RecordLengthMismatch {
                trailing_bytes: 1,
                ..
            }
        ),
        "{err}"
    );
    // An empty batch (count 0, no bytes) is fine: compaction leaves those.
    assert_eq!(decode_all(raw_batch(0, &[])).unwrap(), 0);
}

#[test]
fn offset_and_timestamp_overflow_are_errors() {
    let mut b = plain(&[b"a", b"b"]);
    b[0..8].copy_from_slice(&(i64::MAX - 1).to_be_bytes());
    b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&0i32.to_be_bytes());
    // Record 1 has offset delta 1: MAX - 1 + 1 is fine; make the batch
    // claim delta 2 in its header instead.
    let err = {
        let mut c = b.clone();
        c[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&2i32.to_be_bytes());
        decode_all(fix(&mut c)).unwrap_err()
    };
    assert!(matches!(err, RecordError::Overflow { .. }), "{err}");
    b[0..8].copy_from_slice(&i64::MAX.to_be_bytes());
    let err = decode_all(fix(&mut b)).unwrap_err();
    assert!(
        matches!(err, RecordError::Overflow { what, .. } if what.starts_with("record offset")),
        "{err}"
    );

    let mut b = plain(&[b"a", b"b"]);
    b[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&i64::MAX.to_be_bytes());
    let err = decode_all(fix(&mut b)).unwrap_err();
    assert!(
        matches!(err, RecordError::Overflow { what, .. } if what.starts_with("record timestamp")),
        "{err}"
    );
}

#[test]
fn unknown_codec_keeps_the_header_readable() {
    let mut b = plain(&[b"a"]);
    b[ATTRIBUTES + 1] = (b[ATTRIBUTES + 1] & !0x07) | 0x06;
    let buf = fix(&mut b);
    let batch = BatchDecoder::new(buf.clone()).next().unwrap().unwrap();
    assert_eq!(batch.next_offset(), 1);
    assert!(matches!(
        batch.compression(),
        Err(CompressionError::UnknownCodec { id: 6 })
    ));
    let err = decode_all(buf).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::Compression(CompressionError::UnknownCodec { id: 6 })
        ),
        "{err}"
    );
}

#[test]
fn corrupt_compressed_records_are_typed_errors() {
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut b = batch_of(
            &BatchOptions {
                compression: codec,
                ..BatchOptions::default()
            },
            &[b"some value that compresses", b"some value that compresses"],
        );
        // Damage the compressed region, keeping the CRC valid so the
        // codec sees it.
        let mid = RECORDS + (b.len() - RECORDS) / 2;
        b[mid] ^= 0xff;
        b[mid + 1] ^= 0x5a;
        match decode_all(fix(&mut b)) {
            Err(RecordError::Compression(CompressionError::Corrupt { codec: c, .. })) => {
                assert_eq!(c, codec)
            }
            // Damage inside a literal may decompress "fine" into bytes that
            // then fail to parse as records.
            Err(e) => assert!(!matches!(e, RecordError::Corrupt { .. }), "{codec}: {e}"),
            Ok(_) => {}
        }
    }
}

/// Deterministic mutations of valid batches of every codec: whatever the
/// damage, decoding returns (an error or data) without panicking and
/// without allocating more than 1 MiB at once.
#[test]
fn mutated_batches_never_panic_or_allocate_much() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for codec in Compression::ALL {
        let values: Vec<Vec<u8>> = (0..20).map(|i| vec![b'a' + i as u8; 50 + i * 37]).collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let base = batch_of(
            &BatchOptions {
                compression: codec,
                ..BatchOptions::default()
            },
            &refs,
        );
        for round in 0..400 {
            let mut b = base.clone();
            let edits = 1 + rand() % 4;
            for _ in 0..edits {
                let at = (rand() as usize) % b.len();
                match rand() % 3 {
                    0 => b[at] ^= 1 << (rand() % 8),
                    1 => b[at] = rand() as u8,
                    _ => b[at] = 0xff,
                }
            }
            // Half the time keep the CRC valid so the payload is parsed.
            let buf = if round % 2 == 0 {
                fix(&mut b)
            } else {
                b.freeze()
            };
            let _ = decode_all(buf.clone());
            // Every truncation of the mutated buffer, too (sampled).
            for cut in (0..buf.len()).step_by(1 + buf.len() / 25) {
                let _ = decode_all(buf.slice(..cut));
            }
        }
    }
}

/// Iterating records allocates nothing per record: the allocation count
/// for 10 000 records equals that for 10.
#[test]
fn iterating_records_does_not_allocate_per_record() {
    for codec in Compression::ALL {
        let count_allocs = |n: usize| {
            let values: Vec<Vec<u8>> = (0..n).map(|i| format!("value-{i}").into_bytes()).collect();
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            let buf = batch_of(
                &BatchOptions {
                    compression: codec,
                    ..BatchOptions::default()
                },
                &refs,
            )
            .freeze();
            let batch = BatchDecoder::new(buf).next().unwrap().unwrap();
            let records = batch.records().unwrap();
            let (sum, _, allocs) = measure(|| {
                let mut sum = 0usize;
                for r in &records {
                    let r = r.unwrap();
                    sum += r.value().unwrap().len() + r.key().unwrap().len();
                    sum += r
                        .headers()
                        .iter()
                        .map(|h| h.unwrap().key().len())
                        .sum::<usize>();
                    sum += r.headers().get_all(b"h").count();
                }
                sum
            });
            assert!(sum > 0);
            allocs
        };
        assert_eq!(count_allocs(10_000), 0, "{codec}");
        assert_eq!(count_allocs(10), 0, "{codec}");
    }
}

#[test]
fn batch_decoding_allocates_once_per_compressed_batch_at_most() {
    for codec in Compression::ALL {
        let values: Vec<Vec<u8>> = (0..1000).map(|i| format!("v{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let buf = batch_of(
            &BatchOptions {
                compression: codec,
                ..BatchOptions::default()
            },
            &refs,
        )
        .freeze();
        let (n, _, allocs) = measure(|| {
            let mut n = 0;
            for batch in BatchDecoder::new(buf.clone()) {
                for r in &batch.unwrap().records().unwrap() {
                    r.unwrap();
                    n += 1;
                }
            }
            n
        });
        assert_eq!(n, 1000);
        // Uncompressed: at most the Bytes promotion of the shared buffer.
        // Compressed: the decompressed buffer plus the codec's state.
        if codec == Compression::None {
            assert!(allocs <= 1, "{codec}: {allocs}");
        } else {
            assert!(allocs < 100, "{codec}: {allocs}");
        }
    }
}
