//! Streaming queries (`query::StreamingQuery`) end to end against Nisshi:
//! each trigger, `AvailableNow` draining its snapshot in
//! `maxOffsetsPerTrigger` batches, `minOffsetsPerTrigger` firing at
//! `maxTriggerDelay`, resuming after a clean stop, `failOnDataLoss` with
//! records deleted past the checkpoint, a topic deleted and recreated
//! smaller, and records deleted between planning and reading, progress
//! metrics against values computed by hand, and the progress JSON of a
//! real run read back with Spark's `StreamingQueryProgress` schema.
//!
//! One Nisshi serves the whole binary: `against_nisshi` starts it and runs
//! every scenario on it concurrently (each on its own topics and
//! checkpoint), reporting the failed ones by name.

#[path = "streaming_query/progress_schema.rs"]
mod progress_schema;
#[path = "streaming_query/scenarios.rs"]
mod scenarios;

use ferrokafka_tests::scenarios::{run_concurrently, Scenario};
use ferrokafka_tests::Nisshi;

#[test]
fn against_nisshi() {
    let broker = Nisshi::start();
    let bootstrap = broker.bootstrap();
    let scenarios: Vec<(&str, Scenario)> = vec![
        (
            "available_now_drains_in_limited_batches_then_the_next_run_continues",
            Box::pin(scenarios::available_now_drains_in_limited_batches(
                bootstrap.clone(),
            )),
        ),
        (
            "once_reads_everything_in_one_batch",
            Box::pin(scenarios::once_reads_everything_in_one_batch(
                bootstrap.clone(),
            )),
        ),
        (
            "processing_time_metrics_equal_hand_computed_values",
            Box::pin(
                scenarios::processing_time_metrics_equal_hand_computed_values(bootstrap.clone()),
            ),
        ),
        (
            "min_offsets_wait_then_fire_at_max_trigger_delay",
            Box::pin(scenarios::min_offsets_wait_then_fire_at_max_trigger_delay(
                bootstrap.clone(),
            )),
        ),
        (
            "a_clean_stop_resumes_exactly_where_it_stopped",
            Box::pin(scenarios::a_clean_stop_resumes_exactly_where_it_stopped(
                bootstrap.clone(),
            )),
        ),
        (
            "records_deleted_past_the_checkpoint",
            Box::pin(scenarios::records_deleted_past_the_checkpoint(
                bootstrap.clone(),
            )),
        ),
        (
            "topic_deleted_then_recreated_smaller",
            Box::pin(scenarios::topic_deleted_then_recreated_smaller(
                bootstrap.clone(),
            )),
        ),
        (
            "offsets_gone_between_planning_and_reading",
            Box::pin(scenarios::offsets_gone_between_planning_and_reading(
                bootstrap.clone(),
            )),
        ),
    ];
    run_concurrently(scenarios);
    drop(broker);
}
