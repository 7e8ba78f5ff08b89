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
//! - output is read in bounded chunks and refused once it passes the limit,
//!   into a buffer sized from the block headers (an upper bound, capped by
//!   the limit), so it is usually allocated once.
//!
//! Each thread keeps one decoder between calls (its tables and window
//! buffer are reused), unless the last call needed a window above 4 MiB.

use std::cell::RefCell;
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

/// Largest window a thread keeps a decoder for between calls (see
/// [`with_decoder`]): 4 MiB, above the 2 MiB window the Java producer's
/// default level declares, so a consumer thread retains at most about that.
const CACHE_MAX_WINDOW: u64 = 4 * 1024 * 1024;

thread_local! {
    /// One decoder per thread, reused across batches: `ruzstd` allocates a
    /// few dozen buffers when a decoder first sees a frame and reuses them
    /// after, so a consumer decoding batch after batch allocates them once.
    static DECODER: RefCell<Option<FrameDecoder>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's cached decoder (or a new one), then keeps
/// the decoder for the next call unless `f` reports it used a window above
/// [`CACHE_MAX_WINDOW`] (its buffers are then freed instead of kept).
fn with_decoder<R>(f: impl FnOnce(&mut FrameDecoder) -> (R, u64)) -> R {
    let cached = DECODER
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten();
    let mut decoder = cached.unwrap_or_default();
    // Windows are bounded below, before the decoder sees a frame header.
    decoder.set_max_window_size(u64::MAX);
    let (result, largest_window) = f(&mut decoder);
    if largest_window <= CACHE_MAX_WINDOW {
        let _ = DECODER.try_with(|slot| {
            if let Ok(mut s) = slot.try_borrow_mut() {
                *s = Some(decoder);
            }
        });
    }
    result
}

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    if input.is_empty() {
        return Err(corrupt("empty input, expected a zstd frame"));
    }
    with_decoder(|decoder| {
        let mut largest_window = 0;
        let result = decompress_frames(decoder, input, limit, out, &mut largest_window);
        (result, largest_window)
    })
}

fn decompress_frames(
    decoder: &mut FrameDecoder,
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
    largest_window: &mut u64,
) -> Result<(), CompressionError> {
    let start = out.len();
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
        rest = decode_frame(decoder, rest, remaining, limit, out, largest_window)?;
    }
    Ok(())
}

/// What a frame header says (zstd spec 3.1.1.1).
struct FrameHeader {
    /// Header length, magic included.
    len: usize,
    /// Declared content size, if any.
    content_size: Option<u64>,
    /// Window size: declared, or the content size for a single segment.
    window: u64,
    /// Whether a window descriptor byte is present (at offset 5).
    has_window_descriptor: bool,
}

fn parse_header(frame: &[u8]) -> Result<FrameHeader, CompressionError> {
    let truncated = || corrupt("truncated frame header");
    let fhd = *frame.get(4).ok_or_else(truncated)?;
    let single_segment = fhd & 0x20 != 0;
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 0x03)];
    let fcs_len = match fhd >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let fcs_start = 5 + usize::from(!single_segment) + dict_len;
    let len = fcs_start + fcs_len;
    let fcs_bytes = frame.get(fcs_start..len).ok_or_else(truncated)?;
    let content_size = (fcs_len > 0).then(|| {
        let fcs = read_le(fcs_bytes);
        if fcs_len == 2 {
            fcs + 256
        } else {
            fcs
        }
    });
    let window = if single_segment {
        content_size.unwrap_or(0)
    } else {
        window_size(frame[5])
    };
    Ok(FrameHeader {
        len,
        content_size,
        window,
        has_window_descriptor: !single_segment,
    })
}

/// An upper bound on a frame's output, from its block headers (each block
/// says its type and size; a compressed block regenerates at most
/// `min(window, 128 KiB)`), to size the output buffer. `None` when the
/// blocks do not parse: the decoder then reports what is wrong.
fn output_bound(frame: &[u8], header: &FrameHeader) -> Option<u64> {
    if let Some(size) = header.content_size {
        return Some(size);
    }
    let block_max = header.window.min(MAX_BLOCK);
    let mut pos = header.len;
    let mut bound = 0u64;
    loop {
        let h = frame.get(pos..pos + 3)?;
        let h = u32::from(h[0]) | u32::from(h[1]) << 8 | u32::from(h[2]) << 16;
        let size = usize::try_from(h >> 3).ok()?;
        pos += 3;
        match (h >> 1) & 0x03 {
            0 => {
                bound += size as u64;
                pos = pos.checked_add(size)?;
            }
            1 => {
                bound += size as u64;
                pos += 1;
            }
            2 => {
                bound += block_max;
                pos = pos.checked_add(size)?;
            }
            _ => return None,
        }
        if h & 1 == 1 {
            return Some(bound);
        }
        if pos > frame.len() {
            return None;
        }
    }
}

/// Decodes the frame at the start of `frame` (magic included), appending at
/// most `remaining` bytes; returns the input after the frame.
fn decode_frame<'a>(
    decoder: &mut FrameDecoder,
    frame: &'a [u8],
    remaining: usize,
    limit: usize,
    out: &mut Vec<u8>,
    largest_window: &mut u64,
) -> Result<&'a [u8], CompressionError> {
    let header = parse_header(frame)?;
    if header
        .content_size
        .is_some_and(|size| size > remaining as u64)
    {
        return Err(CompressionError::LimitExceeded {
            codec: CODEC,
            limit,
        });
    }

    // The header prefix the decoder reads: magic, descriptor and, when the
    // window must be lowered, a patched window descriptor.
    let mut head = [0u8; 6];
    let mut patched = 0usize;
    let mut window = header.window;
    if header.has_window_descriptor {
        let bound = (remaining as u64).max(MAX_BLOCK);
        if window > bound {
            let lowered = descriptor_at_least(bound);
            if window_size(lowered) < window {
                head.copy_from_slice(&frame[..6]);
                head[5] = lowered;
                patched = 6;
                window = window_size(lowered);
            }
        }
    }
    *largest_window = (*largest_window).max(window);
    let hint = output_bound(frame, &header).map_or(0, |b| usize::try_from(b).unwrap_or(usize::MAX));

    // Initialize the decoder on the header alone first: on a new decoder
    // the second initialization (inside `StreamingDecoder`) then reserves
    // the whole window at once, instead of growing it by copies that would
    // briefly hold two windows.
    let header_only = frame.get(patched..header.len).unwrap_or_default();
    decoder
        .init((&head[..patched]).chain(header_only))
        .map_err(corrupt)?;
    let mut source = (&head[..patched]).chain(&frame[patched..]);
    {
        let mut stream =
            StreamingDecoder::new_with_decoder(&mut source, &mut *decoder).map_err(corrupt)?;
        read_capped(CODEC, &mut stream, remaining, hint, out).map_err(|e| match e {
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
