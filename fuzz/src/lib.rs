//! Shared bodies of the fuzz targets. Every target must never panic, never
//! allocate past libFuzzer's `-malloc_limit_mb`, and never loop forever.

use bytes::Bytes;
use ferrokafka_protocol::bounded::{decode_response, supported_versions, BoundedResponse};

/// The first input byte picks a version within our implemented range for
/// `R`'s API; the rest is the response body.
pub fn fuzz_response<R: BoundedResponse>(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (min, max) = supported_versions(R::API_KEY).expect("every bounded response has versions");
    let span = (max - min + 1) as u8;
    let version = min + i16::from(selector % span);
    let mut body = Bytes::copy_from_slice(body);
    let _ = decode_response::<R>(&mut body, version);
}

/// The first input byte picks an API of `SUPPORTED_VERSIONS`, the second a
/// version within its range; the rest is a request body, as a broker (the
/// fake cluster) reads it from a client (bytes after its last field are
/// ignored). Whatever decodes must re-encode to a body the bounded walk
/// accepts up to its very end and that decodes to the same value: a schema
/// table that disagrees with `kafka-protocol` fails here.
pub fn fuzz_request_any(data: &[u8]) {
    use ferrokafka_protocol::bounded::{decode_request_kind, validate_request, SUPPORTED_VERSIONS};

    let [api_selector, version_selector, body @ ..] = data else {
        return;
    };
    let (api, min, max) = SUPPORTED_VERSIONS[usize::from(*api_selector) % SUPPORTED_VERSIONS.len()];
    let span = (max - min + 1) as u8;
    let version = min + i16::from(version_selector % span);
    let mut bytes = Bytes::copy_from_slice(body);
    let Ok(request) = decode_request_kind(api, version, &mut bytes) else {
        return;
    };
    // kafka-protocol keeps unknown tags above i32::MAX under negative keys
    // and counts them when encoding, but does not write them (it writes
    // the keys in `0..`): such a request cannot re-encode faithfully. That
    // is kafka-protocol's quirk, not a table error, so the re-encoding
    // check skips it (negative keys sort first in the map's Debug form).
    if format!("{request:?}").contains("unknown_tagged_fields: {-") {
        return;
    }
    let mut encoded = bytes::BytesMut::new();
    if request.encode(&mut encoded, version).is_err() {
        // Values the encoder refuses (none known) are not our concern here.
        return;
    }
    let encoded = encoded.freeze();
    // Bytes after the last field are ignored by the walk, so it must also
    // end exactly where kafka-protocol's encoding ends.
    match validate_request(api, version, &encoded) {
        Ok(end) if end == encoded.len() => {}
        Ok(end) => panic!(
            "{api:?} v{version}: the walk of kafka-protocol's own encoding ends at byte {end} of {}",
            encoded.len()
        ),
        Err(e) => panic!("{api:?} v{version}: kafka-protocol's own encoding is refused: {e}"),
    }
    let again = decode_request_kind(api, version, &mut encoded.clone())
        .unwrap_or_else(|e| panic!("{api:?} v{version}: re-encoded request does not decode: {e}"));
    assert_eq!(
        again, request,
        "{api:?} v{version}: re-encoding changed the request"
    );
}

/// Splits the input into frames (fed in uneven chunks, as a socket would
/// deliver them) and reads a response header off each.
pub fn fuzz_frames(data: &[u8]) {
    use bytes::BytesMut;
    use ferrokafka_protocol::frame::FrameDecoder;
    use ferrokafka_protocol::header::decode_response_header;

    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = FrameDecoder::with_max_frame_size(1 << 20);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let version = i16::from(frame.first().copied().unwrap_or(0) & 1);
                    let _ = decode_response_header(frame, version);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// Decodes the input as a fetched records buffer after forcing the first
/// batch's codec to `codec` and fixing its CRC, so the fuzzer explores the
/// decompressor and the record layout instead of failing the checksum.
/// Every batch, record and header is walked, as a consumer would.
pub fn fuzz_record_batch(codec: ferrokafka_protocol::compression::Compression, data: &[u8]) {
    use ferrokafka_protocol::record::BatchDecoder;
    // Offsets in the v2 batch header: attributes at 21, CRC at 17 over 21..end.
    const CRC_AT: usize = 17;
    const ATTRIBUTES_AT: usize = 21;
    let mut bytes = data.to_vec();
    if bytes.len() >= 61 {
        let declared = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let end = usize::try_from(declared)
            .ok()
            .and_then(|len| len.checked_add(12))
            .filter(|&end| end <= bytes.len() && end >= 61)
            .unwrap_or(bytes.len());
        bytes[ATTRIBUTES_AT + 1] = (bytes[ATTRIBUTES_AT + 1] & !0x07) | codec.id();
        let crc = crc32c_of(&bytes[ATTRIBUTES_AT..end]);
        bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    }
    let decoder = BatchDecoder::new(Bytes::from(bytes)).max_decompressed_bytes(16 << 20);
    for batch in decoder {
        let Ok(batch) = batch else { return };
        let _ = batch.control_type();
        let Ok(records) = batch.records_with_limit(16 << 20) else {
            continue;
        };
        for record in records.iter() {
            let Ok(record) = record else { break };
            std::hint::black_box((
                record.offset(),
                record.timestamp(),
                record.key(),
                record.value(),
            ));
            for header in record.headers().iter() {
                let Ok(header) = header else { break };
                std::hint::black_box((header.key(), header.value()));
            }
            let _ = record.control_type();
        }
    }
}

fn crc32c_of(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// Varints: decoding never panics, and whatever decodes re-encodes to the
/// same bytes when the encoding was minimal.
pub fn fuzz_varint(data: &[u8]) {
    use ferrokafka_protocol::record::varint;
    if let Ok((value, used)) = varint::read_varint(data) {
        let mut out = Vec::new();
        varint::put_varint(&mut out, value);
        assert_eq!(varint::varint_len(value), out.len());
        assert!(
            out.len() <= used,
            "re-encoding is never longer than what was read"
        );
        assert_eq!(varint::read_varint(&out).map(|(v, _)| v), Ok(value));
    }
    if let Ok((value, used)) = varint::read_varlong(data) {
        let mut out = Vec::new();
        varint::put_varlong(&mut out, value);
        assert_eq!(varint::varlong_len(value), out.len());
        assert!(out.len() <= used);
        assert_eq!(varint::read_varlong(&out).map(|(v, _)| v), Ok(value));
    }
}

/// The zstd level the first two bytes pick: every level `-10..=24` (the
/// zstd library's range past both ends, and 0) is reached, so levels the
/// encoder clamps and the ones it refuses are both exercised.
pub fn zstd_level_from(byte: u8) -> i32 {
    i32::from(byte % 35) - 10
}

/// Compresses the input after its first byte with zstd at the level the
/// first byte picks, through a reused `Compressor` (twice, so the second
/// frame is written with tables left from the first), and checks that our
/// decoder returns the input from each frame.
pub fn fuzz_compress_zstd(data: &[u8]) {
    use ferrokafka_protocol::compression::{decompress, Compression, Compressor};
    let Some((&level, input)) = data.split_first() else {
        return;
    };
    let level = zstd_level_from(level);
    let Ok(mut compressor) = Compressor::new(Compression::Zstd, Some(level)) else {
        assert!(!(-131_072..=22).contains(&level), "level {level} refused");
        return;
    };
    let half = &input[..input.len() / 2];
    for piece in [half, input] {
        let mut frame = Vec::new();
        compressor
            .compress(piece, &mut frame)
            .expect("zstd compression failed");
        // Room for the decoder's window copy besides the output.
        let limit = 2 * piece.len() + (1 << 20);
        let back = decompress(Compression::Zstd, &frame, limit).expect("our frame did not decode");
        assert!(
            back == piece,
            "round trip changed the data at level {level}"
        );
    }
}
