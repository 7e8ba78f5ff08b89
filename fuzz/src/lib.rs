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
