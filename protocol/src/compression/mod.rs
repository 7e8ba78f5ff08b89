//! Record batch compression: gzip, snappy, lz4 and zstd, in pure Rust.
//!
//! Kafka compresses the *records region* of a batch as one unit and names
//! the codec in bits 0..=2 of the batch attributes ([`Compression`]). This
//! module turns such a region into bytes and back:
//!
//! - [`compress`] / [`Compressor`] write exactly what the Java client writes
//!   (see each codec below), so brokers and other clients read it;
//! - [`decompress`] / [`decompress_into`] read what any Kafka client writes,
//!   with a hard cap on the decompressed size, so a tiny hostile batch cannot
//!   make the consumer allocate gigabytes.
//!
//! # Wire formats
//!
//! | codec  | written as | also read |
//! |--------|------------|-----------|
//! | gzip   | one gzip member (RFC 1952), deflate at the requested level | multi-member streams, as Java's `GZIPInputStream` |
//! | snappy | snappy-java "xerial" framing: magic `82 'SNAPPY' 00`, version 1, min-compatible 1, then `[i32 BE length][raw snappy block]` per 32 KiB of input | raw snappy (no magic), concatenated xerial streams |
//! | lz4    | LZ4 frame (magic `04 22 4D 18`), independent 64 KiB blocks, no checksums, correct header checksum (KIP-57): header bytes `04 22 4D 18 60 40 82` as Java's `KafkaLZ4BlockOutputStream` | linked blocks, block and content checksums, content size, concatenated and skippable frames |
//! | zstd   | one zstd frame from `zrip-encode` with the content size and no content checksum, as the Java producer (zstd-jni) and librdkafka write it | concatenated and skippable frames, content checksum verified when present |
//!
//! # Levels
//!
//! `level: None` means the codec's default. Valid levels follow Kafka's
//! producer configs (`compression.<codec>.level`, KIP-390):
//!
//! - gzip: `1..=9`, or `-1` for the default (6, as `java.util.zip.Deflater`).
//! - lz4: `1..=17` is accepted but has no effect: `lz4_flex` has a single
//!   (fast) level, equivalent to Java's level 1..=2. The output is valid lz4.
//! - zstd: `-131072..=22`, the zstd library's levels, as the Java producer
//!   takes them; `None` and 0 are its default, 3. Levels `-7..=4` are
//!   written with zstd's own strategy and parameters for that level (by
//!   `zrip-encode`, so output sizes are close to the C library's). Levels
//!   5 to 22 are written as level 4, the strongest `zrip-encode` has, and
//!   levels below -7 as -7: the output is valid zstd for any reader, only
//!   its size differs from what the C library would write at that level.
//! - snappy and none: no levels; `Some(_)` is a [`CompressionError::InvalidLevel`].
//!
//! # Decompression limit
//!
//! Every decompression takes a `limit` in bytes (the consumer's
//! `max_decompressed_bytes`; [`DEFAULT_MAX_DECOMPRESSED_BYTES`] = 256 MiB
//! unless configured). Output beyond it is refused with
//! [`CompressionError::LimitExceeded`] as soon as the output passes the
//! limit, and sizes a stream *declares* are checked against the limit
//! before anything is allocated for them: snappy block lengths (their sum
//! is refused upfront), lz4 and zstd content sizes.
//!
//! The output buffer is sized once from what the stream says about its
//! size, capped by the limit and by what the input could really expand to:
//! gzip's trailer (at most 1032× the input), snappy's declared lengths,
//! lz4's and zstd's block headers. If that is short it grows geometrically,
//! never past `limit + 1` bytes. So the peak heap of a decompression is the
//! output buffer (at most `limit + 1` bytes) plus the codec's working
//! memory:
//!
//! - gzip: the inflate state, about 45 KiB;
//! - snappy: nothing (blocks are decoded straight into the output);
//! - lz4: nothing (our own frame reader decodes each block straight into
//!   the output);
//! - zstd: `ruzstd` keeps its own copy of the last *window* of output, and
//!   that copy is charged against the same limit: output plus window
//!   memory never exceed `limit` (window memory up to about 384 KiB, what
//!   a one-block window takes, is counted with the working memory instead).
//!   Declared windows are cut to what the frame's output can reach, and, if
//!   window and output still do not fit together, capped; a frame that
//!   needs more than the limit leaves is refused with
//!   [`CompressionError::LimitExceeded`]. In practice: a Kafka batch of
//!   1 MiB written with the Java producer's default 2 MiB window needs
//!   about 1 MiB of output plus 1.25 MiB of window; under the default
//!   256 MiB cap a zstd batch decompressing to over about 128 MiB (with a
//!   window as large as its output) may be refused where another codec's
//!   would not. The decoder's tables and block buffers add a few hundred
//!   KiB. Each thread keeps its zstd decoder (tables and window buffer) for
//!   the next batch when the window was at most 4 MiB.
//!
//! Nothing in this module panics on any input.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use bytes::BytesMut;

mod gzip;
mod lz4;
mod snappy;
mod zstd;

/// Default cap on the decompressed size of one record batch: 256 MiB.
///
/// A broker never sends a compressed batch larger than its
/// `message.max.bytes` (1 MiB by default, 100 MiB is a common maximum), and
/// realistic compression ratios keep the decompressed size well below this
/// cap. Raise it for trusted topics holding very large, very compressible
/// batches.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 256 * 1024 * 1024;

/// A record batch compression codec, as stored in bits 0..=2 of the batch
/// attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (attribute value 0).
    #[default]
    None,
    /// gzip (attribute value 1).
    Gzip,
    /// Snappy, in snappy-java's xerial framing (attribute value 2).
    Snappy,
    /// LZ4 frame format (attribute value 3).
    Lz4,
    /// Zstandard (attribute value 4).
    Zstd,
}

impl Compression {
    /// Mask of the codec bits in the record batch attributes.
    pub const ATTRIBUTE_MASK: i16 = 0x07;

    /// Every codec, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec id as written in the batch attributes (0..=4).
    #[inline]
    pub const fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec for an id (0..=4); any other id is
    /// [`CompressionError::UnknownCodec`].
    #[inline]
    pub const fn from_id(id: u8) -> Result<Self, CompressionError> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(CompressionError::UnknownCodec { id }),
        }
    }

    /// The codec named by bits 0..=2 of record batch attributes.
    #[inline]
    pub const fn from_attributes(attributes: i16) -> Result<Self, CompressionError> {
        // The mask keeps 0..=7, so the cast is lossless.
        Self::from_id((attributes & Self::ATTRIBUTE_MASK) as u8)
    }

    /// The name Kafka uses in `compression.type`: `none`, `gzip`, `snappy`,
    /// `lz4` or `zstd`.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Checks a compression level for this codec (see the module docs for
    /// the valid ranges); `None` is always valid.
    pub fn validate_level(self, level: Option<i32>) -> Result<(), CompressionError> {
        let Some(level) = level else {
            return Ok(());
        };
        let (ok, valid) = match self {
            Compression::None => (false, "none (no compression has no levels; pass None)"),
            Compression::Snappy => (false, "none (snappy has no levels; pass None)"),
            Compression::Gzip => (level == -1 || (1..=9).contains(&level), "1..=9 or -1"),
            Compression::Lz4 => ((1..=17).contains(&level), "1..=17"),
            Compression::Zstd => ((-131_072..=22).contains(&level), "-131072..=22"),
        };
        if ok {
            Ok(())
        } else {
            Err(CompressionError::InvalidLevel {
                codec: self,
                level,
                valid,
            })
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<u8> for Compression {
    type Error = CompressionError;

    fn try_from(id: u8) -> Result<Self, Self::Error> {
        Self::from_id(id)
    }
}

impl From<Compression> for u8 {
    fn from(codec: Compression) -> u8 {
        codec.id()
    }
}

impl FromStr for Compression {
    type Err = CompressionError;

    /// Parses a `compression.type` value (`none`, `gzip`, `snappy`, `lz4`,
    /// `zstd`; ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| CompressionError::UnknownName { name: s.to_owned() })
    }
}

/// What went wrong while compressing or decompressing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressionError {
    /// The batch attributes name a codec id this client does not know.
    #[error(
        "unknown compression codec id {id} in the record batch attributes (Kafka defines \
         0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd); the batch was written by a newer or broken \
         producer and cannot be read"
    )]
    UnknownCodec {
        /// The codec id found (bits 0..=2 of the attributes).
        id: u8,
    },
    /// A `compression.type` string named no codec.
    #[error("unknown compression type {name:?}; use one of none, gzip, snappy, lz4, zstd")]
    UnknownName {
        /// The string given.
        name: String,
    },
    /// The data decompresses (or declares it decompresses) to more than the
    /// configured limit; for zstd, its output plus the window the decoder
    /// keeps would (see the module docs).
    #[error(
        "{codec} data needs more than the limit of {limit} bytes to decompress (its output, \
         plus for zstd the window the decoder keeps), so it was refused (a decompression bomb, \
         or a very large batch); raise max_decompressed_bytes if the topic is trusted and holds \
         such batches"
    )]
    LimitExceeded {
        /// The codec of the refused data.
        codec: Compression,
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// The compressed data is malformed.
    #[error(
        "corrupt {codec} data: {detail}; the batch cannot be decompressed (fetch it again, or \
         skip it if the log itself is damaged)"
    )]
    Corrupt {
        /// The codec of the malformed data.
        codec: Compression,
        /// What the decoder found wrong.
        detail: String,
    },
    /// A compression level outside the codec's range.
    #[error("invalid {codec} compression level {level}; valid levels are {valid}")]
    InvalidLevel {
        /// The codec the level was given for.
        codec: Compression,
        /// The level given.
        level: i32,
        /// The valid range, for the message.
        valid: &'static str,
    },
    /// Compressing failed; with in-memory buffers this only happens for an
    /// input too large for the codec's framing.
    #[error("{codec} compression failed: {detail}; split the input into smaller batches")]
    CompressFailed {
        /// The codec that failed.
        codec: Compression,
        /// The underlying error.
        detail: String,
    },
}

impl CompressionError {
    pub(crate) fn corrupt(codec: Compression, detail: impl fmt::Display) -> Self {
        CompressionError::Corrupt {
            codec,
            detail: detail.to_string(),
        }
    }
}

/// A growable byte buffer that compressed output can be appended to.
///
/// Implemented for `Vec<u8>` and [`bytes::BytesMut`], so a producer can
/// compress straight into the buffer it sends. Every method appends to or
/// edits the buffer's tail; [`compress`] never touches bytes that were in the
/// buffer before the call.
pub trait OutputBuffer {
    /// Number of initialized bytes in the buffer.
    fn out_len(&self) -> usize;
    /// Makes room for at least `additional` more bytes.
    fn out_reserve(&mut self, additional: usize);
    /// Appends `data`.
    fn out_extend(&mut self, data: &[u8]);
    /// Grows (zero-filling) or shrinks the buffer to `new_len` bytes.
    fn out_resize(&mut self, new_len: usize);
    /// Shortens the buffer to `len` bytes (no effect if it is shorter).
    fn out_truncate(&mut self, len: usize);
    /// The initialized bytes.
    fn out_slice_mut(&mut self) -> &mut [u8];
}

impl OutputBuffer for Vec<u8> {
    #[inline]
    fn out_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn out_reserve(&mut self, additional: usize) {
        self.reserve(additional);
    }
    #[inline]
    fn out_extend(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }
    #[inline]
    fn out_resize(&mut self, new_len: usize) {
        self.resize(new_len, 0);
    }
    #[inline]
    fn out_truncate(&mut self, len: usize) {
        self.truncate(len);
    }
    #[inline]
    fn out_slice_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl OutputBuffer for BytesMut {
    #[inline]
    fn out_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn out_reserve(&mut self, additional: usize) {
        self.reserve(additional);
    }
    #[inline]
    fn out_extend(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }
    #[inline]
    fn out_resize(&mut self, new_len: usize) {
        self.resize(new_len, 0);
    }
    #[inline]
    fn out_truncate(&mut self, len: usize) {
        self.truncate(len);
    }
    #[inline]
    fn out_slice_mut(&mut self) -> &mut [u8] {
        &mut self[..]
    }
}

/// A reusable compressor for one codec and level.
///
/// Keeps the codec's working state (hash tables, deflate state) between
/// calls, so a producer compressing batch after batch allocates it once.
/// zstd's encoder (about 1 MiB of tables at the default level) is kept per
/// thread instead, shared by every compressor on that thread.
/// [`compress`] is the one-shot form.
pub struct Compressor {
    codec: Compression,
    level: Option<i32>,
    gzip: Option<flate2::Compress>,
    snappy: Option<snap::raw::Encoder>,
    lz4: Option<lz4_flex::block::CompressTable>,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("codec", &self.codec)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for `codec` at `level` (`None` = the codec's default;
    /// see the module docs for valid levels).
    pub fn new(codec: Compression, level: Option<i32>) -> Result<Self, CompressionError> {
        codec.validate_level(level)?;
        Ok(Compressor {
            codec,
            level,
            gzip: None,
            snappy: None,
            lz4: None,
        })
    }

    /// The codec this compressor writes.
    pub fn codec(&self) -> Compression {
        self.codec
    }

    /// The level this compressor was created with.
    pub fn level(&self) -> Option<i32> {
        self.level
    }

    /// Appends the compressed form of `input` to `out`.
    ///
    /// [`Compression::None`] appends `input` unchanged. On error `out` is left
    /// as it was.
    pub fn compress<B: OutputBuffer + ?Sized>(
        &mut self,
        input: &[u8],
        out: &mut B,
    ) -> Result<(), CompressionError> {
        let start = out.out_len();
        let result = match self.codec {
            Compression::None => {
                out.out_extend(input);
                Ok(())
            }
            Compression::Gzip => gzip::compress(&mut self.gzip, self.level, input, out),
            Compression::Snappy => snappy::compress(
                self.snappy.get_or_insert_with(snap::raw::Encoder::new),
                input,
                out,
            ),
            Compression::Lz4 => lz4::compress(
                self.lz4
                    .get_or_insert_with(lz4_flex::block::CompressTable::large),
                input,
                out,
            ),
            Compression::Zstd => zstd::compress_at(self.level, input, out),
        };
        if result.is_err() {
            out.out_truncate(start);
        }
        result
    }
}

/// Appends the compressed form of `input` to `out` (one-shot
/// [`Compressor::compress`]).
///
/// `level: None` is the codec's default; see the module docs for valid
/// levels. On error `out` is left as it was.
pub fn compress<B: OutputBuffer + ?Sized>(
    codec: Compression,
    level: Option<i32>,
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    Compressor::new(codec, level)?.compress(input, out)
}

/// Decompresses `input`, refusing output larger than `limit` bytes.
///
/// [`Compression::None`] copies `input` (still subject to `limit`). See the
/// module docs for the memory bound. The returned vector's capacity is
/// trimmed when decompression over-reserved by more than a quarter.
pub fn decompress(
    codec: Compression,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, CompressionError> {
    let mut out = Vec::new();
    decompress_into(codec, input, limit, &mut out)?;
    let spare = out.capacity() - out.len();
    if spare > 4096 && spare > out.len() / 4 {
        out.shrink_to_fit();
    }
    Ok(out)
}

/// Decompresses `input`, appending to `out`; at most `limit` bytes are
/// appended, larger output is refused with
/// [`CompressionError::LimitExceeded`].
///
/// On error `out` is truncated back to its length before the call.
pub fn decompress_into(
    codec: Compression,
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    let start = out.len();
    let result = match codec {
        Compression::None => {
            if input.len() > limit {
                Err(CompressionError::LimitExceeded { codec, limit })
            } else {
                out.extend_from_slice(input);
                Ok(())
            }
        }
        Compression::Gzip => gzip::decompress(input, limit, out),
        Compression::Snappy => snappy::decompress(input, limit, out),
        Compression::Lz4 => lz4::decompress(input, limit, out),
        Compression::Zstd => zstd::decompress(input, limit, out),
    };
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Smallest step by which a decompression buffer grows.
const MIN_GROWTH: usize = 32 * 1024;

/// Makes `out` able to hold `needed` bytes without reallocating, growing
/// geometrically (to amortize copies) but never past `max_len`.
///
/// `needed <= max_len` is the caller's job.
fn reserve_capped(out: &mut Vec<u8>, needed: usize, max_len: usize) {
    if needed <= out.capacity() {
        return;
    }
    let doubled = out
        .capacity()
        .saturating_mul(2)
        .max(out.len().saturating_add(MIN_GROWTH));
    let target = doubled.max(needed).min(max_len.max(needed));
    out.reserve_exact(target - out.len());
}

/// Reads `reader` to its end into `out`, refusing more than `limit` bytes.
///
/// `hint` is the expected output size (0 if unknown): the first buffer is
/// sized for it (never past the limit), so a right hint means a single
/// allocation. Callers bound hints taken from the input by what the input
/// could really expand to. Reads at most `limit + 1` bytes: the extra byte
/// proves the stream is longer than the limit. On error `out` may hold
/// partial output; the public entry points truncate it.
fn read_capped<R: Read + ?Sized>(
    codec: Compression,
    reader: &mut R,
    limit: usize,
    hint: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    let start = out.len();
    let max_len = start.saturating_add(limit).saturating_add(1);
    let mut filled = start;
    loop {
        if filled == out.len() {
            if filled >= max_len {
                out.truncate(filled);
                return Err(CompressionError::LimitExceeded { codec, limit });
            }
            let grow = if filled == start && hint > 0 {
                // One spare byte, so the read that finds the end needs no
                // more room.
                hint.saturating_add(1)
            } else {
                (filled - start).max(MIN_GROWTH)
            };
            let new_len = filled.saturating_add(grow).min(max_len);
            reserve_capped(out, new_len, max_len);
            out.resize(new_len, 0);
        }
        match reader.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n).min(out.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.truncate(filled);
                return Err(CompressionError::corrupt(codec, e));
            }
        }
    }
    out.truncate(filled);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_errors() {
        for codec in Compression::ALL {
            assert_eq!(Compression::from_id(codec.id()).unwrap(), codec);
            assert_eq!(
                Compression::from_attributes(0x7ff8 | i16::from(codec.id())).unwrap(),
                codec
            );
            assert_eq!(codec.name().parse::<Compression>().unwrap(), codec);
        }
        for id in 5..=7u8 {
            assert!(matches!(
                Compression::from_id(id),
                Err(CompressionError::UnknownCodec { id: got }) if got == id
            ));
            assert!(Compression::from_attributes(i16::from(id)).is_err());
        }
        assert!(matches!(
            Compression::from_id(200),
            Err(CompressionError::UnknownCodec { .. })
        ));
        assert!("brotli".parse::<Compression>().is_err());
        assert_eq!("GZIP".parse::<Compression>().unwrap(), Compression::Gzip);
    }

    #[test]
    fn levels_are_validated() {
        assert!(Compression::Gzip.validate_level(Some(9)).is_ok());
        assert!(Compression::Gzip.validate_level(Some(-1)).is_ok());
        assert!(Compression::Gzip.validate_level(Some(0)).is_err());
        assert!(Compression::Gzip.validate_level(Some(10)).is_err());
        assert!(Compression::Lz4.validate_level(Some(17)).is_ok());
        assert!(Compression::Lz4.validate_level(Some(18)).is_err());
        assert!(Compression::Zstd.validate_level(Some(-5)).is_ok());
        assert!(Compression::Zstd.validate_level(Some(23)).is_err());
        assert!(Compression::Snappy.validate_level(Some(1)).is_err());
        assert!(Compression::None.validate_level(Some(1)).is_err());
        for codec in Compression::ALL {
            assert!(codec.validate_level(None).is_ok());
        }
    }

    #[test]
    fn read_capped_stops_one_byte_past_the_limit() {
        let data = vec![7u8; 100_000];
        let mut out = Vec::new();
        read_capped(Compression::None, &mut &data[..], 100_000, 0, &mut out).unwrap();
        assert_eq!(out, data);
        let mut out = Vec::new();
        read_capped(
            Compression::None,
            &mut &data[..],
            100_000,
            100_000,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, data);
        assert_eq!(out.capacity(), 100_001, "a right hint is one allocation");
        let mut out = Vec::new();
        let err = read_capped(Compression::None, &mut &data[..], 99_999, 0, &mut out).unwrap_err();
        assert!(matches!(
            err,
            CompressionError::LimitExceeded { limit: 99_999, .. }
        ));
        assert!(out.capacity() <= 100_000);
    }

    #[test]
    fn reserve_capped_never_passes_the_cap() {
        let mut v = Vec::new();
        reserve_capped(&mut v, 10, 1000);
        assert!(v.capacity() >= 10 && v.capacity() <= 1000);
        let mut v = vec![0u8; 600];
        reserve_capped(&mut v, 700, 1000);
        assert!(v.capacity() >= 700 && v.capacity() <= 1000);
    }

    #[test]
    fn none_codec_copies_within_limit() {
        let mut out = Vec::new();
        compress(Compression::None, None, b"abc", &mut out).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(decompress(Compression::None, b"abc", 3).unwrap(), b"abc");
        assert!(matches!(
            decompress(Compression::None, b"abc", 2),
            Err(CompressionError::LimitExceeded { .. })
        ));
    }
}
