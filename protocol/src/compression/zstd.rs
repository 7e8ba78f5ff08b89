//! Zstandard through `ruzstd`.
//!
//! Writing: one frame at `ruzstd`'s `Fastest` level (about zstd level 1;
//! the only compressing level `ruzstd` implements), with a content
//! checksum. Reading: every frame in the input (skippable frames skipped),
//! each checked against the remaining limit:
//!
//! - a frame declaring a content size above the remaining limit is refused
//!   before decoding;
//! - a frame declaring a window larger than the remaining limit (at least
//!   128 KiB) gets its window descriptor lowered to just above the limit
//!   before `ruzstd` sees it, so `ruzstd` never reserves more than that for
//!   its window; a stream that stays within the limit cannot reference data
//!   further back, so its output is unchanged;
//! - output is read in bounded chunks and refused once it passes the limit.

use std::io::Read;

use ruzstd::decoding::{FrameDecoder, StreamingDecoder};
use ruzstd::encoding::CompressionLevel;

use super::{read_capped, Compression, CompressionError, OutputBuffer, WriteAdapter};

const CODEC: Compression = Compression::Zstd;
const MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// The largest block a frame may hold; windows are never lowered below it.
const MAX_BLOCK: u64 = 128 * 1024;

pub(super) fn compress<B: OutputBuffer + ?Sized>(
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    out.out_reserve(input.len() / 2 + 64);
    ruzstd::encoding::compress(input, WriteAdapter(out), CompressionLevel::Fastest);
    Ok(())
}

/// The window size a window descriptor byte stands for (zstd spec 3.1.1.1.2).
fn window_size(descriptor: u8) -> u64 {
    let exponent = u32::from(descriptor >> 3);
    let mantissa = u64::from(descriptor & 0x07);
    let base = 1u64 << (10 + exponent);
    base + (base / 8) * mantissa
}

/// The smallest window descriptor whose window is at least `target`.
fn descriptor_at_least(target: u64) -> u8 {
    (0..=u8::MAX)
        .find(|&d| window_size(d) >= target)
        .unwrap_or(u8::MAX)
}

fn corrupt(detail: impl std::fmt::Display) -> CompressionError {
    CompressionError::corrupt(CODEC, detail)
}

fn read_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    if input.is_empty() {
        return Err(corrupt("empty input, expected a zstd frame"));
    }
    let start = out.len();
    let mut decoder = FrameDecoder::new();
    // Windows are bounded below, before the decoder sees the frame header.
    decoder.set_max_window_size(u64::MAX);
    let mut rest = input;
    while !rest.is_empty() {
        let Some((magic, _)) = rest.split_first_chunk::<4>() else {
            return Err(corrupt(format!(
                "{} trailing bytes where a frame was expected",
                rest.len()
            )));
        };
        let magic = u32::from_le_bytes(*magic);
        if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            let size = rest
                .get(4..8)
                .map(read_le)
                .ok_or_else(|| corrupt("truncated skippable frame header"))?;
            let end = usize::try_from(size)
                .ok()
                .and_then(|s| s.checked_add(8))
                .filter(|&end| end <= rest.len())
                .ok_or_else(|| corrupt("skippable frame past the end of the data"))?;
            rest = &rest[end..];
            continue;
        }
        if magic != MAGIC {
            return Err(corrupt(format!(
                "bad frame magic {magic:#010x}, expected 0xfd2fb528"
            )));
        }
        let remaining = limit - (out.len() - start);
        rest = decode_frame(&mut decoder, rest, remaining, limit, out)?;
    }
    Ok(())
}

/// Decodes the frame at the start of `frame` (magic included), appending at
/// most `remaining` bytes; returns the input after the frame.
fn decode_frame<'a>(
    decoder: &mut FrameDecoder,
    frame: &'a [u8],
    remaining: usize,
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<&'a [u8], CompressionError> {
    let fhd = *frame
        .get(4)
        .ok_or_else(|| corrupt("truncated frame header"))?;
    let single_segment = fhd & 0x20 != 0;
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 0x03)];
    let fcs_len = match fhd >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let window_len = usize::from(!single_segment);
    let fcs_start = 5 + window_len + dict_len;
    let fcs_bytes = frame
        .get(fcs_start..fcs_start + fcs_len)
        .ok_or_else(|| corrupt("truncated frame header"))?;
    if fcs_len > 0 {
        let mut fcs = read_le(fcs_bytes);
        if fcs_len == 2 {
            fcs += 256;
        }
        if fcs > remaining as u64 {
            return Err(CompressionError::LimitExceeded {
                codec: CODEC,
                limit,
            });
        }
    }

    // The header prefix the decoder reads: magic, descriptor and, when the
    // window must be lowered, a patched window descriptor.
    let mut head = [0u8; 6];
    let mut patched = 0usize;
    if !single_segment {
        let declared = frame[5];
        let bound = (remaining as u64).max(MAX_BLOCK);
        if window_size(declared) > bound {
            let lowered = descriptor_at_least(bound);
            if window_size(lowered) < window_size(declared) {
                head.copy_from_slice(&frame[..6]);
                head[5] = lowered;
                patched = 6;
            }
        }
    }
    let mut source = (&head[..patched]).chain(&frame[patched..]);
    {
        let mut stream =
            StreamingDecoder::new_with_decoder(&mut source, &mut *decoder).map_err(corrupt)?;
        read_capped(CODEC, &mut stream, remaining, out).map_err(|e| match e {
            CompressionError::LimitExceeded { codec, .. } => {
                CompressionError::LimitExceeded { codec, limit }
            }
            other => other,
        })?;
    }
    if let (Some(stored), Some(computed)) = (
        decoder.get_checksum_from_data(),
        decoder.get_calculated_checksum(),
    ) {
        if stored != computed {
            return Err(corrupt(format!(
                "content checksum {stored:#010x} does not match the data ({computed:#010x})"
            )));
        }
    }
    let (_, after) = source.into_inner();
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_descriptors() {
        assert_eq!(window_size(0), 1024);
        assert_eq!(window_size(0x38), 128 * 1024);
        assert_eq!(window_size(0x39), 144 * 1024);
        assert_eq!(descriptor_at_least(128 * 1024), 0x38);
        assert_eq!(descriptor_at_least(128 * 1024 + 1), 0x39);
        assert_eq!(descriptor_at_least(1), 0);
    }

    #[test]
    fn round_trip_and_concatenated_frames() {
        let input: Vec<u8> = (0..300_000u32).map(|i| (i % 7 + i % 13) as u8).collect();
        let mut one = Vec::new();
        compress(&input, &mut one).unwrap();
        let mut back = Vec::new();
        decompress(&one, input.len(), &mut back).unwrap();
        assert_eq!(back, input);

        let mut two = one.clone();
        two.extend_from_slice(&[0x5f, 0x2a, 0x4d, 0x18, 1, 0, 0, 0, 0xaa]);
        two.extend_from_slice(&one);
        let mut back = Vec::new();
        decompress(&two, 2 * input.len(), &mut back).unwrap();
        assert_eq!(back.len(), 2 * input.len());
        let err = decompress(&two, 2 * input.len() - 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CompressionError::LimitExceeded { .. }));
    }

    #[test]
    fn damaged_frames_are_corrupt() {
        let mut frame = Vec::new();
        compress(b"hello hello hello hello hello", &mut frame).unwrap();
        let mut bad_sum = frame.clone();
        let n = bad_sum.len();
        bad_sum[n - 1] ^= 0xff;
        for bad in [
            &frame[..frame.len() - 5],
            &frame[..3],
            &bad_sum[..],
            b"garbage!",
        ] {
            let err = decompress(bad, 1000, &mut Vec::new()).unwrap_err();
            assert!(matches!(err, CompressionError::Corrupt { .. }), "{err}");
        }
    }
}
