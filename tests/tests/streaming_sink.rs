//! The streaming crate's Kafka sink (Spark's `df.write.format("kafka")`)
//! against Nisshi: rows written and read back byte for byte with a
//! `BatchSource` (keys, values, nulls, headers with duplicates and null
//! values, the partition column, the default partitioner), the topic
//! option against the column, idempotence on and off, Arrow record batches
//! read and written back, micro-batches of a read (and a re-run batch
//! written twice), a streaming query writing through the sink, and
//! Spark's errors at run time.
//!
//! One Nisshi serves the whole binary: `against_nisshi` starts it and runs
//! every scenario on it concurrently (each on its own topics), reporting
//! the failed ones by name.

#[path = "streaming_sink/scenarios.rs"]
mod scenarios;

use ferrokafka_tests::scenarios::{run_concurrently, Scenario};
use ferrokafka_tests::Nisshi;

use scenarios::*;

#[test]
fn against_nisshi() {
    let broker = Nisshi::start();
    let bootstrap = broker.bootstrap();
    let scenarios: Vec<(&str, Scenario)> = vec![
        (
            "rows_read_back_byte_for_byte",
            Box::pin(rows_read_back_byte_for_byte(bootstrap.clone())),
        ),
        (
            "keyed_rows_follow_the_java_partitioner",
            Box::pin(keyed_rows_follow_the_java_partitioner(bootstrap.clone())),
        ),
        (
            "the_topic_option_overrides_the_column",
            Box::pin(the_topic_option_overrides_the_column(bootstrap.clone())),
        ),
        (
            "idempotence_on_and_off",
            Box::pin(idempotence_on_and_off(bootstrap.clone())),
        ),
        (
            "arrow_batches_write_back_as_read",
            Box::pin(arrow_batches_write_back_as_read(bootstrap.clone())),
        ),
        (
            "micro_batches_of_a_read",
            Box::pin(micro_batches_of_a_read(bootstrap.clone())),
        ),
        (
            "a_streaming_query_writes_through_the_sink",
            Box::pin(a_streaming_query_writes_through_the_sink(bootstrap.clone())),
        ),
        (
            "errors_at_run_time",
            Box::pin(errors_at_run_time(bootstrap.clone())),
        ),
    ];
    run_concurrently(scenarios);
    drop(broker);
}
