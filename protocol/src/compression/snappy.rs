//! Snappy in snappy-java's "xerial" framing, as the Java client writes it.
//!
//! ```text
//! 82 53 4E 41 50 50 59 00   magic: 0x82 "SNAPPY" 0x00
//! 00 00 00 01               version, i32 BE
//! 00 00 00 01               minimum compatible version, i32 BE
//! [i32 BE length][raw snappy block]   one per 32 KiB of input
//! ```
//!
//! Reading also accepts raw snappy (a stream not starting with the magic,
//! as some non-Java clients write) and xerial streams concatenated one after
//! another (a magic where a block length is expected), as snappy-java does.
//! The blocks' declared uncompressed lengths are summed and checked against
//! the limit before any memory is reserved (snappy verifies each block holds
//! exactly its declared length), and each block is checked again against
//! the remaining limit as it is decoded.

use super::{reserve_capped, Compression, CompressionError, OutputBuffer};

/// The xerial magic.
pub(super) const MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic, version 1, minimum compatible version 1.
const HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];
/// snappy-java's `SnappyOutputStream` default block size.
pub(super) const BLOCK_SIZE: usize = 32 * 1024;

const CODEC: Compression = Compression::Snappy;

pub(super) fn compress<B: OutputBuffer + ?Sized>(
    encoder: &mut snap::raw::Encoder,
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    let blocks = input.len().div_ceil(BLOCK_SIZE);
    out.out_reserve(HEADER.len() + input.len() + blocks * (4 + BLOCK_SIZE / 6 + 32));
    out.out_extend(&HEADER);
    for block in input.chunks(BLOCK_SIZE) {
        let pos = out.out_len();
        let max = snap::raw::max_compress_len(block.len());
        out.out_resize(pos + 4 + max);
        let written = encoder
            .compress(block, &mut out.out_slice_mut()[pos + 4..])
            .map_err(|e| CompressionError::CompressFailed {
                codec: CODEC,
                detail: e.to_string(),
            })?;
        // written <= max_compress_len(32 KiB), far below i32::MAX.
        let len = i32::try_from(written).map_err(|_| CompressionError::CompressFailed {
            codec: CODEC,
            detail: "block too large".into(),
        })?;
        out.out_slice_mut()[pos..pos + 4].copy_from_slice(&len.to_be_bytes());
        out.out_truncate(pos + 4 + written);
    }
    Ok(())
}

fn map_snap_error(e: snap::Error, limit: usize) -> CompressionError {
    match e {
        // snap refuses declared lengths above u32::MAX: beyond any limit.
        snap::Error::TooBig { .. } => CompressionError::LimitExceeded {
            codec: CODEC,
            limit,
        },
        other => CompressionError::corrupt(CODEC, other),
    }
}

/// Decodes one raw snappy block, appending it to `out`, with at most
/// `remaining` bytes allowed; `max_len` is the absolute length `out` may
/// reach in this decompression (for geometric growth).
fn decode_block(
    decoder: &mut snap::raw::Decoder,
    block: &[u8],
    remaining: usize,
    limit: usize,
    max_len: usize,
    out: &mut Vec<u8>,
) -> Result<usize, CompressionError> {
    let len = snap::raw::decompress_len(block).map_err(|e| map_snap_error(e, limit))?;
    if len > remaining {
        return Err(CompressionError::LimitExceeded {
            codec: CODEC,
            limit,
        });
    }
    let pos = out.len();
    reserve_capped(out, pos + len, max_len);
    out.resize(pos + len, 0);
    let written = decoder
        .decompress(block, &mut out[pos..])
        .map_err(|e| map_snap_error(e, limit))?;
    if written != len {
        return Err(CompressionError::corrupt(
            CODEC,
            format!("block declared {len} bytes but held {written}"),
        ));
    }
    Ok(len)
}

/// Sum of the uncompressed lengths a xerial stream's blocks declare, as far
/// as its framing parses (saturating).
fn declared_total(mut rest: &[u8]) -> usize {
    let mut total = 0usize;
    while !rest.is_empty() {
        if rest.starts_with(&MAGIC) {
            match rest.get(HEADER.len()..) {
                Some(next) => rest = next,
                None => break,
            }
            continue;
        }
        let Some((len_bytes, tail)) = rest.split_first_chunk::<4>() else {
            break;
        };
        let Ok(block_len) = usize::try_from(i32::from_be_bytes(*len_bytes)) else {
            break;
        };
        let Some((block, next)) = tail.split_at_checked(block_len) else {
            break;
        };
        total = total.saturating_add(snap::raw::decompress_len(block).unwrap_or(0));
        rest = next;
    }
    total
}

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    let mut decoder = snap::raw::Decoder::new();
    let start = out.len();
    let max_len = start.saturating_add(limit);
    if !input.starts_with(&MAGIC) {
        decode_block(&mut decoder, input, limit, limit, max_len, out)?;
        return Ok(());
    }
    // The blocks declare their lengths, and snappy checks each block holds
    // exactly its declared length: their sum is the output size. Refuse it
    // above the limit before decoding anything; else allocate it once.
    let declared = declared_total(input);
    if declared > limit {
        return Err(CompressionError::LimitExceeded {
            codec: CODEC,
            limit,
        });
    }
    reserve_capped(out, start + declared, max_len);
    let mut rest = input;
    let mut produced = 0usize;
    while !rest.is_empty() {
        if rest.starts_with(&MAGIC) {
            // A (possibly concatenated) stream header: magic, version,
            // minimum compatible version. The versions are not checked, as
            // in librdkafka: every writer uses 1.
            rest = rest.get(HEADER.len()..).ok_or_else(|| {
                CompressionError::corrupt(CODEC, "xerial header shorter than 16 bytes")
            })?;
            continue;
        }
        let Some((len_bytes, tail)) = rest.split_first_chunk::<4>() else {
            return Err(CompressionError::corrupt(
                CODEC,
                format!(
                    "{} trailing bytes where a block length was expected",
                    rest.len()
                ),
            ));
        };
        let block_len = i32::from_be_bytes(*len_bytes);
        let block_len = usize::try_from(block_len).map_err(|_| {
            CompressionError::corrupt(CODEC, format!("negative block length {block_len}"))
        })?;
        if block_len > tail.len() {
            return Err(CompressionError::corrupt(
                CODEC,
                format!(
                    "block length {block_len} is past the end of the data ({} bytes left)",
                    tail.len()
                ),
            ));
        }
        let (block, next) = tail.split_at(block_len);
        produced += decode_block(&mut decoder, block, limit - produced, limit, max_len, out)?;
        rest = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_block_layout_match_snappy_java() {
        let input = vec![b'a'; BLOCK_SIZE + 10];
        let mut out = Vec::new();
        compress(&mut snap::raw::Encoder::new(), &input, &mut out).unwrap();
        assert_eq!(&out[..16], &HEADER);
        // First block: exactly 32 KiB of input.
        let len1 = i32::from_be_bytes(out[16..20].try_into().unwrap()) as usize;
        let block1 = &out[20..20 + len1];
        assert_eq!(snap::raw::decompress_len(block1).unwrap(), BLOCK_SIZE);
        let off = 20 + len1;
        let len2 = i32::from_be_bytes(out[off..off + 4].try_into().unwrap()) as usize;
        let block2 = &out[off + 4..off + 4 + len2];
        assert_eq!(snap::raw::decompress_len(block2).unwrap(), 10);
        assert_eq!(off + 4 + len2, out.len());
    }

    #[test]
    fn raw_and_concatenated_streams_are_read() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello raw")
            .unwrap();
        let mut out = Vec::new();
        decompress(&raw, 100, &mut out).unwrap();
        assert_eq!(out, b"hello raw");

        let mut two = Vec::new();
        compress(&mut snap::raw::Encoder::new(), b"first,", &mut two).unwrap();
        compress(&mut snap::raw::Encoder::new(), b"second", &mut two).unwrap();
        let mut out = Vec::new();
        decompress(&two, 100, &mut out).unwrap();
        assert_eq!(out, b"first,second");
    }

    #[test]
    fn declared_lengths_are_checked_before_allocating() {
        // Raw block claiming u32::MAX bytes.
        let claim = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        let mut out = Vec::new();
        let err = decompress(&claim, 1 << 20, &mut out).unwrap_err();
        assert!(matches!(err, CompressionError::LimitExceeded { .. }));
        assert_eq!(out.capacity(), 0);
        // Varint past u32::MAX.
        let claim = [0xff, 0xff, 0xff, 0xff, 0x7f, 0x00];
        let err = decompress(&claim, 1 << 20, &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            CompressionError::LimitExceeded { .. } | CompressionError::Corrupt { .. }
        ));
    }

    #[test]
    fn truncated_xerial_streams_are_corrupt() {
        let mut out = Vec::new();
        compress(&mut snap::raw::Encoder::new(), b"some data here", &mut out).unwrap();
        for cut in [10, 17, out.len() - 1] {
            let err = decompress(&out[..cut], 100, &mut Vec::new()).unwrap_err();
            assert!(
                matches!(err, CompressionError::Corrupt { .. }),
                "{cut}: {err}"
            );
        }
        let mut neg = HEADER.to_vec();
        neg.extend_from_slice(&(-5i32).to_be_bytes());
        assert!(decompress(&neg, 100, &mut Vec::new()).is_err());
    }
}
