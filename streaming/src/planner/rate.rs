//! How far the next micro-batch reads (§2.4 step 2): `maxOffsetsPerTrigger`
//! rate limiting (§3.1) and `minOffsetsPerTrigger` with `maxTriggerDelay`
//! (§3.2), with time passed in.

use super::PartitionOffsets;

/// `minOffsetsPerTrigger` with its `maxTriggerDelay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRows {
    /// Fewer new offsets than this delay the batch…
    pub rows: i64,
    /// …unless this long has passed since the last batch fired.
    pub max_trigger_delay_ms: i64,
}

/// A streaming source's read limit per trigger (Spark's `ReadLimit`);
/// neither part set means all available data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadLimit {
    /// `minOffsetsPerTrigger` and `maxTriggerDelay`.
    pub min_rows: Option<MinRows>,
    /// `maxOffsetsPerTrigger`.
    pub max_rows: Option<i64>,
}

impl ReadLimit {
    /// Everything available: what `Trigger.Once` uses whatever the options.
    pub fn all_available() -> Self {
        ReadLimit::default()
    }
}

/// Distributes `limit` offsets over the partitions of `until`
/// proportionally to their backlog (Spark's `rateLimit`).
///
/// A partition's backlog runs from its offset in `from` or, for a new
/// partition, from its earliest offset in `new_partition_earliest` (a new
/// partition missing there keeps its `until` offset, as in Spark). Each
/// partition with a backlog gets `limit × backlog / total` offsets, rounded
/// down, but at least one when the share is below one, so small partitions
/// are not starved; the cap is therefore not exact (20 partitions of 3
/// records with a cap of 5 read 20). Without any backlog `until` is returned.
///
/// ```
/// use ferrokafka_streaming::planner::{rate_limit, PartitionOffsets};
/// let from = PartitionOffsets::from_json(r#"{"t":{"0":0,"1":0,"2":0}}"#).unwrap();
/// let until = PartitionOffsets::from_json(r#"{"t":{"0":9000,"1":900,"2":10}}"#).unwrap();
/// let end = rate_limit(1000, &from, &until, &PartitionOffsets::new());
/// assert_eq!(end.to_json(), r#"{"t":{"0":908,"1":90,"2":1}}"#);
/// ```
pub fn rate_limit(
    limit: i64,
    from: &PartitionOffsets,
    until: &PartitionOffsets,
    new_partition_earliest: &PartitionOffsets,
) -> PartitionOffsets {
    let begin_of = |tp| from.get(tp).or_else(|| new_partition_earliest.get(tp));
    let backlog = |tp, end: i64| {
        begin_of(tp)
            .map(|begin| (begin, end - begin))
            .filter(|(_, size)| *size > 0)
    };
    let total = until
        .iter()
        .filter_map(|(tp, end)| backlog(tp, end))
        .fold(0i64, |sum, (_, size)| sum.saturating_add(size)) as f64;
    if total < 1.0 {
        return until.clone();
    }
    until
        .iter()
        .map(|(tp, end)| {
            let limited = match backlog(tp, end) {
                Some((begin, size)) => {
                    let prorate = limit as f64 * (size as f64 / total);
                    // Don't starve partitions whose share is below one.
                    let share = if prorate < 1.0 {
                        prorate.ceil()
                    } else {
                        prorate.floor()
                    } as i64;
                    let limited = if share > i64::MAX - begin {
                        i64::MAX
                    } else {
                        begin + share
                    };
                    end.min(limited)
                }
                None => end,
            };
            (tp.clone(), limited)
        })
        .collect()
}

/// The `minOffsetsPerTrigger` clock: when the last batch fired.
///
/// It starts at 0 and lives in memory, so the first trigger after every
/// (re)start fires (Spark's `lastTriggerMillis`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TriggerDelay {
    last_trigger_ms: i64,
}

impl TriggerDelay {
    /// A clock that has never fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// When the last batch fired (0: never).
    pub fn last_trigger_ms(&self) -> i64 {
        self.last_trigger_ms
    }

    /// Spark's `delayBatch`: whether to skip this trigger. Fires (returns
    /// `false` and records `now_ms`) when `maxTriggerDelay` has passed since
    /// the last batch fired, or when the new offsets — `latest − start` summed
    /// over `latest`'s partitions, a new partition counting from 0 — reach
    /// `min.rows`; otherwise skips (`true`).
    ///
    /// ```
    /// use ferrokafka_streaming::planner::{MinRows, PartitionOffsets, TriggerDelay};
    /// let min = MinRows { rows: 100, max_trigger_delay_ms: 60_000 };
    /// let start = PartitionOffsets::from_json(r#"{"t":{"0":0}}"#).unwrap();
    /// let latest = PartitionOffsets::from_json(r#"{"t":{"0":10}}"#).unwrap();
    /// let mut clock = TriggerDelay::new();
    /// assert!(!clock.delay_batch(&min, &start, &latest, 1_000_000)); // the first trigger fires
    /// assert!(clock.delay_batch(&min, &start, &latest, 1_030_000)); // 10 < 100, 30 s < 60 s
    /// assert!(!clock.delay_batch(&min, &start, &latest, 1_060_000)); // the delay has passed
    /// ```
    pub fn delay_batch(
        &mut self,
        min: &MinRows,
        start: &PartitionOffsets,
        latest: &PartitionOffsets,
        now_ms: i64,
    ) -> bool {
        if now_ms.saturating_sub(self.last_trigger_ms) >= min.max_trigger_delay_ms {
            self.last_trigger_ms = now_ms;
            return false;
        }
        let new_records: f64 = latest
            .iter()
            .map(|(tp, offset)| (offset - start.get(tp).unwrap_or(0)) as f64)
            .sum();
        if new_records < min.rows as f64 {
            return true;
        }
        self.last_trigger_ms = now_ms;
        false
    }
}

/// The end offsets of the next micro-batch (Spark's `latestOffset(start,
/// readLimit)`), or `None` when there is nothing to plan (no partitions).
///
/// With no limit the end is `latest`. With `min_rows`, a skipped trigger
/// ([`TriggerDelay::delay_batch`]) returns `start` unchanged — the engine
/// then sees no new data. Otherwise, with `max_rows`, the end is
/// [`rate_limit`]ed.
pub fn next_end_offsets(
    start: &PartitionOffsets,
    latest: &PartitionOffsets,
    limit: &ReadLimit,
    clock: &mut TriggerDelay,
    now_ms: i64,
    new_partition_earliest: &PartitionOffsets,
) -> Option<PartitionOffsets> {
    let skip = limit
        .min_rows
        .is_some_and(|min| clock.delay_batch(&min, start, latest, now_ms));
    let end = if skip {
        start.clone()
    } else if let Some(max) = limit.max_rows {
        rate_limit(max, start, latest, new_partition_earliest)
    } else {
        latest.clone()
    };
    (!end.is_empty()).then_some(end)
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
