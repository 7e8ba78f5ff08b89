//! Zstandard: written by `zrip-encode`, read by `ruzstd`.
//!
//! Writing: one frame from `zrip-encode` at the requested level (see
//! [`encoder_level`]), with the content size and no content checksum, as
//! the Java producer (zstd-jni) and librdkafka write it: the batch's
//! CRC-32C already covers the compressed bytes. Each thread keeps one
//! encoder, whose hash tables are reused from batch to batch
//! ([`compress_at`]).
//!
//! Reading: every frame in the input (skippable frames skipped), through
//! `ruzstd`'s decoder, with the bounds below.
//!
//! # Memory: output plus window within the limit
//!
//! `ruzstd` keeps its own copy of the last *window* of output (a ring
//! buffer it reserves when a frame starts) besides the output buffer we
//! fill, so a frame costs its output plus that window. Both are charged
//! against the one limit: output + window memory ≤ limit, beyond which the
//! data is refused with [`CompressionError::LimitExceeded`] (whose message
//! says to raise `max_decompressed_bytes`). Window memory up to what a
//! one-block (128 KiB) window takes, about 384 KiB, is not charged: like
//! the decoder's tables and block buffers it is part of its fixed working
//! memory, so small frames still decode to exactly the limit. Before any
//! frame is decoded, [`plan`] reads the frame and block headers:
//!
//! - a frame's declared window is cut to what its output can reach (the
//!   block headers bound the output; a back-reference cannot reach before
//!   the frame's start), which changes nothing in what it decodes to; a
//!   Kafka batch of 1 MiB with the Java producer's 2 MiB window is decoded
//!   with a window of about 1 MiB;
//! - if that window and the output bound still do not fit in the limit
//!   together, windows are capped (never below 128 KiB) so that the window
//!   takes what the output bound leaves, or half the limit when the output
//!   bound alone passes it (a bomb); the window descriptor is patched
//!   before `ruzstd` sees it. A frame that then refers further back than
//!   the capped window needed more memory than the limit allows, and is
//!   refused with `LimitExceeded`, not reported as corrupt;
//! - the output may take the limit minus the window memory: a frame
//!   declaring a larger content size is refused before decoding, and
//!   output is read in bounded chunks and refused once it passes that
//!   budget, into a buffer sized from the block headers (an upper bound,
//!   capped by the budget), so it is usually allocated once.
//!
//! The window memory is computed from `ruzstd` 0.9's ring-buffer growth
//! policy ([`window_memory`]); the decoder's buffer is reserved once per
//! call for the largest window, so it is never grown by copying. The bomb
//! tests (`tests/compression_bombs.rs`) measure the peak with a counting
//! allocator: cap plus well under 1 MiB.
//!
//! Each thread keeps one decoder between calls (its tables and window
//! buffer are reused), unless the last call needed a window above 4 MiB.

use std::cell::RefCell;
use std::io::Read;

use ruzstd::decoding::errors::DecodeBufferError;
use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

use super::{read_capped, Compression, CompressionError, OutputBuffer};

const CODEC: Compression = Compression::Zstd;
const MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// The largest block a frame may hold; windows are never lowered below it.
const MAX_BLOCK: u64 = 128 * 1024;

/// zstd's default level (`ZSTD_CLEVEL_DEFAULT`), which the Java producer
/// uses when `compression.zstd.level` is unset (KIP-390).
pub(super) const DEFAULT_LEVEL: i32 = 3;

/// The strongest level `zrip-encode` implements (its double-fast strategy,
/// as zstd's level 4).
pub(super) const STRONGEST_LEVEL: i32 = 4;

/// The fastest level `zrip-encode` implements (zstd's level -7).
pub(super) const FASTEST_LEVEL: i32 = -7;

/// The `zrip-encode` level that writes a level of the zstd library
/// (`-131072..=22`, as the Java producer takes them; `None` and 0 are the
/// default, 3).
///
/// Levels `-7..=4` are zstd's own: the same strategies and parameters, so
/// about the same output size. `zrip-encode` has no strategy beyond level
/// 4's, so levels 5 to 22 are written as level 4 (valid zstd that any
/// reader decodes; smaller than level 3's output, larger than zstd's own
/// level 5 and up would write), and levels below -7 as -7.
pub(super) fn encoder_level(level: Option<i32>) -> i32 {
    match level {
        None | Some(0) => DEFAULT_LEVEL,
        Some(level) => level.clamp(FASTEST_LEVEL, STRONGEST_LEVEL),
    }
}

/// A zstd encoder: `zrip-encode`'s context, whose hash tables and block
/// workspace are reused from frame to frame.
pub(super) struct Encoder {
    context: zrip_encode::context::CompressContext,
}

impl Encoder {
    /// An encoder for a zstd library level (see [`encoder_level`]).
    pub(super) fn new(level: Option<i32>) -> Result<Self, CompressionError> {
        let level = encoder_level(level);
        let mut context = zrip_encode::context::CompressContext::new(level)
            .map_err(|e| encoder_failed(level, e))?;
        context.set_content_checksum(false);
        Ok(Encoder { context })
    }

    /// Switches later frames to a zstd library level; the tables are kept
    /// and resized on use.
    fn set_level(&mut self, level: Option<i32>) -> Result<(), CompressionError> {
        let level = encoder_level(level);
        self.context
            .set_level(level)
            .map_err(|e| encoder_failed(level, e))
    }
}

fn encoder_failed(level: i32, e: impl std::fmt::Display) -> CompressionError {
    CompressionError::CompressFailed {
        codec: CODEC,
        detail: format!("zstd encoder for level {level}: {e}"),
    }
}

thread_local! {
    /// One encoder per thread, reused across batches whatever their level:
    /// its tables (1 MiB at level 3, 2 MiB at level 4) are allocated once
    /// per thread that compresses, not once per `Compressor`, of which a
    /// producer keeps one per batch builder.
    static ENCODER: RefCell<Option<Encoder>> = const { RefCell::new(None) };
}

/// Appends one zstd frame holding `input` at `level` to `out`, with this
/// thread's encoder (or a new one, when the thread has none or it is in
/// use further up the stack).
pub(super) fn compress_at<B: OutputBuffer + ?Sized>(
    level: Option<i32>,
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    let cached = ENCODER
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten();
    let mut encoder = match cached {
        Some(mut encoder) => {
            encoder.set_level(level)?;
            encoder
        }
        None => Encoder::new(level)?,
    };
    let result = compress(&mut encoder, input, out);
    let _ = ENCODER.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            *s = Some(encoder);
        }
    });
    result
}

/// The most a frame of `input_len` bytes can take: the header (at most 18
/// bytes), a 3-byte header per block of at most 128 KiB (a block that does
/// not compress is stored raw), and a 4-byte checksum.
fn frame_bound(input_len: usize) -> usize {
    let blocks = input_len / MAX_BLOCK as usize + 1;
    input_len
        .saturating_add(blocks.saturating_mul(3))
        .saturating_add(22)
}

/// Appends one zstd frame holding `input` to `out`.
pub(super) fn compress<B: OutputBuffer + ?Sized>(
    encoder: &mut Encoder,
    input: &[u8],
    out: &mut B,
) -> Result<(), CompressionError> {
    let start = out.out_len();
    let bound = frame_bound(input.len());
    out.out_reserve(bound);
    out.out_resize(start.saturating_add(bound));
    let written = encoder
        .context
        .compress_into(input, &mut out.out_slice_mut()[start..]);
    match written {
        Ok(len) => {
            out.out_truncate(start + len);
            Ok(())
        }
        Err(e) => {
            out.out_truncate(start);
            Err(CompressionError::CompressFailed {
                codec: CODEC,
                detail: e.to_string(),
            })
        }
    }
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

/// Runs `f` with this thread's cached decoder (or a new one, `true` in the
/// second argument), then keeps the decoder for the next call unless `f`
/// reports it used a window above [`CACHE_MAX_WINDOW`] (its buffers are then
/// freed instead of kept).
fn with_decoder<R>(f: impl FnOnce(&mut FrameDecoder, bool) -> (R, u64)) -> R {
    let cached = DECODER
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten();
    let fresh = cached.is_none();
    let mut decoder = cached.unwrap_or_default();
    // Windows are bounded below, before the decoder sees a frame header.
    decoder.set_max_window_size(u64::MAX);
    let (result, largest_window) = f(&mut decoder, fresh);
    if largest_window <= CACHE_MAX_WINDOW {
        let _ = DECODER.try_with(|slot| {
            if let Ok(mut s) = slot.try_borrow_mut() {
                *s = Some(decoder);
            }
        });
    }
    result
}

/// Bytes `ruzstd` 0.9 allocates when its window buffer (a ring buffer)
/// must hold `required` bytes: its `RingBuffer::reserve_amortized` rounds
/// up to a power of two, above a slack of two blocks, plus a sentinel byte.
fn ring_capacity(required: u64) -> u64 {
    const SLACK: u64 = 2 * MAX_BLOCK;
    let capacity = if required == 0 {
        Some(0)
    } else if required <= SLACK {
        required.checked_next_power_of_two().map(|p| p + 1)
    } else {
        (required - SLACK)
            .checked_next_power_of_two()
            .and_then(|p| p.checked_add(SLACK + 1))
    };
    // Windows that large (declared by hostile frames) never fit a limit.
    capacity.unwrap_or(u64::MAX)
}

/// The most heap `ruzstd`'s window buffer can hold while decoding frames
/// with windows up to `window` whose output is at most `output_bound`
/// bytes.
///
/// The buffer is reserved for the window when a frame starts, and holds the
/// window plus the block being decoded (the rest is handed out as output),
/// never more than the frame's output. If the first reservation is short
/// of that, it grows once, and both buffers are live during the copy.
fn window_memory(window: u64, output_bound: u64) -> u64 {
    let first = ring_capacity(window);
    let held = window.saturating_add(MAX_BLOCK).min(output_bound);
    let needed = if held == 0 { 0 } else { held.saturating_add(1) };
    if first >= needed {
        first
    } else {
        first.saturating_add(ring_capacity(needed))
    }
}

/// Window memory that is not charged against the limit: what a window of
/// one block (128 KiB) takes, about 384 KiB. It is part of the decoder's
/// fixed working memory, like its tables and block buffers, so small frames
/// decode up to exactly the limit.
const UNCHARGED_WINDOW_MEMORY: u64 = 3 * MAX_BLOCK + 3;

/// The part of [`window_memory`] charged against the limit.
fn charged_window_memory(window: u64, output_bound: u64) -> u64 {
    window_memory(window, output_bound).saturating_sub(UNCHARGED_WINDOW_MEMORY)
}

/// How a call's frames share the limit between output and window memory,
/// decided before any frame is decoded.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Windows above this (and above one block) are lowered to it;
    /// `u64::MAX` when no window needs lowering.
    window_cap: u64,
    /// The largest window any frame is decoded with.
    largest_window: u64,
    /// Bytes of output the frames may produce together.
    output_budget: usize,
}

/// What the decoder learns about one frame before decoding it.
struct FrameInfo {
    header: FrameHeader,
    /// Upper bound on the output (from the block headers).
    bound: u64,
    /// Length of the frame, checksum included, when every block header
    /// parses; `None` when the frame is malformed or truncated (the decoder
    /// then fails inside it).
    len: Option<usize>,
}

impl FrameInfo {
    fn read(frame: &[u8]) -> Result<Self, CompressionError> {
        let header = parse_header(frame)?;
        let (bound, len) = scan_blocks(frame, &header);
        Ok(FrameInfo { header, bound, len })
    }

    /// The smallest window that decodes this frame exactly as its declared
    /// window does: a back-reference cannot reach before the start of the
    /// frame's output, so a window covering the whole output is as good as
    /// any larger one (and a block never exceeds the output either).
    fn lossless_window(&self) -> u64 {
        if !self.header.has_window_descriptor {
            return self.header.window;
        }
        let covering = window_size(descriptor_at_least(self.bound.max(1)));
        self.header.window.min(covering)
    }

    /// The window to decode with under `window_cap`.
    fn window_under(&self, window_cap: u64) -> u64 {
        let lossless = self.lossless_window();
        if self.header.has_window_descriptor && lossless > window_cap && lossless > MAX_BLOCK {
            window_cap.max(MAX_BLOCK)
        } else {
            lossless
        }
    }
}

/// Visits every zstd frame in `input` up to the first that does not parse
/// to its end, skipping skippable frames. Stops quietly at anything
/// malformed: decoding reports it.
fn scan_frames(input: &[u8], mut visit: impl FnMut(&FrameInfo)) {
    let mut rest = input;
    while let Some((magic, _)) = rest.split_first_chunk::<4>() {
        let magic = u32::from_le_bytes(*magic);
        if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            let Some(end) = rest
                .get(4..8)
                .map(read_le)
                .and_then(|size| usize::try_from(size).ok())
                .and_then(|size| size.checked_add(8))
                .filter(|&end| end <= rest.len())
            else {
                return;
            };
            rest = &rest[end..];
            continue;
        }
        if magic != MAGIC {
            return;
        }
        let Ok(info) = FrameInfo::read(rest) else {
            return;
        };
        visit(&info);
        match info.len {
            Some(len) => rest = &rest[len..],
            None => return,
        }
    }
}

/// Splits `limit` between the frames' output and `ruzstd`'s window buffer,
/// so that the two together never exceed it.
///
/// Windows are first cut to what each frame's output can reach (lossless).
/// If window and output bounds together still exceed the limit, windows are
/// capped (never below one block) so that the window buffer takes what the
/// output bound leaves, or half the limit when the output bound alone passes
/// it (a bomb, or a frame too large for the limit either way). A frame that
/// then refers further back than the capped window is refused with
/// [`CompressionError::LimitExceeded`], like one whose output passes the
/// budget.
fn plan(input: &[u8], limit: usize) -> Result<Plan, CompressionError> {
    let limit_u64 = limit as u64;
    let mut total_bound = 0u64;
    let mut largest_lossless = 0u64;
    let mut largest_single_segment = 0u64;
    scan_frames(input, |info| {
        total_bound = total_bound.saturating_add(info.bound);
        largest_lossless = largest_lossless.max(info.lossless_window());
        if !info.header.has_window_descriptor {
            largest_single_segment = largest_single_segment.max(info.header.window);
        }
    });
    let lossless_memory = charged_window_memory(largest_lossless, total_bound);
    let (window_cap, largest_window) =
        if lossless_memory.saturating_add(total_bound.min(limit_u64)) <= limit_u64 {
            (u64::MAX, largest_lossless)
        } else {
            let room = if total_bound < limit_u64 {
                limit_u64 - total_bound
            } else {
                limit_u64 / 2
            };
            let cap = (0..=u8::MAX)
                .map(window_size)
                .rev()
                .find(|&w| charged_window_memory(w, total_bound) <= room)
                .unwrap_or(1024);
            let mut largest = largest_single_segment;
            scan_frames(input, |info| largest = largest.max(info.window_under(cap)));
            (cap, largest)
        };
    let memory = charged_window_memory(largest_window, total_bound);
    let output_budget = limit_u64
        .checked_sub(memory)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or(CompressionError::LimitExceeded {
            codec: CODEC,
            limit,
        })?;
    Ok(Plan {
        window_cap,
        largest_window,
        output_budget,
    })
}

pub(super) fn decompress(
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    if input.is_empty() {
        return Err(corrupt("empty input, expected a zstd frame"));
    }
    let plan = plan(input, limit)?;
    with_decoder(|decoder, fresh| {
        let result = reserve_window(decoder, fresh, plan.largest_window)
            .and_then(|()| decompress_frames(decoder, input, limit, &plan, out));
        (result, plan.largest_window)
    })
}

/// Has `decoder` reserve its window buffer for `window` bytes at once, by
/// starting it on a bare frame header that declares that window: frames
/// then start within that buffer, and it is never grown by copying (which
/// would briefly hold two).
fn reserve_window(
    decoder: &mut FrameDecoder,
    fresh: bool,
    window: u64,
) -> Result<(), CompressionError> {
    // Single segment, 8-byte content size: the window is exactly `window`.
    let mut header = [0u8; 13];
    header[..4].copy_from_slice(&MAGIC.to_le_bytes());
    header[4] = 0xE0;
    header[5..].copy_from_slice(&window.to_le_bytes());
    // A new decoder only reserves on its second initialization.
    for _ in 0..=usize::from(fresh) {
        decoder.init(&header[..]).map_err(corrupt)?;
    }
    Ok(())
}

fn decompress_frames(
    decoder: &mut FrameDecoder,
    input: &[u8],
    limit: usize,
    plan: &Plan,
    out: &mut Vec<u8>,
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
        let remaining = plan.output_budget.saturating_sub(out.len() - start);
        rest = decode_frame(decoder, rest, remaining, limit, plan, out).map_err(|e| match e {
            CompressionError::LimitExceeded { codec, .. } => {
                CompressionError::LimitExceeded { codec, limit }
            }
            other => other,
        })?;
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
    /// Whether a 4-byte content checksum follows the last block.
    has_checksum: bool,
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
        has_checksum: fhd & 0x04 != 0,
    })
}

/// Walks a frame's block headers: an upper bound on its output (raw and
/// RLE blocks say their size; a compressed block regenerates at most
/// `min(window, 128 KiB)`), and the frame's length when every block is
/// present. A block header that is cut short or of the reserved type ends
/// the walk: the decoder fails there, so the bound covers the blocks before
/// it plus one more.
fn scan_blocks(frame: &[u8], header: &FrameHeader) -> (u64, Option<usize>) {
    let block_max = header.window.min(MAX_BLOCK);
    let mut pos = header.len;
    let mut bound = 0u64;
    loop {
        let Some(h) = frame.get(pos..pos + 3) else {
            return (bound, None);
        };
        let h = u32::from(h[0]) | u32::from(h[1]) << 8 | u32::from(h[2]) << 16;
        let size = u64::from(h >> 3);
        pos += 3;
        let body = match (h >> 1) & 0x03 {
            0 => {
                bound += size;
                size
            }
            1 => {
                bound += size;
                1
            }
            2 => {
                bound += block_max;
                size
            }
            _ => return (bound + block_max, None),
        };
        // `body` < 2^21, so this cannot overflow.
        pos += body as usize;
        if pos > frame.len() {
            return (bound, None);
        }
        if h & 1 == 1 {
            let end = pos + if header.has_checksum { 4 } else { 0 };
            return (bound, (end <= frame.len()).then_some(end));
        }
    }
}

/// Whether a `ruzstd` read error is a back-reference beyond the data its
/// window buffer holds. (`ruzstd` reports one as a missing dictionary
/// when it has not counted raw blocks towards the window yet; no
/// dictionary is ever given to it here.)
fn is_offset_beyond_window(error: &std::io::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error
        .get_ref()
        .map(|e| e as &(dyn std::error::Error + 'static));
    while let Some(e) = source {
        if matches!(
            e.downcast_ref::<DecodeBufferError>(),
            Some(
                DecodeBufferError::OffsetTooBig { .. }
                    | DecodeBufferError::NotEnoughBytesInDictionary { .. }
            )
        ) {
            return true;
        }
        source = e.source();
    }
    false
}

/// A reader over the frame decoder that remembers whether it failed on a
/// back-reference beyond the window.
struct WatchOffsets<R> {
    inner: R,
    offset_beyond_window: bool,
}

impl<R: Read> Read for WatchOffsets<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.offset_beyond_window |= is_offset_beyond_window(e);
        })
    }
}

/// Decodes the frame at the start of `frame` (magic included), appending at
/// most `remaining` bytes; returns the input after the frame.
fn decode_frame<'a>(
    decoder: &mut FrameDecoder,
    frame: &'a [u8],
    remaining: usize,
    limit: usize,
    plan: &Plan,
    out: &mut Vec<u8>,
) -> Result<&'a [u8], CompressionError> {
    let info = FrameInfo::read(frame)?;
    let header = &info.header;
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
    // window is lowered, a patched window descriptor.
    let mut head = [0u8; 6];
    let mut patched = 0usize;
    let window = info.window_under(plan.window_cap);
    let capped = window < info.lossless_window();
    if header.has_window_descriptor && window < header.window {
        head.copy_from_slice(&frame[..6]);
        head[5] = descriptor_at_least(window);
        patched = 6;
    }
    let hint = usize::try_from(header.content_size.unwrap_or(info.bound)).unwrap_or(usize::MAX);

    let mut source = (&head[..patched]).chain(&frame[patched..]);
    {
        let stream =
            StreamingDecoder::new_with_decoder(&mut source, &mut *decoder).map_err(corrupt)?;
        let mut stream = WatchOffsets {
            inner: stream,
            offset_beyond_window: false,
        };
        let read = read_capped(CODEC, &mut stream, remaining, hint, out);
        if capped && stream.offset_beyond_window {
            // Valid with the declared window, but that window does not fit
            // in the limit next to the output.
            return Err(CompressionError::LimitExceeded {
                codec: CODEC,
                limit,
            });
        }
        read?;
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

    /// One frame of `input` at the default level.
    fn compress_default(input: &[u8], out: &mut Vec<u8>) -> Result<(), CompressionError> {
        compress(&mut Encoder::new(None)?, input, out)
    }

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
    fn window_memory_follows_ruzstd_reservations() {
        // A 2 MiB window (the Java producer's default level): 2 MiB plus
        // the two-block slack, which also holds the block being decoded.
        assert_eq!(ring_capacity(2 << 20), (2 << 20) + 256 * 1024 + 1);
        assert_eq!(window_memory(2 << 20, u64::MAX), (2 << 20) + 256 * 1024 + 1);
        // A window whose reservation cannot hold one more block grows once.
        let w = (2 << 20) + 256 * 1024;
        assert!(window_memory(w, u64::MAX) > ring_capacity(w));
        // Never more than the output needs.
        assert_eq!(window_memory(1024, 29), 1025);
        assert_eq!(window_memory(0, 0), 0);
        // One block's window is not charged.
        assert_eq!(window_memory(MAX_BLOCK, u64::MAX), UNCHARGED_WINDOW_MEMORY);
        assert_eq!(charged_window_memory(MAX_BLOCK, u64::MAX), 0);
    }

    #[test]
    fn huge_declared_sizes_do_not_overflow_the_window_arithmetic() {
        // Found by fuzzing: a single-segment frame declaring a content size
        // near u64::MAX (its window) overflowed the ring-size arithmetic.
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        frame.extend_from_slice(&[0; 8]);
        // One RLE block of one byte, the last.
        frame.extend_from_slice(&[0x0b, 0x00, 0x00, 0xab]);
        for size in [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) + 1] {
            frame[5..13].copy_from_slice(&size.to_le_bytes());
            let err = decompress(&frame, 1 << 20, &mut Vec::new()).unwrap_err();
            assert!(
                matches!(err, CompressionError::LimitExceeded { .. }),
                "{err}"
            );
        }
        assert_eq!(ring_capacity(u64::MAX), u64::MAX);
        assert_eq!(window_memory(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn plan_splits_the_limit() {
        // 2 TiB window, 10 GiB of RLE blocks: the window is cut so that
        // window and output together stay within the limit.
        let mut bomb = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8];
        for i in 0..81_920u32 {
            let h = u32::from(i + 1 == 81_920) | (1 << 1) | ((128 * 1024) << 3);
            bomb.extend_from_slice(&h.to_le_bytes()[..3]);
            bomb.push(0xab);
        }
        let limit = 8 << 20;
        let split = plan(&bomb, limit).unwrap();
        assert_eq!(split.window_cap, 4 << 20);
        assert_eq!(split.largest_window, 4 << 20);
        let charged = charged_window_memory(split.largest_window, u64::MAX);
        assert_eq!(split.output_budget as u64 + charged, limit as u64);

        // A small frame: nothing is cut or charged.
        let mut frame = Vec::new();
        compress_default(b"hello hello hello hello hello", &mut frame).unwrap();
        let split = plan(&frame, 29).unwrap();
        assert_eq!(split.window_cap, u64::MAX);
        assert_eq!(split.output_budget, 29);
    }

    #[test]
    fn round_trip_and_concatenated_frames() {
        let input: Vec<u8> = (0..300_000u32).map(|i| (i % 7 + i % 13) as u8).collect();
        let mut one = Vec::new();
        compress_default(&input, &mut one).unwrap();
        // A single-segment frame: its window is its content size, and the
        // decoder's copy of that window is charged against the limit.
        let header = parse_header(&one).unwrap();
        assert!(!header.has_window_descriptor);
        assert_eq!(header.window, input.len() as u64);
        let window = charged_window_memory(header.window, scan_blocks(&one, &header).0);
        let needed = input.len() + window as usize;
        let mut back = Vec::new();
        decompress(&one, needed, &mut back).unwrap();
        assert_eq!(back, input);
        let err = decompress(&one, needed - 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CompressionError::LimitExceeded { .. }));

        let mut two = one.clone();
        two.extend_from_slice(&[0x5f, 0x2a, 0x4d, 0x18, 1, 0, 0, 0, 0xaa]);
        two.extend_from_slice(&one);
        let mut back = Vec::new();
        decompress(&two, 2 * needed, &mut back).unwrap();
        assert_eq!(back.len(), 2 * input.len());
        assert_eq!(back[input.len()..], input[..]);
        let err = decompress(&two, 2 * input.len() - 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CompressionError::LimitExceeded { .. }));
    }

    #[test]
    fn damaged_frames_are_corrupt() {
        // With a content checksum (as other writers may add), so that a
        // flipped checksum byte is found.
        let mut encoder = Encoder::new(None).unwrap();
        encoder.context.set_content_checksum(true);
        let mut frame = Vec::new();
        compress(&mut encoder, b"hello hello hello hello hello", &mut frame).unwrap();
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

    #[test]
    fn levels_map_to_the_encoder_range() {
        assert_eq!(encoder_level(None), 3);
        assert_eq!(encoder_level(Some(0)), 3);
        for level in -7..=4 {
            if level != 0 {
                assert_eq!(encoder_level(Some(level)), level);
            }
        }
        assert_eq!(encoder_level(Some(5)), 4);
        assert_eq!(encoder_level(Some(22)), 4);
        assert_eq!(encoder_level(Some(-8)), -7);
        assert_eq!(encoder_level(Some(-131_072)), -7);
    }

    #[test]
    fn the_thread_encoder_writes_what_a_fresh_one_writes_at_each_level() {
        let input: Vec<u8> = (0..200_000u32)
            .map(|i| b"kafka partition offset "[(i as usize * 7 + i as usize / 13) % 23])
            .collect();
        for level in [1, 4, -7, 3, 1, 22, 2] {
            let mut fresh = Vec::new();
            compress(&mut Encoder::new(Some(level)).unwrap(), &input, &mut fresh).unwrap();
            let mut shared = Vec::new();
            compress_at(Some(level), &input, &mut shared).unwrap();
            assert_eq!(shared, fresh, "level {level}");
        }
    }

    #[test]
    fn frames_carry_content_size_and_no_checksum() {
        let mut frame = Vec::new();
        compress_default(&[7u8; 5000], &mut frame).unwrap();
        let header = parse_header(&frame).unwrap();
        assert_eq!(header.content_size, Some(5000));
        assert!(!header.has_checksum);
    }

    #[test]
    fn incompressible_input_fits_the_frame_bound() {
        // Random bytes are stored raw: the frame is input plus headers.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let input: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let mut frame = vec![0xaa; 3];
        compress_default(&input, &mut frame).unwrap();
        assert_eq!(&frame[..3], &[0xaa; 3], "bytes before the call untouched");
        assert!(frame.len() - 3 <= frame_bound(input.len()));
        let mut back = Vec::new();
        decompress(&frame[3..], input.len(), &mut back).unwrap();
        assert_eq!(back, input);
    }
}
