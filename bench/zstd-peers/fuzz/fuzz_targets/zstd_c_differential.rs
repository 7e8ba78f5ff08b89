#![no_main]
//! Our zstd against the C library, both ways. The first byte picks a level
//! in `-10..=24` (past both ends of zstd's range, and 0):
//!
//! - our frame (from a reused `Compressor`, written twice so the second
//!   frame starts from tables left by the first) must be decoded by the C
//!   library byte-exact, and declare the size the C library reads back;
//! - the C library's frame at the same level (clamped to its range) must be
//!   decoded by our decoder byte-exact.
use ferrokafka_protocol::compression::{decompress, Compression, Compressor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let level = i32::from(selector % 35) - 10;
    let Ok(mut compressor) = Compressor::new(Compression::Zstd, Some(level)) else {
        assert!(!(-131_072..=22).contains(&level), "level {level} refused");
        return;
    };
    for piece in [&input[..input.len() / 2], input] {
        let mut ours = Vec::new();
        compressor
            .compress(piece, &mut ours)
            .expect("our zstd failed");
        let by_c =
            zstd::bulk::decompress(&ours, piece.len()).expect("C could not decode our frame");
        assert!(
            by_c == piece,
            "C decoded our level-{level} frame to other bytes"
        );
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&ours),
            Ok(Some(piece.len() as u64)),
            "our frame's declared content size"
        );
    }
    let c_level = level.clamp(
        zstd::zstd_safe::min_c_level(),
        zstd::zstd_safe::max_c_level(),
    );
    let theirs = zstd::bulk::compress(input, c_level).expect("C zstd failed");
    let limit = 2 * input.len() + (1 << 20);
    let by_us =
        decompress(Compression::Zstd, &theirs, limit).expect("we could not decode C's frame");
    assert!(
        by_us == input,
        "we decoded C's level-{c_level} frame to other bytes"
    );
});
