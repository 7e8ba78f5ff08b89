//! The source's progress metrics (§7): Spark's offsets behind latest and
//! Databricks' bytes-behind estimate.

use std::collections::{BTreeMap, VecDeque};

use crate::java::double_to_string;
use crate::planner::{offsets_behind, offsets_behind_latest, PartitionOffsets};

/// The key of Databricks' bytes-behind metric.
pub const ESTIMATED_TOTAL_BYTES_BEHIND_LATEST: &str = "estimatedTotalBytesBehindLatest";

#[derive(Debug, Clone, Copy, PartialEq)]
struct BatchSize {
    at_ms: i64,
    bytes: u64,
    offsets: u64,
}

/// Databricks' `estimatedTotalBytesBehindLatest`, estimated over the
/// `bytesEstimateWindowLength` window.
///
/// Databricks does not document its method; this is the spec's (§7.2):
/// each batch records the bytes it read (keys, values and headers of its
/// records) and the offsets it covered (Σ until − from of its ranges). The
/// batches that ended within the last window give an average size per
/// offset, `Σ bytes / Σ offsets`, and the estimate is the offsets behind
/// latest, all partitions together, times that average. Offsets are
/// counted rather than records so that transaction markers and compacted
/// gaps, which the backlog counts too, are priced alike.
///
/// ```
/// use ferrokafka_streaming::progress::BytesBehindEstimator;
/// let mut estimator = BytesBehindEstimator::new(300_000);
/// estimator.record_batch(1_000, 20_480, 200); // 102.4 bytes per offset
/// assert_eq!(estimator.estimate(2_000, 50), Some(5_120.0));
/// assert_eq!(estimator.estimate(400_000, 50), None); // the batch left the window
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BytesBehindEstimator {
    window_ms: i64,
    batches: VecDeque<BatchSize>,
}

impl BytesBehindEstimator {
    /// An estimator over the last `window_ms` milliseconds
    /// ([`StreamSettings::bytes_estimate_window_ms`](crate::options::StreamSettings::bytes_estimate_window_ms)).
    pub fn new(window_ms: i64) -> Self {
        BytesBehindEstimator {
            window_ms,
            batches: VecDeque::new(),
        }
    }

    /// Records a batch that ended at `at_ms` having read `bytes` over
    /// `offsets` offsets. Batches that covered no offset are not recorded.
    pub fn record_batch(&mut self, at_ms: i64, bytes: u64, offsets: u64) {
        if offsets > 0 {
            self.batches.push_back(BatchSize {
                at_ms,
                bytes,
                offsets,
            });
        }
        self.forget_before(at_ms);
    }

    fn forget_before(&mut self, now_ms: i64) {
        let oldest = now_ms.saturating_sub(self.window_ms);
        while self
            .batches
            .front()
            .is_some_and(|batch| batch.at_ms < oldest)
        {
            self.batches.pop_front();
        }
    }

    /// The average bytes per offset of the batches in the window ending at
    /// `now_ms`; `None` without any.
    pub fn bytes_per_offset(&self, now_ms: i64) -> Option<f64> {
        let oldest = now_ms.saturating_sub(self.window_ms);
        let (bytes, offsets) = self
            .batches
            .iter()
            .filter(|batch| batch.at_ms >= oldest)
            .fold((0u128, 0u128), |(bytes, offsets), batch| {
                (
                    bytes + u128::from(batch.bytes),
                    offsets + u128::from(batch.offsets),
                )
            });
        (offsets > 0).then(|| bytes as f64 / offsets as f64)
    }

    /// The bytes behind for `offsets_behind` offsets: `0.0` when nothing is
    /// behind, `None` when something is but no batch in the window tells
    /// what an offset weighs.
    pub fn estimate(&self, now_ms: i64, offsets_behind: i64) -> Option<f64> {
        if offsets_behind <= 0 {
            return Some(0.0);
        }
        self.bytes_per_offset(now_ms)
            .map(|per_offset| offsets_behind as f64 * per_offset)
    }
}

/// The source's `metrics` map for a trigger that ended at `end` having
/// planned against `latest`: Spark's `avgOffsetsBehindLatest`,
/// `maxOffsetsBehindLatest` and `minOffsetsBehindLatest`
/// ([`offsets_behind_latest`]), and `estimatedTotalBytesBehindLatest`
/// (Java's `Double.toString`) when it can be estimated. Empty without an
/// end or without latest offsets, as in Spark.
pub fn source_metrics(
    latest: Option<&PartitionOffsets>,
    end: Option<&PartitionOffsets>,
    estimator: &BytesBehindEstimator,
    now_ms: i64,
) -> BTreeMap<String, String> {
    let (Some(latest), Some(end)) = (latest, end) else {
        return BTreeMap::new();
    };
    let mut metrics = offsets_behind_latest(latest, Some(end));
    if metrics.is_empty() {
        return metrics;
    }
    let behind: i64 = offsets_behind(latest, end)
        .into_iter()
        .fold(0i64, i64::saturating_add);
    if let Some(bytes) = estimator.estimate(now_ms, behind) {
        metrics.insert(
            ESTIMATED_TOTAL_BYTES_BEHIND_LATEST.to_owned(),
            double_to_string(bytes),
        );
    }
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(json: &str) -> PartitionOffsets {
        PartitionOffsets::from_json(json).unwrap()
    }

    #[test]
    fn metrics_equal_a_hand_computed_example() {
        // Window 300 s, now 200 s. In the window: 1000 bytes over 10
        // offsets (at 0 s) and 3000 bytes over 30 (at 100 s): 4000 / 40 =
        // 100 bytes per offset. The batch at −150 s is outside.
        let mut estimator = BytesBehindEstimator::new(300_000);
        estimator.record_batch(-150_000, 999_999, 1);
        estimator.record_batch(0, 1_000, 10);
        estimator.record_batch(100_000, 3_000, 30);
        estimator.record_batch(150_000, 5_000, 0); // no offsets: not an average
        assert_eq!(estimator.bytes_per_offset(200_000), Some(100.0));

        // Behind: 10, 0 and 41 offsets → min 0, max 41, avg 51 / 3 = 17.0,
        // bytes 51 × 100 = 5100.0.
        let latest = offsets(r#"{"t":{"0":110,"1":50,"2":141}}"#);
        let end = offsets(r#"{"t":{"0":100,"1":50,"2":100}}"#);
        let metrics = source_metrics(Some(&latest), Some(&end), &estimator, 200_000);
        let expected: BTreeMap<String, String> = [
            ("avgOffsetsBehindLatest", "17.0"),
            ("estimatedTotalBytesBehindLatest", "5100.0"),
            ("maxOffsetsBehindLatest", "41"),
            ("minOffsetsBehindLatest", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(metrics, expected);
    }

    #[test]
    fn the_estimate_follows_the_window() {
        let mut estimator = BytesBehindEstimator::new(60_000);
        assert_eq!(estimator.estimate(0, 0), Some(0.0));
        assert_eq!(estimator.estimate(0, 10), None);
        estimator.record_batch(10_000, 300, 3);
        assert_eq!(estimator.estimate(70_000, 10), Some(1_000.0));
        // One millisecond later the batch is older than the window.
        assert_eq!(estimator.estimate(70_001, 10), None);
        // Recording drops what left the window.
        estimator.record_batch(200_000, 50, 10);
        assert_eq!(estimator.batches.len(), 1);
        assert_eq!(estimator.estimate(200_000, 4), Some(20.0));
        // Java's rendering of large values.
        let latest = offsets(r#"{"t":{"0":2000000}}"#);
        let end = offsets(r#"{"t":{"0":0}}"#);
        let metrics = source_metrics(Some(&latest), Some(&end), &estimator, 200_000);
        assert_eq!(metrics[ESTIMATED_TOTAL_BYTES_BEHIND_LATEST], "1.0E7");
    }

    #[test]
    fn no_metrics_without_both_offsets_or_without_an_estimate() {
        let estimator = BytesBehindEstimator::new(60_000);
        let latest = offsets(r#"{"t":{"0":5}}"#);
        assert!(source_metrics(None, Some(&latest), &estimator, 0).is_empty());
        assert!(source_metrics(Some(&latest), None, &estimator, 0).is_empty());
        // Behind but nothing read yet: Spark's three metrics only.
        let end = offsets(r#"{"t":{"0":1}}"#);
        let metrics = source_metrics(Some(&latest), Some(&end), &estimator, 0);
        assert_eq!(metrics.len(), 3);
        // Caught up: nothing behind weighs nothing.
        let metrics = source_metrics(Some(&latest), Some(&latest), &estimator, 0);
        assert_eq!(metrics[ESTIMATED_TOTAL_BYTES_BEHIND_LATEST], "0.0");
    }
}
