//! gzip (RFC 1952) on top of `flate2`'s pure-Rust deflate.
//!
//! Writing: one gzip member, deflated straight into the output buffer by a
//! reusable `flate2::Compress` (no intermediate copy). Reading: any number of
//! concatenated members (`MultiGzDecoder`), as Java's `GZIPInputStream`.

use flate2::{Compress, FlushCompress, Status};

use super::{read_capped, Compression, CompressionError, OutputBuffer};

/// Default deflate level: that of `java.util.zip.Deflater`.
const DEFAULT_LEVEL: u32 = 6;

/// Member header: magic, deflate, no flags, mtime 0, no extra flags, OS
/// "unknown".
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

pub(super) fn compress<B: OutputBuffer + ?Sized>(
    state: &mut Option<Compress>,
    level: Option<i32>,
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    let level = match level {
        None | Some(-1) => DEFAULT_LEVEL,
        Some(l) => u32::try_from(l).unwrap_or(DEFAULT_LEVEL),
    };
    let deflate =
        state.get_or_insert_with(|| Compress::new(flate2::Compression::new(level), false));
    deflate.reset();

    // ISIZE is the input length modulo 2^32 (RFC 1952 §2.3.1).
    let isize_field = (input.len() as u64 & 0xffff_ffff) as u32;
    let mut crc = flate2::Crc::new();
    crc.update(input);

    out.out_extend(&HEADER);
    // Deflate's worst case is a little above the input size; the first
    // chunk almost always suffices.
    let mut chunk = input.len() + input.len() / 64 + 64;
    let mut consumed = 0usize;
    loop {
        let pos = out.out_len();
        out.out_resize(pos + chunk);
        let before_in = deflate.total_in();
        let before_out = deflate.total_out();
        let status = deflate
            .compress(
                input.get(consumed..).unwrap_or_default(),
                &mut out.out_slice_mut()[pos..],
                FlushCompress::Finish,
            )
            .map_err(|e| CompressionError::CompressFailed {
                codec: Compression::Gzip,
                detail: e.to_string(),
            })?;
        let read = usize::try_from(deflate.total_in() - before_in).unwrap_or(usize::MAX);
        let written = usize::try_from(deflate.total_out() - before_out).unwrap_or(0);
        consumed = consumed.saturating_add(read);
        out.out_truncate(pos + written.min(chunk));
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                if read == 0 && written == 0 {
                    return Err(CompressionError::CompressFailed {
                        codec: Compression::Gzip,
                        detail: "deflate made no progress".into(),
                    });
                }
                chunk = 32 * 1024;
            }
        }
    }
    out.out_extend(&crc.sum().to_le_bytes());
    out.out_extend(&isize_field.to_le_bytes());
    Ok(())
}

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    if input.is_empty() {
        return Err(CompressionError::corrupt(
            Compression::Gzip,
            "empty input, expected a gzip member",
        ));
    }
    // ISIZE, the last member's length mod 2^32, sizes the output: exact for
    // the single member Kafka clients write. Deflate expands at most 1032:1,
    // which bounds what a lying trailer can make us reserve.
    let hint = input
        .last_chunk::<4>()
        .map_or(0, |t| u32::from_le_bytes(*t) as usize)
        .min(input.len().saturating_mul(1032));
    let mut decoder = flate2::bufread::MultiGzDecoder::new(input);
    read_capped(Compression::Gzip, &mut decoder, limit, hint, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn our_output_is_a_standard_gzip_member() {
        let input: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut state = None;
        let mut out = Vec::new();
        compress(&mut state, Some(9), &input, &mut out).unwrap();
        assert_eq!(&out[..3], &[0x1f, 0x8b, 8]);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, input);
        // The reused state gives the same bytes.
        let mut again = Vec::new();
        compress(&mut state, Some(9), &input, &mut again).unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn incompressible_and_empty_inputs() {
        let mut x = 0x1234_5678u32;
        let input: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for data in [&input[..], &[][..]] {
            let mut out = Vec::new();
            compress(&mut None, None, data, &mut out).unwrap();
            let mut back = Vec::new();
            decompress(&out, usize::MAX, &mut back).unwrap();
            assert_eq!(back, data);
        }
    }
}
