#![no_main]
//! Our zstd encoder on any input at any level: it never fails or panics,
//! and our decoder gives the input back byte-exact. (The C library's decoder
//! reads the same output in `bench/zstd-peers/fuzz`, outside this crate.)
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrokafka_fuzz::fuzz_compress_zstd(data);
});
