//! LZ4 frame format (<https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md>),
//! framed here and compressed block by block with `lz4_flex`.
//!
//! We write what Kafka's Java `KafkaLZ4BlockOutputStream` writes: FLG `0x60`
//! (version 1, independent blocks, no checksums, no content size), BD `0x40`
//! (64 KiB blocks), and the header checksum computed over FLG and BD only
//! (KIP-57; Kafka before 0.10 also hashed the magic). Incompressible blocks
//! are stored uncompressed (high bit of the block size set).
//!
//! Our reader decodes each block straight into the output buffer, checks
//! every length against the frame's block maximum and the remaining limit,
//! and verifies the header checksum, block checksums and content checksum
//! when present. Linked blocks (not written by Kafka clients, but valid) are
//! decoded with the previous 64 KiB of output as dictionary.

use lz4_flex::block::{CompressTable, DecompressError};

use super::{reserve_capped, Compression, CompressionError, OutputBuffer};

const CODEC: Compression = Compression::Lz4;
const MAGIC: u32 = 0x184D_2204;
const LEGACY_MAGIC: u32 = 0x184C_2102;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// Block size we write: 64 KiB, as the Java client.
const BLOCK_SIZE: usize = 64 * 1024;
/// FLG: version 01, block independence.
const FLG_WRITTEN: u8 = 0x60;
/// BD: block maximum size code 4 (64 KiB).
const BD_WRITTEN: u8 = 0x40;
/// Window of linked blocks.
const WINDOW: usize = 64 * 1024;
const UNCOMPRESSED_BIT: u32 = 0x8000_0000;

pub(super) fn compress<B: OutputBuffer + ?Sized>(
    table: &mut CompressTable,
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    let blocks = input.len().div_ceil(BLOCK_SIZE);
    out.out_reserve(7 + input.len() + blocks * 4 + 4);
    let hc = header_checksum(&[FLG_WRITTEN, BD_WRITTEN]);
    out.out_extend(&MAGIC.to_le_bytes());
    out.out_extend(&[FLG_WRITTEN, BD_WRITTEN, hc]);
    for block in input.chunks(BLOCK_SIZE) {
        let pos = out.out_len();
        let max = lz4_flex::block::get_maximum_output_size(block.len());
        out.out_resize(pos + 4 + max);
        let written = lz4_flex::block::compress_into_with_table(
            block,
            &mut out.out_slice_mut()[pos + 4..],
            table,
        )
        .map_err(|e| CompressionError::CompressFailed {
            codec: CODEC,
            detail: e.to_string(),
        })?;
        // Both lengths are at most 64 KiB + overhead, far below 2^31.
        if written < block.len() {
            out.out_slice_mut()[pos..pos + 4].copy_from_slice(&(written as u32).to_le_bytes());
            out.out_truncate(pos + 4 + written);
        } else {
            let header = block.len() as u32 | UNCOMPRESSED_BIT;
            out.out_truncate(pos);
            out.out_extend(&header.to_le_bytes());
            out.out_extend(block);
        }
    }
    out.out_extend(&0u32.to_le_bytes());
    Ok(())
}

/// Reads a little-endian u32 from the front of `rest`, advancing it.
fn take_u32(rest: &mut &[u8], what: &str) -> Result<u32, CompressionError> {
    let Some((bytes, tail)) = rest.split_first_chunk::<4>() else {
        return Err(CompressionError::corrupt(
            CODEC,
            format!("truncated {what} ({} of 4 bytes)", rest.len()),
        ));
    };
    *rest = tail;
    Ok(u32::from_le_bytes(*bytes))
}

/// Takes `n` bytes from the front of `rest`, advancing it.
fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], CompressionError> {
    if n > rest.len() {
        return Err(CompressionError::corrupt(
            CODEC,
            format!("truncated {what} ({} of {n} bytes)", rest.len()),
        ));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// The frame descriptor's HC byte: second byte of xxh32 over the
/// descriptor (FLG through the optional fields, excluding the magic).
fn header_checksum(descriptor: &[u8]) -> u8 {
    (xxh32(descriptor, 0) >> 8) as u8
}

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    if input.is_empty() {
        return Err(CompressionError::corrupt(
            CODEC,
            "empty input, expected an lz4 frame",
        ));
    }
    let start = out.len();
    let max_len = start.saturating_add(limit);
    let mut rest = input;
    while !rest.is_empty() {
        let magic = take_u32(&mut rest, "frame magic")?;
        if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            let size = take_u32(&mut rest, "skippable frame size")?;
            take(&mut rest, size as usize, "skippable frame")?;
            continue;
        }
        if magic == LEGACY_MAGIC {
            return Err(CompressionError::corrupt(
                CODEC,
                "legacy lz4 frame format, which Kafka never writes",
            ));
        }
        if magic != MAGIC {
            return Err(CompressionError::corrupt(
                CODEC,
                format!("bad frame magic {magic:#010x}, expected 0x184d2204"),
            ));
        }
        decode_frame(&mut rest, limit, max_len, start, out)?;
    }
    Ok(())
}

/// Decodes one frame after its magic, advancing `rest` past it.
fn decode_frame(
    rest: &mut &[u8],
    limit: usize,
    max_len: usize,
    start: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    let descriptor_start = *rest;
    let flags = take(rest, 2, "frame descriptor")?;
    let (flg, bd) = (flags[0], flags[1]);
    if flg >> 6 != 1 {
        return Err(CompressionError::corrupt(
            CODEC,
            format!("unsupported frame version {}", flg >> 6),
        ));
    }
    if flg & 0x02 != 0 || bd & 0x8F != 0 {
        return Err(CompressionError::corrupt(
            CODEC,
            "reserved bits set in the frame descriptor",
        ));
    }
    if flg & 0x01 != 0 {
        return Err(CompressionError::corrupt(
            CODEC,
            "frame needs a dictionary, which Kafka never uses",
        ));
    }
    let independent = flg & 0x20 != 0;
    let block_checksums = flg & 0x10 != 0;
    let has_content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let block_max: usize = match (bd >> 4) & 0x07 {
        4 => 64 * 1024,
        5 => 256 * 1024,
        6 => 1024 * 1024,
        7 => 4 * 1024 * 1024,
        code => {
            return Err(CompressionError::corrupt(
                CODEC,
                format!("invalid block maximum size code {code}"),
            ))
        }
    };
    let content_size = if has_content_size {
        let bytes = take(rest, 8, "content size")?;
        let mut le = [0u8; 8];
        le.copy_from_slice(bytes);
        Some(u64::from_le_bytes(le))
    } else {
        None
    };
    let descriptor_len = descriptor_start.len() - rest.len();
    let hc = take(rest, 1, "header checksum")?[0];
    let expected_hc = header_checksum(&descriptor_start[..descriptor_len]);
    if hc != expected_hc {
        return Err(CompressionError::corrupt(
            CODEC,
            format!(
                "frame header checksum {hc:#04x} does not match {expected_hc:#04x} \
                 (a pre-0.10 Kafka client wrote it, see KIP-57, or the data is damaged)"
            ),
        ));
    }
    let frame_start = out.len();
    let remaining_at_start = limit - (frame_start - start);
    let bound = match content_size {
        Some(size) if size > remaining_at_start as u64 => {
            return Err(CompressionError::LimitExceeded {
                codec: CODEC,
                limit,
            });
        }
        Some(size) => size as usize,
        None => output_bound(rest, block_max, block_checksums),
    };
    // One allocation for the whole frame when the bound is right (it is
    // exact but for the last block's unused room).
    reserve_capped(out, frame_start + bound.min(remaining_at_start), max_len);

    loop {
        let header = take_u32(rest, "block size")?;
        if header == 0 {
            break;
        }
        let stored = header & UNCOMPRESSED_BIT != 0;
        let len = (header & !UNCOMPRESSED_BIT) as usize;
        if len > block_max {
            return Err(CompressionError::corrupt(
                CODEC,
                format!("block of {len} bytes exceeds the frame's block maximum {block_max}"),
            ));
        }
        let data = take(rest, len, "block")?;
        if block_checksums {
            let expected = take_u32(rest, "block checksum")?;
            if xxh32(data, 0) != expected {
                return Err(CompressionError::corrupt(CODEC, "block checksum mismatch"));
            }
        }
        let pos = out.len();
        let remaining = max_len - pos;
        if stored {
            if len > remaining {
                return Err(CompressionError::LimitExceeded {
                    codec: CODEC,
                    limit,
                });
            }
            reserve_capped(out, pos + len, max_len);
            out.extend_from_slice(data);
            continue;
        }
        let room = block_max.min(remaining);
        reserve_capped(out, pos + room, max_len);
        out.resize(pos + room, 0);
        let result = if independent || pos == frame_start {
            lz4_flex::block::decompress_into(data, &mut out[pos..])
        } else {
            let (head, tail) = out.split_at_mut(pos);
            let dict_start = pos.saturating_sub(WINDOW).max(frame_start);
            lz4_flex::block::decompress_into_with_dict(data, tail, &head[dict_start..])
        };
        match result {
            Ok(n) => out.truncate(pos + n),
            Err(DecompressError::OutputTooSmall { .. }) if room < block_max => {
                out.truncate(pos);
                return Err(CompressionError::LimitExceeded {
                    codec: CODEC,
                    limit,
                });
            }
            Err(e) => {
                out.truncate(pos);
                return Err(CompressionError::corrupt(CODEC, e));
            }
        }
    }
    if content_checksum {
        let expected = take_u32(rest, "content checksum")?;
        if xxh32(&out[frame_start..], 0) != expected {
            return Err(CompressionError::corrupt(
                CODEC,
                "content checksum mismatch",
            ));
        }
    }
    if let Some(size) = content_size {
        let got = (out.len() - frame_start) as u64;
        if got != size {
            return Err(CompressionError::corrupt(
                CODEC,
                format!("frame declared {size} bytes of content but held {got}"),
            ));
        }
    }
    Ok(())
}

/// An upper bound on a frame's output from its block headers: stored
/// blocks count their length, compressed ones the block maximum. Stops at
/// the end mark or at the first header that does not fit.
fn output_bound(mut blocks: &[u8], block_max: usize, block_checksums: bool) -> usize {
    let mut bound = 0usize;
    while let Some((header, rest)) = blocks.split_first_chunk::<4>() {
        let header = u32::from_le_bytes(*header);
        if header == 0 {
            break;
        }
        let len = (header & !UNCOMPRESSED_BIT) as usize;
        let produced = if header & UNCOMPRESSED_BIT != 0 {
            len.min(block_max)
        } else {
            block_max
        };
        bound = bound.saturating_add(produced);
        let skip = len.saturating_add(if block_checksums { 4 } else { 0 });
        match rest.get(skip..) {
            Some(next) => blocks = next,
            None => break,
        }
    }
    bound
}

const P1: u32 = 0x9E37_79B1;
const P2: u32 = 0x85EB_CA77;
const P3: u32 = 0xC2B2_AE3D;
const P4: u32 = 0x27D4_EB2F;
const P5: u32 = 0x1656_67B1;

#[inline]
fn read_le32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_le_bytes(w)
}

#[inline]
fn round(acc: u32, lane: u32) -> u32 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(13)
        .wrapping_mul(P1)
}

/// XXH32 (the checksum of the LZ4 frame format).
pub(super) fn xxh32(data: &[u8], seed: u32) -> u32 {
    let mut h: u32;
    let mut rest = data;
    if data.len() >= 16 {
        let mut v1 = seed.wrapping_add(P1).wrapping_add(P2);
        let mut v2 = seed.wrapping_add(P2);
        let mut v3 = seed;
        let mut v4 = seed.wrapping_sub(P1);
        let mut stripes = data.chunks_exact(16);
        for s in &mut stripes {
            v1 = round(v1, read_le32(&s[0..]));
            v2 = round(v2, read_le32(&s[4..]));
            v3 = round(v3, read_le32(&s[8..]));
            v4 = round(v4, read_le32(&s[12..]));
        }
        rest = stripes.remainder();
        h = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
    } else {
        h = seed.wrapping_add(P5);
    }
    // The length is added modulo 2^32 by definition.
    h = h.wrapping_add(data.len() as u32);
    let mut words = rest.chunks_exact(4);
    for w in &mut words {
        h = h.wrapping_add(read_le32(w).wrapping_mul(P3));
        h = h.rotate_left(17).wrapping_mul(P4);
    }
    for &b in words.remainder() {
        h = h.wrapping_add(u32::from(b).wrapping_mul(P5));
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn xxh32_known_vectors() {
        assert_eq!(xxh32(b"", 0), 0x02CC_5D05);
        assert_eq!(xxh32(b"a", 0), 0x550D_7456);
        assert_eq!(xxh32(b"abc", 0), 0x32D1_53FF);
        assert_eq!(
            xxh32(b"Nobody inspects the spammish repetition", 0),
            0xE229_3B2F
        );
        // KIP-57 header: FLG 0x60, BD 0x40 -> HC 0x82.
        assert_eq!(header_checksum(&[0x60, 0x40]), 0x82);
    }

    #[test]
    fn header_matches_java_and_lz4_flex_reads_it() {
        let input: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
        let mut out = Vec::new();
        compress(&mut CompressTable::large(), &input, &mut out).unwrap();
        assert_eq!(&out[..7], &[0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82]);
        let mut back = Vec::new();
        lz4_flex::frame::FrameDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, input);
    }

    #[test]
    fn reads_lz4_flex_frames_with_every_option() {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        let input: Vec<u8> = (0..700_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 29) as u8)
            .collect();
        for mode in [BlockMode::Independent, BlockMode::Linked] {
            for size in [BlockSize::Max64KB, BlockSize::Max256KB, BlockSize::Max4MB] {
                for checks in [false, true] {
                    let info = FrameInfo::new()
                        .block_mode(mode)
                        .block_size(size)
                        .block_checksums(checks)
                        .content_checksum(checks)
                        .content_size(checks.then_some(input.len() as u64));
                    let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
                    enc.write_all(&input).unwrap();
                    let frame = enc.finish().unwrap();
                    let mut out = Vec::new();
                    decompress(&frame, input.len(), &mut out).unwrap();
                    assert_eq!(out, input, "{mode:?} {size:?} {checks}");
                    let err = decompress(&frame, input.len() - 1, &mut Vec::new()).unwrap_err();
                    assert!(matches!(err, CompressionError::LimitExceeded { .. }));
                }
            }
        }
    }

    #[test]
    fn incompressible_blocks_are_stored() {
        let mut x = 88_172_645_463_325_252u64;
        let input: Vec<u8> = (0..150_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut out = Vec::new();
        compress(&mut CompressTable::large(), &input, &mut out).unwrap();
        let first = u32::from_le_bytes(out[7..11].try_into().unwrap());
        assert_ne!(first & UNCOMPRESSED_BIT, 0);
        let mut back = Vec::new();
        decompress(&out, usize::MAX, &mut back).unwrap();
        assert_eq!(back, input);
    }

    #[test]
    fn damaged_frames_are_corrupt() {
        let mut out = Vec::new();
        compress(&mut CompressTable::large(), &[5u8; 1000], &mut out).unwrap();
        let mut bad_hc = out.clone();
        bad_hc[6] ^= 1;
        let mut bad_magic = out.clone();
        bad_magic[0] ^= 1;
        for bad in [
            &bad_hc[..],
            &bad_magic[..],
            &out[..out.len() - 2],
            &out[..5],
        ] {
            let err = decompress(bad, 10_000, &mut Vec::new()).unwrap_err();
            assert!(matches!(err, CompressionError::Corrupt { .. }), "{err}");
        }
        // Frames may be concatenated and preceded by skippable frames.
        let mut two = vec![0x50, 0x2A, 0x4D, 0x18, 2, 0, 0, 0, 9, 9];
        two.extend_from_slice(&out);
        two.extend_from_slice(&out);
        let mut back = Vec::new();
        decompress(&two, 10_000, &mut back).unwrap();
        assert_eq!(back, vec![5u8; 2000]);
    }
}
