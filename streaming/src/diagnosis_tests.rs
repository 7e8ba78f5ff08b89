use super::*;
use crate::planner::{MinRows, TopicPattern};

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

fn topic(name: &str, partitions: i32) -> TopicListing {
    TopicListing {
        name: name.to_owned(),
        internal: name.starts_with("__"),
        partitions: (0..partitions).collect(),
    }
}

/// The facts of a query on `orders` (2 partitions) and `__consumer_offsets`,
/// which the tests adjust.
struct Setup {
    selection: TopicSelection,
    listing: Vec<TopicListing>,
    earliest: PartitionOffsets,
    latest: PartitionOffsets,
    position: PartitionOffsets,
    starting: OffsetLimit,
    initial: Option<PartitionOffsets>,
    offsets_read_without_rows: u64,
    read_limit: ReadLimit,
}

impl Setup {
    fn new() -> Self {
        let latest = offsets(r#"{"orders":{"0":100,"1":50}}"#);
        Setup {
            selection: TopicSelection::Subscribe(vec!["orders".into()]),
            listing: vec![topic("orders", 2), topic("__consumer_offsets", 50)],
            earliest: offsets(r#"{"orders":{"0":0,"1":0}}"#),
            latest: latest.clone(),
            position: latest.clone(),
            starting: OffsetLimit::Earliest,
            initial: Some(offsets(r#"{"orders":{"0":0,"1":0}}"#)),
            offsets_read_without_rows: 0,
            read_limit: ReadLimit::default(),
        }
    }

    fn diagnose(&self) -> Diagnosis {
        diagnose(&QueryFacts {
            selection: &self.selection,
            listing: &self.listing,
            earliest: &self.earliest,
            latest: &self.latest,
            position: &self.position,
            starting: &self.starting,
            initial: self.initial.as_ref(),
            offsets_read_without_rows: self.offsets_read_without_rows,
            read_limit: self.read_limit,
            last_trigger_fired_ms: 1_000_000,
            now_ms: 1_030_000,
        })
    }
}

#[test]
fn a_caught_up_query_says_so() {
    let diagnosis = Setup::new().diagnose();
    assert_eq!(diagnosis.reasons, [NoRowsReason::CaughtUp]);
    assert_eq!(
        diagnosis.to_string(),
        "no rows: every record up to the latest offsets has been read, and nothing new has been \
         written since"
    );
}

#[test]
fn an_empty_topic() {
    let mut setup = Setup::new();
    setup.earliest = offsets(r#"{"orders":{"0":0,"1":0}}"#);
    setup.latest = setup.earliest.clone();
    setup.position = setup.earliest.clone();
    let diagnosis = setup.diagnose();
    assert_eq!(
        diagnosis.reasons,
        [NoRowsReason::TopicEmpty {
            topic: "orders".into(),
            written: 0
        }]
    );
    assert!(diagnosis
        .to_string()
        .ends_with("topic orders is empty: nothing has been written to it yet"));

    // Written to, then emptied by retention.
    setup.earliest = offsets(r#"{"orders":{"0":70,"1":30}}"#);
    setup.latest = setup.earliest.clone();
    setup.position = setup.earliest.clone();
    let reasons = setup.diagnose().reasons;
    assert_eq!(
        reasons,
        [NoRowsReason::TopicEmpty {
            topic: "orders".into(),
            written: 100
        }]
    );
    assert!(reasons[0]
        .to_string()
        .contains("all 100 offsets written to it were removed"));
}

#[test]
fn starting_at_latest_after_existing_records() {
    let mut setup = Setup::new();
    setup.starting = OffsetLimit::Latest;
    setup.initial = Some(setup.latest.clone());
    let diagnosis = setup.diagnose();
    assert_eq!(
        diagnosis.reasons,
        [NoRowsReason::StartedAtLatest { skipped: 150 }]
    );
    let text = diagnosis.to_string();
    assert!(
        text.contains("after the up to 150 records already in the topic"),
        "{text}"
    );
    assert!(
        text.contains("startingOffsets=earliest and a new checkpoint location"),
        "{text}"
    );

    // Part of the topic had aged out before the start: only what was there counts.
    setup.earliest = offsets(r#"{"orders":{"0":60,"1":50}}"#);
    assert_eq!(
        setup.diagnose().reasons,
        [NoRowsReason::StartedAtLatest { skipped: 40 }]
    );

    // Once the query has read past its start, it is simply caught up.
    setup.initial = Some(offsets(r#"{"orders":{"0":90,"1":50}}"#));
    assert_eq!(setup.diagnose().reasons, [NoRowsReason::CaughtUp]);

    // Started at latest on an empty topic: the topic is the reason.
    let mut empty = Setup::new();
    empty.starting = OffsetLimit::Latest;
    empty.latest = empty.earliest.clone();
    empty.position = empty.earliest.clone();
    assert!(matches!(
        empty.diagnose().reasons[..],
        [NoRowsReason::TopicEmpty { .. }]
    ));
}

#[test]
fn a_missing_topic() {
    let mut setup = Setup::new();
    setup.selection = TopicSelection::Subscribe(vec!["ordres".into()]);
    let diagnosis = setup.diagnose();
    assert_eq!(
        diagnosis.reasons,
        [NoRowsReason::TopicsMissing {
            topics: vec!["ordres".into()]
        }]
    );
    assert_eq!(
        diagnosis.to_string(),
        "no rows: topic ordres does not exist: create it, or correct the topic option; the query \
         reads it once it exists"
    );
    // One topic missing next to one that exists and is read up to date.
    setup.selection = TopicSelection::Subscribe(vec!["orders".into(), "a".into(), "b".into()]);
    let reasons = setup.diagnose().reasons;
    assert_eq!(
        reasons,
        [NoRowsReason::TopicsMissing {
            topics: vec!["a".into(), "b".into()]
        }]
    );
    assert!(reasons[0]
        .to_string()
        .starts_with("topics a, b do not exist: create them"));
    // assign naming a missing topic.
    setup.selection = TopicSelection::Assign(vec![TopicPartition::new("gone", 0)]);
    assert_eq!(
        setup.diagnose().reasons,
        [NoRowsReason::TopicsMissing {
            topics: vec!["gone".into()]
        }]
    );
}

#[test]
fn no_partitions_assigned() {
    let mut setup = Setup::new();
    setup.selection = TopicSelection::Assign(vec![
        TopicPartition::new("orders", 2),
        TopicPartition::new("orders", 3),
    ]);
    let diagnosis = setup.diagnose();
    assert!(matches!(
        &diagnosis.reasons[..],
        [NoRowsReason::NoPartitionsAssigned { requested }] if requested.len() == 2
    ));
    assert!(diagnosis
        .to_string()
        .contains("none of the partitions in assign (orders-2, orders-3) exists"));
}

#[test]
fn a_pattern_matching_nothing_and_internal_topics() {
    let mut setup = Setup::new();
    setup.selection = TopicSelection::Pattern(TopicPattern::new("^payments").unwrap());
    let diagnosis = setup.diagnose();
    assert_eq!(
        diagnosis.reasons,
        [NoRowsReason::NoTopicMatches {
            pattern: "^payments".into()
        }]
    );
    assert!(diagnosis
        .to_string()
        .contains("subscribePattern '^payments'"));

    setup.selection = TopicSelection::Subscribe(vec!["__consumer_offsets".into()]);
    let diagnosis = setup.diagnose();
    assert_eq!(
        diagnosis.reasons,
        [NoRowsReason::InternalTopics {
            topics: vec!["__consumer_offsets".into()]
        }]
    );
    assert!(diagnosis
        .to_string()
        .contains("topic __consumer_offsets is Kafka-internal"));
}

#[test]
fn waiting_for_min_offsets_per_trigger() {
    let mut setup = Setup::new();
    setup.position = offsets(r#"{"orders":{"0":90,"1":45}}"#);
    setup.read_limit = ReadLimit {
        min_rows: Some(MinRows {
            rows: 100,
            max_trigger_delay_ms: 60_000,
        }),
        max_rows: None,
    };
    let diagnosis = setup.diagnose();
    assert_eq!(
        diagnosis.reasons,
        [NoRowsReason::WaitingForMinOffsets {
            available: 15,
            min_offsets: 100,
            fires_in_ms: 30_000
        }]
    );
    assert!(diagnosis
        .to_string()
        .contains("15 new offsets wait for minOffsetsPerTrigger=100: a batch runs when that many have arrived, or in 30 s"));
}

#[test]
fn offsets_without_records_and_unexplained_backlogs() {
    let mut setup = Setup::new();
    setup.offsets_read_without_rows = 12;
    let reasons = setup.diagnose().reasons;
    assert_eq!(
        reasons,
        [NoRowsReason::OffsetsWithoutRecords { offsets: 12 }]
    );
    assert!(reasons[0].to_string().contains("transaction markers"));

    // A backlog that no rule explains: no guess.
    let mut backlog = Setup::new();
    backlog.position = offsets(r#"{"orders":{"0":10,"1":10}}"#);
    let diagnosis = backlog.diagnose();
    assert!(diagnosis.reasons.is_empty());
    assert!(diagnosis.to_string().contains("look for errors"));
}
