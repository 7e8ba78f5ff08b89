//! Batch reads of the streaming crate (Spark's `spark.read.format("kafka")`)
//! end to end: against Nisshi, every start and end form, every topic
//! selection, task splitting, headers, late binding, data loss, empty
//! ranges, one client for all tasks, Arrow against rows, and the refusals;
//! against the fake cluster, the seed's SSL and Event Hubs option maps.
//!
//! One Nisshi serves the whole binary: `against_nisshi` starts it and runs
//! every scenario on it concurrently (each on its own topics), reporting
//! the failed ones by name.

#[path = "streaming_batch/columns.rs"]
mod columns;
use ferrokafka_tests::oauth_endpoint;
#[path = "streaming_batch/reads.rs"]
mod reads;
#[path = "streaming_batch/refusals.rs"]
mod refusals;
#[path = "streaming_batch/seed_maps.rs"]
mod seed_maps;
#[path = "streaming_batch/support.rs"]
mod support;

use ferrokafka_tests::scenarios::{run_concurrently, Scenario};
use ferrokafka_tests::Nisshi;

use columns::arrow_batches_hold_the_rows;
use reads::*;
use refusals::bad_options_are_refused;
use seed_maps::seed_plain_map_reads;

#[test]
fn against_nisshi() {
    let broker = Nisshi::start();
    let bootstrap = broker.bootstrap();
    let scenarios: Vec<(&str, Scenario)> = vec![
        (
            "starts_and_ends_in_every_form",
            Box::pin(starts_and_ends_in_every_form(bootstrap.clone())),
        ),
        (
            "topic_selections",
            Box::pin(topic_selections(bootstrap.clone())),
        ),
        (
            "min_partitions_and_max_records_per_partition",
            Box::pin(min_partitions_and_max_records_per_partition(
                bootstrap.clone(),
            )),
        ),
        (
            "headers_included_or_not",
            Box::pin(headers_included_or_not(bootstrap.clone())),
        ),
        ("late_binding", Box::pin(late_binding(bootstrap.clone()))),
        ("data_loss", Box::pin(data_loss(bootstrap.clone()))),
        (
            "empty_ranges_send_no_fetch",
            Box::pin(empty_ranges_send_no_fetch(bootstrap.clone())),
        ),
        (
            "twelve_tasks_share_one_client",
            Box::pin(twelve_tasks_share_one_client(bootstrap.clone())),
        ),
        (
            "arrow_batches_hold_the_rows",
            Box::pin(arrow_batches_hold_the_rows(bootstrap.clone())),
        ),
        (
            "bad_options_are_refused",
            Box::pin(bad_options_are_refused(bootstrap.clone())),
        ),
        (
            "seed_plain_map_reads",
            Box::pin(seed_plain_map_reads(bootstrap.clone())),
        ),
    ];
    run_concurrently(scenarios);
    drop(broker);
}
