//! Decompression bombs, one family per codec, each of which would expand to
//! 10 GiB or more. Every one must be refused with
//! `CompressionError::LimitExceeded` once the output passes the cap, and
//! the peak live heap during the call must stay within the cap plus a small
//! constant (1 MiB here) — for zstd too, whose decoder keeps a copy of its
//! window besides the output: that memory is charged against the cap (see
//! the `compression` module docs).
//!
//! A counting global allocator tracks live bytes per thread (so parallel
//! tests do not disturb each other); `realloc` counts as resizing one
//! allocation (old size out, new size in).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

use ferrokafka_protocol::compression::{decompress, Compression, CompressionError};

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn adjust(delta: isize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LIVE.try_with(|live| {
                let now = live.get() + delta;
                live.set(now);
                let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
            });
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            adjust(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            adjust(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        adjust(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            adjust(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;
/// The cap used by every bomb test.
const CAP: usize = 8 * MIB;
/// 10 GiB: what every bomb would expand to.
const TEN_GIB: u64 = 10 << 30;

/// Decompresses `input` with the test cap, returning the result and the
/// peak live heap bytes allocated during the call.
fn run(codec: Compression, input: &[u8]) -> (Result<Vec<u8>, CompressionError>, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let result = decompress(codec, input, CAP);
    TRACKING.with(|t| t.set(false));
    let peak = PEAK.with(Cell::get).max(0) as usize;
    (result, peak)
}

fn assert_refused(codec: Compression, input: &[u8], max_peak: usize, what: &str) {
    let (result, peak) = run(codec, input);
    match result {
        Err(CompressionError::LimitExceeded { codec: c, limit }) => {
            assert_eq!(c, codec, "{what}");
            assert_eq!(limit, CAP, "{what}");
        }
        Err(other) => panic!("{what}: expected LimitExceeded, got {other}"),
        Ok(out) => panic!("{what}: decompressed {} bytes", out.len()),
    }
    assert!(
        peak <= max_peak,
        "{what}: peak live heap {peak} bytes > allowed {max_peak}"
    );
    eprintln!("{what}: refused, peak live heap {} KiB", peak / 1024);
}

/// gzip: one member holding 1 MiB of zeros (about 1 KiB compressed),
/// concatenated 10 240 times: a valid multi-member stream of ~10 MB that
/// expands to 10 GiB.
#[test]
fn gzip_bomb_is_refused() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; MIB]).unwrap();
    let member = enc.finish().unwrap();
    let copies = (TEN_GIB / MIB as u64) as usize;
    let bomb = member.repeat(copies);
    assert!(bomb.len() < 20 * MIB);
    assert_refused(
        Compression::Gzip,
        &bomb,
        CAP + MIB,
        "gzip 10 GiB multi-member",
    );
}

/// lz4: one compressed block of 4 MiB of zeros (about 16 KiB), repeated
/// 2 560 times in a frame with 4 MiB blocks and no content size: 10 GiB of
/// output from ~42 MB. Plus a frame that declares a 10 GiB content size,
/// refused before decoding.
#[test]
fn lz4_bomb_is_refused() {
    use lz4_flex::frame::{BlockSize, FrameEncoder, FrameInfo};
    // A frame header for 4 MiB independent blocks, no checksums, from a
    // standard encoder (first 7 bytes of an empty frame).
    let info = FrameInfo::new().block_size(BlockSize::Max4MB);
    let empty = FrameEncoder::with_frame_info(info, Vec::new())
        .finish()
        .unwrap();
    let header = &empty[..7];
    assert_eq!(&header[..5], &[0x04, 0x22, 0x4D, 0x18, 0x60]);
    assert_eq!(header[5], 0x70, "BD: 4 MiB blocks");

    let block = lz4_flex::block::compress(&vec![0u8; 4 * MIB]);
    let copies = (TEN_GIB / (4 * MIB) as u64) as usize;
    let mut bomb = Vec::with_capacity(7 + copies * (4 + block.len()) + 4);
    bomb.extend_from_slice(header);
    for _ in 0..copies {
        bomb.extend_from_slice(&(block.len() as u32).to_le_bytes());
        bomb.extend_from_slice(&block);
    }
    bomb.extend_from_slice(&0u32.to_le_bytes());
    assert_refused(Compression::Lz4, &bomb, CAP + MIB, "lz4 10 GiB of blocks");

    // Declared content size of 10 GiB.
    let info = FrameInfo::new()
        .block_size(BlockSize::Max4MB)
        .content_size(Some(TEN_GIB));
    let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
    assert!(enc.try_finish().is_err(), "content size mismatch");
    let mut declared = enc.get_ref()[..15].to_vec();
    declared.extend_from_slice(&(block.len() as u32).to_le_bytes());
    declared.extend_from_slice(&block);
    declared.extend_from_slice(&0u32.to_le_bytes());
    assert_refused(
        Compression::Lz4,
        &declared,
        64 * 1024,
        "lz4 declared 10 GiB",
    );
}

/// One zstd RLE block: 3-byte header (last flag, type 1 = RLE, size) then
/// the byte to repeat.
fn rle_block(size: u32, last: bool) -> [u8; 4] {
    let h = u32::from(last) | (1 << 1) | (size << 3);
    let b = h.to_le_bytes();
    [b[0], b[1], b[2], 0xAB]
}

/// zstd: a hand-made frame of RLE blocks, each 4 bytes expanding to
/// 128 KiB: 81 920 blocks (320 KiB) expand to 10 GiB. Window 128 KiB.
#[test]
fn zstd_rle_bomb_is_refused() {
    let blocks = (TEN_GIB / (128 * 1024)) as usize;
    let mut bomb = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
    for i in 0..blocks {
        bomb.extend_from_slice(&rle_block(128 * 1024, i + 1 == blocks));
    }
    assert_refused(
        Compression::Zstd,
        &bomb,
        CAP + MIB,
        "zstd 10 GiB of RLE blocks",
    );
}

/// zstd with a window descriptor claiming a 2 TiB window: the window is
/// cut to what the limit leaves next to the output, and the memory
/// `ruzstd` keeps for it is charged against the cap, so the peak stays
/// within the cap plus a small constant (before, the window was only cut to
/// the cap, and the peak was about twice the cap).
#[test]
fn zstd_huge_window_bomb_is_bounded_by_the_cap() {
    let blocks = (TEN_GIB / (128 * 1024)) as usize;
    // Window descriptor 0xF8: exponent 31, 2^41 bytes.
    let mut bomb = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8];
    for i in 0..blocks {
        bomb.extend_from_slice(&rle_block(128 * 1024, i + 1 == blocks));
    }
    assert_refused(
        Compression::Zstd,
        &bomb,
        CAP + MIB,
        "zstd 10 GiB, 2 TiB window",
    );
}

/// A matcher for `ruzstd`'s encoder for data with period `period`: the
/// first `reach` bytes are written as literals, every later block as
/// sequences of a few literals and a match 1, 2, 4 or 8 periods back
/// (varied, since the encoder builds its code tables from what it sees), in
/// a frame that declares `window`: a real frame with long back-references.
struct RepeatMatcher {
    spaces: Vec<Vec<u8>>,
    period: usize,
    seen: usize,
    window: u64,
}

impl RepeatMatcher {
    fn reach(&self) -> usize {
        8 * self.period
    }
}

impl ruzstd::encoding::Matcher for RepeatMatcher {
    fn get_next_space(&mut self) -> Vec<u8> {
        vec![0; 128 * 1024]
    }
    fn get_last_space(&mut self) -> &[u8] {
        self.spaces.last().unwrap()
    }
    fn commit_space(&mut self, space: Vec<u8>) {
        self.spaces.push(space);
    }
    fn skip_matching(&mut self) {
        self.seen += self.spaces.last().unwrap().len();
    }
    fn start_matching(
        &mut self,
        mut handle_sequence: impl for<'a> FnMut(ruzstd::encoding::Sequence<'a>),
    ) {
        use ruzstd::encoding::Sequence;
        let reach = self.reach();
        let last = self.spaces.last().unwrap();
        if self.seen < reach {
            handle_sequence(Sequence::Literals { literals: last });
        } else {
            let mut pos = 0;
            for i in 0.. {
                let literals = [0, 3, 17, 40, 1][i % 5];
                let match_len = [300, 1000, 4000, 9000][i % 4];
                if pos + literals + match_len > last.len() {
                    break;
                }
                handle_sequence(Sequence::Triple {
                    literals: &last[pos..pos + literals],
                    offset: self.period << (i % 4),
                    match_len,
                });
                pos += literals + match_len;
            }
            handle_sequence(Sequence::Literals {
                literals: &last[pos..],
            });
        }
        self.seen += last.len();
    }
    fn reset(&mut self, _level: ruzstd::encoding::CompressionLevel) {
        self.spaces.clear();
        self.seen = 0;
    }
    fn window_size(&self) -> u64 {
        self.window
    }
}

/// `period` bytes of noise repeated `copies` times, and its zstd frame
/// (declaring `window`) whose repeats are back-references up to 8 periods
/// long.
fn long_reference_frame(period: usize, copies: usize, window: u64) -> (Vec<u8>, Vec<u8>) {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..period)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let data = noise.repeat(copies);
    let matcher = RepeatMatcher {
        spaces: Vec::new(),
        period,
        seen: 0,
        window,
    };
    let mut compressor = ruzstd::encoding::FrameCompressor::new_with_matcher(
        matcher,
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let mut frame = Vec::new();
    compressor.set_source(&data[..]);
    compressor.set_drain(&mut frame);
    compressor.compress();
    (data, frame)
}

/// Decompresses with `limit` on a new thread (so no codec state cached by
/// an earlier call is reused), returning the result and the peak live heap.
fn run_with_limit(
    codec: Compression,
    input: &[u8],
    limit: usize,
) -> (Result<Vec<u8>, CompressionError>, usize) {
    std::thread::scope(|s| {
        s.spawn(|| {
            LIVE.with(|l| l.set(0));
            PEAK.with(|p| p.set(0));
            TRACKING.with(|t| t.set(true));
            let result = decompress(codec, input, limit);
            TRACKING.with(|t| t.set(false));
            (result, PEAK.with(Cell::get).max(0) as usize)
        })
        .join()
        .unwrap()
    })
}

/// A legitimate zstd frame: 3 MiB of output whose second and third MiB are
/// back-references up to 1 MiB long, declaring an 8 MiB window. Decoding it
/// needs the output plus a window of at least 1 MiB; the cap bounds both
/// together:
/// - with room for both, it decodes, within the cap plus a small constant
///   (the declared 8 MiB window is cut to one that fits; the references
///   still reach);
/// - with room for the output but not for a 1 MiB window next to it, it is
///   refused with `LimitExceeded` (not reported as corrupt), still within
///   the cap plus a small constant;
/// - below its output size it is refused as any codec's output would be.
#[test]
fn zstd_window_memory_is_charged_against_the_cap() {
    let (data, frame) = long_reference_frame(128 * 1024, 24, 8 * MIB as u64);
    assert!(frame.len() < MIB + 64 * 1024, "repeats are references");
    assert_eq!(frame[5], 0x68, "declares an 8 MiB window");

    let (result, _) = run_with_limit(Compression::Zstd, &frame, 64 * MIB);
    assert!(result.unwrap() == data, "decodes with a roomy cap");

    for limit in [4 * MIB, 5 * MIB, 6 * MIB, 8 * MIB] {
        let (result, peak) = run_with_limit(Compression::Zstd, &frame, limit);
        assert!(result.unwrap() == data, "decodes within {limit}");
        assert!(
            peak <= limit + MIB,
            "cap {limit}: peak live heap {peak} bytes > cap + 1 MiB"
        );
        eprintln!(
            "cap {} KiB: decoded, peak {} KiB",
            limit / 1024,
            peak / 1024
        );
    }

    for limit in [3 * MIB + 512 * 1024, 3 * MIB - 1, MIB] {
        let (result, peak) = run_with_limit(Compression::Zstd, &frame, limit);
        match result {
            Err(CompressionError::LimitExceeded { codec, limit: l }) => {
                assert_eq!(codec, Compression::Zstd);
                assert_eq!(l, limit);
            }
            Err(other) => panic!("cap {limit}: expected LimitExceeded, got {other}"),
            Ok(out) => panic!("cap {limit}: decoded {} bytes", out.len()),
        }
        assert!(
            peak <= limit + MIB,
            "cap {limit}: peak live heap {peak} bytes > cap + 1 MiB"
        );
        eprintln!(
            "cap {} KiB: refused, peak {} KiB",
            limit / 1024,
            peak / 1024
        );
    }
}

/// zstd single-segment frame declaring a 10 GiB content size: refused from
/// the header, nothing decoded.
#[test]
fn zstd_declared_size_bomb_is_refused_upfront() {
    // FHD 0xE0: 8-byte content size, single segment.
    let mut bomb = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
    bomb.extend_from_slice(&TEN_GIB.to_le_bytes());
    bomb.extend_from_slice(&rle_block(128 * 1024, true));
    assert_refused(Compression::Zstd, &bomb, 64 * 1024, "zstd declared 10 GiB");
}

const XERIAL_HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];

/// snappy, declared lengths: raw streams whose length header claims 10 GiB
/// (beyond snappy's u32 limit) or 4 GiB, a xerial block declaring 1 GiB,
/// and real blocks whose declared lengths add up past the cap: all refused
/// before any output buffer is allocated (snappy blocks must hold exactly
/// their declared length, so the declared sum is the output size).
#[test]
fn snappy_declared_length_bombs_are_refused_upfront() {
    let mut raw_10g = Vec::new();
    let mut n = TEN_GIB;
    while n >= 0x80 {
        raw_10g.push((n as u8) | 0x80);
        n >>= 7;
    }
    raw_10g.push(n as u8);
    raw_10g.extend_from_slice(&[0x00, 0x00, 0x00]);
    assert_refused(
        Compression::Snappy,
        &raw_10g,
        4096,
        "snappy raw, claims 10 GiB",
    );

    let raw_4g = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00];
    assert_refused(
        Compression::Snappy,
        &raw_4g,
        4096,
        "snappy raw, claims 4 GiB",
    );

    let mut xerial = XERIAL_HEADER.to_vec();
    let block = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00, 0x00]; // claims 1 GiB
    xerial.extend_from_slice(&(block.len() as i32).to_be_bytes());
    xerial.extend_from_slice(&block);
    assert_refused(
        Compression::Snappy,
        &xerial,
        4096,
        "snappy xerial block claims 1 GiB",
    );

    // Three real 3 MiB blocks: 9 MiB declared, past the 8 MiB cap.
    let small = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 3 * MIB])
        .unwrap();
    let mut mixed = XERIAL_HEADER.to_vec();
    for _ in 0..2 {
        mixed.extend_from_slice(&(small.len() as i32).to_be_bytes());
        mixed.extend_from_slice(&small);
    }
    let over = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 3 * MIB])
        .unwrap();
    mixed.extend_from_slice(&(over.len() as i32).to_be_bytes());
    mixed.extend_from_slice(&over);
    assert_refused(
        Compression::Snappy,
        &mixed,
        4096,
        "snappy xerial past the cap",
    );
}

/// snappy, real data: one raw snappy block of 1 MiB of zeros (~48 KiB;
/// snappy cannot do better than ~21:1), framed as a xerial stream repeated
/// 10 240 times: ~490 MB of input expanding to 10 GiB. Refused from the
/// blocks' declared lengths before any decoding or allocation.
#[test]
fn snappy_real_stream_bomb_is_refused() {
    let block = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; MIB])
        .unwrap();
    let copies = (TEN_GIB / MIB as u64) as usize;
    let mut bomb = Vec::with_capacity(16 + copies * (4 + block.len()));
    bomb.extend_from_slice(&XERIAL_HEADER);
    let len = (block.len() as i32).to_be_bytes();
    for _ in 0..copies {
        bomb.extend_from_slice(&len);
        bomb.extend_from_slice(&block);
    }
    assert_refused(
        Compression::Snappy,
        &bomb,
        4096,
        "snappy 10 GiB xerial stream",
    );

    // The same block as one raw stream would declare 1 MiB: under the cap,
    // so it decodes.
    let (ok, peak) = run(Compression::Snappy, &block);
    assert_eq!(ok.unwrap().len(), MIB);
    assert!(peak <= MIB + 4096);
}
