//! The source's progress metrics (§7.1): how far each partition is behind
//! the latest offset after a batch.

use std::collections::BTreeMap;

use super::PartitionOffsets;
use crate::java::double_to_string;

/// `latest − end` for each partition of `latest` that `end` names, in
/// `latest`'s order: how far a batch that ended at `end` is behind.
///
/// ```
/// use ferrokafka_streaming::planner::{offsets_behind, PartitionOffsets};
/// let latest = PartitionOffsets::from_json(r#"{"orders":{"0":90,"1":160,"2":5}}"#).unwrap();
/// let end = PartitionOffsets::from_json(r#"{"orders":{"0":90,"1":150}}"#).unwrap();
/// assert_eq!(offsets_behind(&latest, &end), [0, 10]);
/// ```
pub fn offsets_behind(latest: &PartitionOffsets, end: &PartitionOffsets) -> Vec<i64> {
    latest
        .iter()
        .filter_map(|(tp, latest)| end.get(tp).map(|consumed| latest - consumed))
        .collect()
}

/// Spark's `minOffsetsBehindLatest`, `maxOffsetsBehindLatest` and
/// `avgOffsetsBehindLatest` for a batch that ended at `end`, given the
/// `latest` offsets fetched while planning it: `latest − end` per partition
/// of `latest`, the average rendered with Java's `Double.toString`.
///
/// Empty without an end or when no partition of `latest` is in `end`
/// (Spark fails there instead; its end offsets normally cover every latest
/// partition). Keys are sorted, as in progress JSON.
///
/// ```
/// use ferrokafka_streaming::planner::{offsets_behind_latest, PartitionOffsets};
/// let latest = PartitionOffsets::from_json(r#"{"orders":{"0":90,"1":160}}"#).unwrap();
/// let end = PartitionOffsets::from_json(r#"{"orders":{"0":90,"1":150}}"#).unwrap();
/// let metrics = offsets_behind_latest(&latest, Some(&end));
/// assert_eq!(metrics["avgOffsetsBehindLatest"], "5.0");
/// assert_eq!(metrics["maxOffsetsBehindLatest"], "10");
/// assert_eq!(metrics["minOffsetsBehindLatest"], "0");
/// ```
pub fn offsets_behind_latest(
    latest: &PartitionOffsets,
    end: Option<&PartitionOffsets>,
) -> BTreeMap<String, String> {
    let Some(end) = end else {
        return BTreeMap::new();
    };
    let behind = offsets_behind(latest, end);
    let (Some(min), Some(max)) = (behind.iter().min(), behind.iter().max()) else {
        return BTreeMap::new();
    };
    let average = behind.iter().map(|b| *b as f64).sum::<f64>() / behind.len() as f64;
    BTreeMap::from([
        (
            "avgOffsetsBehindLatest".to_owned(),
            double_to_string(average),
        ),
        ("maxOffsetsBehindLatest".to_owned(), max.to_string()),
        ("minOffsetsBehindLatest".to_owned(), min.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_metrics() {
        let latest = PartitionOffsets::from_json(r#"{"t":{"0":1000,"1":2685}}"#).unwrap();
        let end = PartitionOffsets::from_json(r#"{"t":{"0":1000,"1":1000}}"#).unwrap();
        let metrics = offsets_behind_latest(&latest, Some(&end));
        assert_eq!(metrics["avgOffsetsBehindLatest"], "842.5");
        assert_eq!(metrics["minOffsetsBehindLatest"], "0");
        assert_eq!(metrics["maxOffsetsBehindLatest"], "1685");
        let keys: Vec<&String> = metrics.keys().collect();
        assert_eq!(
            keys,
            [
                "avgOffsetsBehindLatest",
                "maxOffsetsBehindLatest",
                "minOffsetsBehindLatest"
            ]
        );

        let caught_up = offsets_behind_latest(&latest, Some(&latest));
        assert_eq!(caught_up["avgOffsetsBehindLatest"], "0.0");

        let far = PartitionOffsets::from_json(r#"{"t":{"0":20000000}}"#).unwrap();
        let zero = PartitionOffsets::from_json(r#"{"t":{"0":0}}"#).unwrap();
        assert_eq!(
            offsets_behind_latest(&far, Some(&zero))["avgOffsetsBehindLatest"],
            "2.0E7"
        );
    }

    #[test]
    fn no_end_or_no_common_partition_gives_no_metrics() {
        let latest = PartitionOffsets::from_json(r#"{"t":{"0":5}}"#).unwrap();
        assert!(offsets_behind_latest(&latest, None).is_empty());
        let other = PartitionOffsets::from_json(r#"{"u":{"0":5}}"#).unwrap();
        assert!(offsets_behind_latest(&latest, Some(&other)).is_empty());
    }
}
