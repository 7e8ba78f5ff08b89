//! Spark's offset JSON (`KafkaSourceOffset`): `{"topic":{"partition":offset}}`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use ferrokafka::TopicPartition;
use serde_json::Value;

/// Offsets (or, in [`OffsetLimit::Timestamps`](super::OffsetLimit::Timestamps),
/// timestamps) per topic-partition, ordered by topic then partition.
///
/// The JSON form is Spark's: partitions are string keys, offsets numbers,
/// `{"orders":{"0":23,"1":-1}}`. [`from_json`](Self::from_json) accepts keys
/// in any order, as Spark's checkpoints and progress reports may have them;
/// [`to_json`](Self::to_json) writes them sorted.
///
/// ```
/// use ferrokafka_streaming::planner::PartitionOffsets;
/// let offsets = PartitionOffsets::from_json(r#"{"b":{"1":5,"0":7},"a":{"0":-2}}"#).unwrap();
/// assert_eq!(offsets.to_json(), r#"{"a":{"0":-2},"b":{"0":7,"1":5}}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionOffsets(pub BTreeMap<TopicPartition, i64>);

/// The example Spark's offset-JSON error shows.
pub(crate) const OFFSETS_EXAMPLE: &str = r#"{"topicA":{"0":23,"1":-1},"topicB":{"0":-2}}"#;
/// The example Spark's timestamp-JSON error shows.
pub(crate) const TIMESTAMPS_EXAMPLE: &str =
    r#"{"topicA": {"0": 123456789, "1": 123456789}, "topicB": {"0": 123456789, "1": 123456789}}"#;
/// The example Spark's `assign` error shows.
pub(crate) const ASSIGN_EXAMPLE: &str = r#"{"topicA":[0,1],"topicB":[0,1]}"#;

/// JSON that is not in Spark's offset, timestamp or partition-list shape.
///
/// The message is Spark's (`Expected e.g. …, got …`) followed by what in
/// particular was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Expected e.g. {example}, got {got} ({detail})")]
pub struct JsonShapeError {
    /// Spark's example of the expected shape.
    pub example: &'static str,
    /// The text that was given.
    pub got: String,
    /// What in particular was wrong.
    pub detail: String,
}

impl PartitionOffsets {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses Spark's offset JSON, in any key order. Offsets must be whole
    /// numbers in the `i64` range, partitions whole numbers in the `i32`
    /// range (as JSON strings). A repeated key keeps its last value, as
    /// Spark's parser does.
    pub fn from_json(text: &str) -> Result<Self, JsonShapeError> {
        parse_nested(text, OFFSETS_EXAMPLE)
    }

    /// Parses Spark's per-partition timestamp JSON (`startingOffsetsByTimestamp`),
    /// the same shape as offsets but with Spark's timestamp example in errors.
    pub fn from_timestamps_json(text: &str) -> Result<Self, JsonShapeError> {
        parse_nested(text, TIMESTAMPS_EXAMPLE)
    }

    /// Spark's JSON, sorted by topic then partition number.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let mut current_topic: Option<&str> = None;
        for (tp, offset) in &self.0 {
            if current_topic != Some(&tp.topic) {
                if current_topic.is_some() {
                    out.push_str("},");
                }
                out.push_str(&Value::String(tp.topic.to_string()).to_string());
                out.push_str(":{");
                current_topic = Some(&tp.topic);
            } else {
                out.push(',');
            }
            out.push_str(&format!("\"{}\":{offset}", tp.partition));
        }
        if current_topic.is_some() {
            out.push('}');
        }
        out.push('}');
        out
    }

    /// The offset of `tp`, if present.
    pub fn get(&self, tp: &TopicPartition) -> Option<i64> {
        self.0.get(tp).copied()
    }

    /// Sets the offset of `tp`.
    pub fn insert(&mut self, tp: TopicPartition, offset: i64) {
        self.0.insert(tp, offset);
    }

    /// Whether no partition is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of partitions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Partitions and offsets, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, i64)> {
        self.0.iter().map(|(tp, offset)| (tp, *offset))
    }

    /// The partitions, sorted.
    pub fn partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.0.keys()
    }

    /// The partitions of `self` that `other` lacks, sorted.
    pub fn partitions_missing_from(&self, other: &PartitionOffsets) -> Vec<TopicPartition> {
        self.partitions()
            .filter(|tp| other.get(tp).is_none())
            .cloned()
            .collect()
    }

    /// Whether some partition's offset is above its offset in `reference`
    /// (partitions absent from `reference` are not compared).
    ///
    /// Spark asks this of the known start offsets against freshly fetched
    /// latest offsets, and fetches again (up to `fetchOffset.numRetries`
    /// attempts, `fetchOffset.retryIntervalMs` apart) while it holds, since a
    /// broker may briefly report a stale latest offset (KAFKA-7703); after
    /// that it accepts what Kafka says.
    pub fn any_above(&self, reference: &PartitionOffsets) -> bool {
        self.iter()
            .any(|(tp, offset)| reference.get(tp).is_some_and(|limit| offset > limit))
    }
}

impl fmt::Display for PartitionOffsets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl FromIterator<(TopicPartition, i64)> for PartitionOffsets {
    fn from_iter<I: IntoIterator<Item = (TopicPartition, i64)>>(iter: I) -> Self {
        PartitionOffsets(iter.into_iter().collect())
    }
}

impl From<BTreeMap<TopicPartition, i64>> for PartitionOffsets {
    fn from(map: BTreeMap<TopicPartition, i64>) -> Self {
        PartitionOffsets(map)
    }
}

/// Parses the `assign` JSON `{"topicA":[0,1],"topicB":[2]}` into its
/// partitions, sorted and without repeats.
pub(crate) fn parse_assign_json(text: &str) -> Result<Vec<TopicPartition>, JsonShapeError> {
    let mut partitions = Vec::new();
    for_each_topic(text, ASSIGN_EXAMPLE, |topic, list, fail| {
        let Value::Array(items) = list else {
            return Err(fail(format!(
                "topic \"{topic}\" must map to a list of partition numbers"
            )));
        };
        for item in items {
            let partition = item
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    fail(format!(
                        "partition {item} of topic \"{topic}\" is not a whole number from 0 to {}",
                        i32::MAX
                    ))
                })?;
            partitions.push(TopicPartition {
                topic: topic.clone(),
                partition,
            });
        }
        Ok(())
    })?;
    partitions.sort();
    partitions.dedup();
    Ok(partitions)
}

fn parse_nested(text: &str, example: &'static str) -> Result<PartitionOffsets, JsonShapeError> {
    let mut offsets = BTreeMap::new();
    for_each_topic(text, example, |topic, partitions, fail| {
        let Value::Object(partitions) = partitions else {
            return Err(fail(format!(
                "topic \"{topic}\" must map to an object of partition to number"
            )));
        };
        for (partition, value) in partitions {
            let partition_number: i32 = partition.parse().map_err(|_| {
                fail(format!(
                    "partition key \"{partition}\" of topic \"{topic}\" is not a whole number"
                ))
            })?;
            let number = value.as_i64().ok_or_else(|| {
                fail(format!(
                    "the value {value} of {topic}-{partition_number} is not a whole number in the 64-bit range"
                ))
            })?;
            let tp = TopicPartition {
                topic: topic.clone(),
                partition: partition_number,
            };
            offsets.insert(tp, number);
        }
        Ok(())
    })?;
    Ok(PartitionOffsets(offsets))
}

/// Calls `visit` with each topic of the JSON object `text` and its value,
/// and a maker of errors showing Spark's `example`.
fn for_each_topic(
    text: &str,
    example: &'static str,
    mut visit: impl FnMut(
        &Arc<str>,
        Value,
        &dyn Fn(String) -> JsonShapeError,
    ) -> Result<(), JsonShapeError>,
) -> Result<(), JsonShapeError> {
    let fail = |detail: String| JsonShapeError {
        example,
        got: text.to_owned(),
        detail,
    };
    let topics = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(fail("not a JSON object".to_owned())),
        Err(err) => return Err(fail(format!("not valid JSON: {err}"))),
    };
    for (topic, value) in topics {
        visit(&Arc::from(topic.as_str()), value, &fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    #[test]
    fn parse_is_order_insensitive_and_write_is_sorted() {
        // Spark's real progress output has keys in hash order.
        let shuffled = r#"{"t":{"2":20,"5":50,"4":40,"1":10,"3":30,"0":0},"a":{"0":1}}"#;
        let sorted = r#"{"a":{"0":1},"t":{"0":0,"1":10,"2":20,"3":30,"4":40,"5":50}}"#;
        let parsed = PartitionOffsets::from_json(shuffled).unwrap();
        assert_eq!(parsed, PartitionOffsets::from_json(sorted).unwrap());
        assert_eq!(parsed.to_json(), sorted);
        assert_eq!(parsed.get(&tp("t", 4)), Some(40));
        // Partition 10 sorts after 9 (numbers, not strings).
        let numeric = PartitionOffsets::from_json(r#"{"t":{"10":1,"9":2}}"#).unwrap();
        assert_eq!(numeric.to_json(), r#"{"t":{"9":2,"10":1}}"#);
    }

    #[test]
    fn round_trips_sentinels_empty_maps_and_odd_topic_names() {
        for json in [
            r#"{}"#,
            r#"{"t":{"0":-2,"1":-1}}"#,
            r#"{"we\"ird":{"0":9223372036854775807}}"#,
        ] {
            assert_eq!(PartitionOffsets::from_json(json).unwrap().to_json(), json);
        }
        let spaced = PartitionOffsets::from_json(" { \"t\" : { \"0\" : 5 } } ").unwrap();
        assert_eq!(spaced.to_json(), r#"{"t":{"0":5}}"#);
    }

    #[test]
    fn bad_shapes_give_sparks_message_with_the_detail() {
        let err = PartitionOffsets::from_json("earliest-ish").unwrap_err();
        assert!(
            err.to_string().starts_with(
                r#"Expected e.g. {"topicA":{"0":23,"1":-1},"topicB":{"0":-2}}, got earliest-ish ("#
            ),
            "{err}"
        );
        for (bad, detail) in [
            (r#"[1]"#, "not a JSON object"),
            (r#"{"t":[0]}"#, "must map to an object"),
            (r#"{"t":{"x":1}}"#, "partition key \"x\""),
            (r#"{"t":{"0":1.5}}"#, "is not a whole number"),
            (r#"{"t":{"0":"5"}}"#, "is not a whole number"),
            (r#"{"t":{"99999999999":1}}"#, "partition key"),
        ] {
            let err = PartitionOffsets::from_json(bad).unwrap_err();
            assert!(err.detail.contains(detail), "{bad}: {err}");
            assert_eq!(err.got, bad);
        }
        let err = PartitionOffsets::from_timestamps_json("x").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Expected e.g. {\"topicA\": {\"0\": 123456789"));
    }

    #[test]
    fn assign_json() {
        let parsed = parse_assign_json(r#"{"b":[2,0,2],"a":[1]}"#).unwrap();
        assert_eq!(parsed, vec![tp("a", 1), tp("b", 0), tp("b", 2)]);
        assert_eq!(parse_assign_json("{}").unwrap(), vec![]);
        for bad in [
            r#"{"a":1}"#,
            r#"{"a":[-1]}"#,
            r#"{"a":["0"]}"#,
            "{",
            r#"{"a":[0.5]}"#,
        ] {
            let err = parse_assign_json(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(r#"Expected e.g. {"topicA":[0,1],"topicB":[0,1]}, got "#),
                "{err}"
            );
        }
    }
}
