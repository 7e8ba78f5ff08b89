#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrokafka_fuzz::fuzz_record_batch(ferrokafka_protocol::compression::Compression::None, data);
});
