//! Validation of an option map into batch or streaming settings, in the
//! order Spark validates (so the first error is Spark's first error).

use std::num::{NonZeroU32, NonZeroU64};

use super::error::{OptionError, OptionWarning};
use super::keys::{
    closest_known, is_source_option, names::*, RefusedProperty, Side, CLIENT_PREFIX,
    ENDING_LIMIT_OPTIONS, STARTING_LIMIT_OPTIONS,
};
use super::settings::{BatchSettings, ClientProperties, SourceSettings, StreamSettings};
use super::SourceOptions;
use ferrokafka::TopicPartition;

use crate::java::{java_trim, time_string_as_ms};
use crate::planner::{
    check_batch_limits, parse_assign_json, OffsetLimit, PartitionOffsets, RangeCalculator,
    TimestampStrategy, TopicPattern, TopicSelection, EARLIEST, LATEST,
};

const STREAM_GROUP_ID_PREFIX: &str = "spark-kafka-source";
const BATCH_GROUP_ID_PREFIX: &str = "spark-kafka-relation";
const DEFAULT_MAX_TRIGGER_DELAY: &str = "15m";
const DEFAULT_BYTES_ESTIMATE_WINDOW: &str = "300s";
/// Spark's `spark.network.timeout` default, 120 s.
const DEFAULT_POLL_TIMEOUT_MS: i64 = 120_000;

pub(super) fn batch(options: &SourceOptions) -> Result<BatchSettings, OptionError> {
    let mut warnings = warnings_for_any_query(options);
    let strategy = timestamp_strategy(options)?;
    let starting = batch_limit(
        options,
        STARTING_LIMIT_OPTIONS,
        OffsetLimit::Earliest,
        (OffsetLimit::Latest, OptionError::LatestStartInBatch),
        (LATEST, |partition| {
            OptionError::LatestPartitionStartInBatch { partition }
        }),
    )?;
    let ending = batch_limit(
        options,
        ENDING_LIMIT_OPTIONS,
        OffsetLimit::Latest,
        (OffsetLimit::Earliest, OptionError::EarliestEndInBatch),
        (EARLIEST, |partition| {
            OptionError::EarliestPartitionEndInBatch { partition }
        }),
    )?;
    let source = source_settings(
        options,
        starting,
        strategy,
        BATCH_GROUP_ID_PREFIX,
        &mut warnings,
    )?;
    for option in [
        MAX_OFFSETS_PER_TRIGGER,
        MIN_OFFSETS_PER_TRIGGER,
        MAX_TRIGGER_DELAY,
        BYTES_ESTIMATE_WINDOW_LENGTH,
    ] {
        if options.contains(option) {
            warnings.push(OptionWarning::IgnoredInBatch { option });
        }
    }
    check_batch_limits(&source.starting, &ending)?;
    log(&warnings);
    Ok(BatchSettings {
        source,
        ending,
        warnings,
    })
}

pub(super) fn streaming(options: &SourceOptions) -> Result<StreamSettings, OptionError> {
    let mut warnings = warnings_for_any_query(options);
    if options.contains(ENDING_OFFSETS) {
        return Err(OptionError::EndingOffsetsInStreaming);
    }
    if options.contains(ENDING_OFFSETS_BY_TIMESTAMP) {
        return Err(OptionError::EndingTimestampsInStreaming);
    }
    let strategy = timestamp_strategy(options)?;
    let starting = offset_limit(options, STARTING_LIMIT_OPTIONS, OffsetLimit::Latest)?;
    let source = source_settings(
        options,
        starting,
        strategy,
        STREAM_GROUP_ID_PREFIX,
        &mut warnings,
    )?;
    if options.contains(ENDING_TIMESTAMP) {
        warnings.push(OptionWarning::EndingTimestampIgnoredInStreaming);
    }
    let max_offsets_per_trigger = offsets_per_trigger(options, MAX_OFFSETS_PER_TRIGGER)?;
    let min_offsets_per_trigger = offsets_per_trigger(options, MIN_OFFSETS_PER_TRIGGER)?;
    let max_trigger_delay_ms =
        duration_ms(options, MAX_TRIGGER_DELAY, DEFAULT_MAX_TRIGGER_DELAY, 0)?;
    let bytes_estimate_window_ms = duration_ms(
        options,
        BYTES_ESTIMATE_WINDOW_LENGTH,
        DEFAULT_BYTES_ESTIMATE_WINDOW,
        1,
    )?;
    log(&warnings);
    Ok(StreamSettings {
        source,
        max_offsets_per_trigger,
        min_offsets_per_trigger,
        max_trigger_delay_ms,
        bytes_estimate_window_ms,
        warnings,
    })
}

fn log(warnings: &[OptionWarning]) {
    for warning in warnings {
        tracing::warn!("{warning}");
    }
}

pub(crate) fn has_client_prefix(key: &str) -> bool {
    key.get(..CLIENT_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(CLIENT_PREFIX))
}

/// Unknown and repeated options, and client properties not in lower case.
fn warnings_for_any_query(options: &SourceOptions) -> Vec<OptionWarning> {
    let mut warnings: Vec<OptionWarning> = options
        .repeated
        .iter()
        .map(|key| OptionWarning::RepeatedOption { key: key.clone() })
        .collect();
    for (key, _) in options.entries() {
        if has_client_prefix(key) {
            let property = &key[CLIENT_PREFIX.len()..];
            if property.chars().any(|c| c.is_ascii_uppercase()) {
                warnings.push(OptionWarning::ClientPropertyCase {
                    property: property.to_owned(),
                });
            }
        } else if !is_source_option(key) {
            warnings.push(OptionWarning::UnknownOption {
                key: key.to_owned(),
                closest: closest_known(key),
            });
        }
    }
    warnings
}

/// What batches and streams share, checked in Spark's order
/// (`validateGeneralOptions`), then the values Spark parses later.
fn source_settings(
    options: &SourceOptions,
    starting: OffsetLimit,
    timestamp_strategy: TimestampStrategy,
    default_group_id_prefix: &str,
    warnings: &mut Vec<OptionWarning>,
) -> Result<SourceSettings, OptionError> {
    let topics = topic_selection(options)?;
    let min_partitions = positive(
        options,
        MIN_PARTITIONS,
        i64::from(i32::MAX),
        "a whole number from 1 to 2147483647",
        "minPartitions must be positive",
    )?
    .map(|n| NonZeroU32::try_from(n).expect("at most i32::MAX"));
    let max_records_per_partition = positive(
        options,
        MAX_RECORDS_PER_PARTITION,
        i64::MAX,
        "a whole number from 1 to 9223372036854775807",
        "maxRecordsPerPartition must be positive",
    )?;
    let client_properties = client_properties(options)?;
    if client_properties.has_group_id() {
        warnings.push(OptionWarning::CustomGroupId);
        if options.contains(GROUP_ID_PREFIX) {
            warnings.push(OptionWarning::GroupIdPrefixIgnored);
        }
    }
    let client_options: Vec<&str> = options
        .entries()
        .map(|(key, _)| key)
        .filter(|key| has_client_prefix(key))
        .collect();
    if let Some((key, refusal)) =
        RefusedProperty::first_among(Side::Source, client_options.into_iter())
    {
        return Err(OptionError::RefusedClientProperty { key, refusal });
    }
    if java_trim(client_properties.bootstrap_servers()).is_empty() {
        return Err(OptionError::MissingBootstrapServers);
    }
    if let (Some(min), Some(max)) = (
        whole_number(options, MIN_OFFSETS_PER_TRIGGER)?,
        whole_number(options, MAX_OFFSETS_PER_TRIGGER)?,
    ) {
        if min > max {
            return Err(OptionError::MinAboveMax { min, max });
        }
    }
    Ok(SourceSettings {
        topics,
        client_properties,
        starting,
        timestamp_strategy,
        fail_on_data_loss: boolean(options, FAIL_ON_DATA_LOSS, true)?,
        poll_timeout_ms: bounded_long(options, POLL_TIMEOUT_MS, DEFAULT_POLL_TIMEOUT_MS, 0)?,
        fetch_offset_num_retries: fetch_offset_num_retries(options)?,
        fetch_offset_retry_interval_ms: bounded_long(
            options,
            FETCH_OFFSET_RETRY_INTERVAL_MS,
            1000,
            0,
        )?,
        calculator: RangeCalculator {
            min_partitions,
            max_records_per_partition,
        },
        group_id_prefix: options
            .get(GROUP_ID_PREFIX)
            .unwrap_or(default_group_id_prefix)
            .to_owned(),
        include_headers: boolean(options, INCLUDE_HEADERS, false)?,
    })
}

pub(crate) fn client_properties(options: &SourceOptions) -> Result<ClientProperties, OptionError> {
    let mut properties = ClientProperties::default();
    for (key, value) in options.entries() {
        if has_client_prefix(key) {
            let property = &key[CLIENT_PREFIX.len()..];
            if property.is_empty() {
                return Err(OptionError::EmptyClientProperty {
                    key: key.to_owned(),
                });
            }
            properties.insert(property.to_owned(), value.to_owned());
        }
    }
    Ok(properties)
}

fn topic_selection(options: &SourceOptions) -> Result<TopicSelection, OptionError> {
    // Spark's order in its messages.
    let given: Vec<&'static str> = [SUBSCRIBE, SUBSCRIBE_PATTERN, ASSIGN]
        .into_iter()
        .filter(|option| options.contains(option))
        .collect();
    let option = match given.as_slice() {
        [] => return Err(OptionError::NoTopicSelection),
        [one] => *one,
        _ => return Err(OptionError::SeveralTopicSelections { given }),
    };
    let value = options.get(option).unwrap_or_default();
    match option {
        ASSIGN => {
            if !java_trim(value).starts_with('{') {
                return Err(OptionError::EmptyAssign {
                    value: value.to_owned(),
                });
            }
            Ok(TopicSelection::Assign(
                parse_assign_json(value).map_err(OptionError::BadAssign)?,
            ))
        }
        SUBSCRIBE => {
            let topics: Vec<String> = value
                .split(',')
                .map(java_trim)
                .filter(|topic| !topic.is_empty())
                .map(str::to_owned)
                .collect();
            if topics.is_empty() {
                return Err(OptionError::EmptySubscribe {
                    value: value.to_owned(),
                });
            }
            Ok(TopicSelection::Subscribe(topics))
        }
        _ => {
            let pattern = java_trim(value);
            if pattern.is_empty() {
                return Err(OptionError::EmptyPattern {
                    value: value.to_owned(),
                });
            }
            let compiled =
                TopicPattern::new(pattern).map_err(|reason| OptionError::BadPattern {
                    value: pattern.to_owned(),
                    reason,
                })?;
            Ok(TopicSelection::Pattern(compiled))
        }
    }
}

fn timestamp_strategy(options: &SourceOptions) -> Result<TimestampStrategy, OptionError> {
    match options.get(TIMESTAMP_STRATEGY) {
        None => Ok(TimestampStrategy::Error),
        Some(value) => match value.to_uppercase().as_str() {
            "ERROR" => Ok(TimestampStrategy::Error),
            "LATEST" => Ok(TimestampStrategy::Latest),
            _ => Err(OptionError::BadTimestampStrategy {
                value: value.to_owned(),
            }),
        },
    }
}

/// A batch limit, refused when it is `refused` as a whole or holds the
/// sentinel `refused_offset` for a partition (a batch cannot start at latest
/// nor end at earliest).
fn batch_limit(
    options: &SourceOptions,
    limit_options: [&'static str; 3],
    default: OffsetLimit,
    (refused, whole_error): (OffsetLimit, OptionError),
    (refused_offset, partition_error): (i64, fn(TopicPartition) -> OptionError),
) -> Result<OffsetLimit, OptionError> {
    let limit = offset_limit(options, limit_options, default)?;
    if limit == refused {
        return Err(whole_error);
    }
    if let Some(tp) = limit.first_partition_with(refused_offset) {
        return Err(partition_error(tp.clone()));
    }
    Ok(limit)
}

/// Spark's `getKafkaOffsetRangeLimit`: the global timestamp wins over
/// per-partition timestamps, which win over offsets, silently.
fn offset_limit(
    options: &SourceOptions,
    [timestamp_option, timestamps_option, offsets_option]: [&'static str; 3],
    default: OffsetLimit,
) -> Result<OffsetLimit, OptionError> {
    if let Some(value) = options.get(timestamp_option) {
        let value = java_trim(value);
        let timestamp: i64 = value.parse().map_err(|_| OptionError::BadTimestamp {
            option: timestamp_option,
            value: value.to_owned(),
        })?;
        if timestamp < 0 {
            return Err(OptionError::NegativeTimestamp {
                option: timestamp_option,
                partition: None,
                timestamp,
            });
        }
        return Ok(OffsetLimit::Timestamp(timestamp));
    }
    if let Some(value) = options.get(timestamps_option) {
        let timestamps =
            PartitionOffsets::from_timestamps_json(java_trim(value)).map_err(|source| {
                OptionError::BadPartitionJson {
                    option: timestamps_option,
                    source,
                }
            })?;
        if let Some((tp, timestamp)) = timestamps.iter().find(|(_, t)| *t < 0) {
            return Err(OptionError::NegativeTimestamp {
                option: timestamps_option,
                partition: Some(tp.clone()),
                timestamp,
            });
        }
        return Ok(OffsetLimit::Timestamps(timestamps));
    }
    let Some(value) = options.get(offsets_option).map(java_trim) else {
        return Ok(default);
    };
    if value.eq_ignore_ascii_case("latest") {
        return Ok(OffsetLimit::Latest);
    }
    if value.eq_ignore_ascii_case("earliest") {
        return Ok(OffsetLimit::Earliest);
    }
    let offsets =
        PartitionOffsets::from_json(value).map_err(|source| OptionError::BadPartitionJson {
            option: offsets_option,
            source,
        })?;
    if let Some((tp, offset)) = offsets.iter().find(|(_, offset)| *offset < EARLIEST) {
        return Err(OptionError::BadOffset {
            option: offsets_option,
            partition: tp.clone(),
            offset,
        });
    }
    Ok(OffsetLimit::Offsets(offsets))
}

/// A whole-number option Spark requires to be positive (with
/// `spark_message` when it is not), at most `max`.
fn positive(
    options: &SourceOptions,
    option: &'static str,
    max: i64,
    accepted: &'static str,
    spark_message: &'static str,
) -> Result<Option<NonZeroU64>, OptionError> {
    let Some(value) = options.get(option) else {
        return Ok(None);
    };
    let invalid = |spark_message| OptionError::InvalidValue {
        option,
        value: value.to_owned(),
        accepted,
        spark_message,
    };
    let number: i64 = value.parse().map_err(|_| invalid(None))?;
    if number <= 0 {
        return Err(invalid(Some(spark_message)));
    }
    if number > max {
        return Err(invalid(None));
    }
    Ok(NonZeroU64::new(number.unsigned_abs()))
}

/// Scala's `toBoolean`: `true` or `false` in any case, nothing else.
fn boolean(
    options: &SourceOptions,
    option: &'static str,
    default: bool,
) -> Result<bool, OptionError> {
    match options.get(option) {
        None => Ok(default),
        Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
        Some(value) => Err(OptionError::InvalidValue {
            option,
            value: value.to_owned(),
            accepted: "true or false (any case)",
            spark_message: None,
        }),
    }
}

/// A Java `long` option, unchecked beyond parsing.
fn whole_number(options: &SourceOptions, option: &'static str) -> Result<Option<i64>, OptionError> {
    options
        .get(option)
        .map(|value| {
            value.parse().map_err(|_| OptionError::InvalidValue {
                option,
                value: value.to_owned(),
                accepted: "a whole number of 1 or more",
                spark_message: None,
            })
        })
        .transpose()
}

fn offsets_per_trigger(
    options: &SourceOptions,
    option: &'static str,
) -> Result<Option<i64>, OptionError> {
    let number = whole_number(options, option)?;
    if let Some(number) = number.filter(|n| *n < 1) {
        return Err(OptionError::InvalidValue {
            option,
            value: number.to_string(),
            accepted: "a whole number of 1 or more",
            spark_message: None,
        });
    }
    Ok(number)
}

/// A Java `long` option with a lower bound, 0 or 1.
fn bounded_long(
    options: &SourceOptions,
    option: &'static str,
    default: i64,
    least: i64,
) -> Result<i64, OptionError> {
    let Some(value) = options.get(option) else {
        return Ok(default);
    };
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= least)
        .ok_or_else(|| OptionError::InvalidValue {
            option,
            value: value.to_owned(),
            accepted: if least == 0 {
                "a whole number of milliseconds, 0 or more"
            } else {
                "a whole number of 1 or more"
            },
            spark_message: None,
        })
}

fn fetch_offset_num_retries(options: &SourceOptions) -> Result<u32, OptionError> {
    let Some(value) = options.get(FETCH_OFFSET_NUM_RETRIES) else {
        return Ok(3);
    };
    value
        .parse::<i32>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| OptionError::InvalidValue {
            option: FETCH_OFFSET_NUM_RETRIES,
            value: value.to_owned(),
            accepted: "a whole number of attempts from 1 to 2147483647",
            spark_message: None,
        })
}

/// A Spark duration string in milliseconds, at least `least`.
fn duration_ms(
    options: &SourceOptions,
    option: &'static str,
    default: &str,
    least: i64,
) -> Result<i64, OptionError> {
    let value = options.get(option).unwrap_or(default);
    let millis = time_string_as_ms(value).map_err(|source| OptionError::BadDuration {
        option,
        value: value.to_owned(),
        source,
    })?;
    if millis < least {
        return Err(OptionError::InvalidValue {
            option,
            value: value.to_owned(),
            accepted: if least == 0 {
                "a duration of 0 or more, such as 15m, 600s or 500ms"
            } else {
                "a duration of 1ms or more, such as 300s or 5m"
            },
            spark_message: None,
        });
    }
    Ok(millis)
}
