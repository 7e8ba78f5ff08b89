#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrokafka_fuzz::fuzz_response::<kafka_protocol::messages::DescribeClusterResponse>(data);
});
