//! Spark's `JavaUtils.timeStringAsMs`, which reads `maxTriggerDelay` and
//! `bytesEstimateWindowLength`.

/// Why a duration string was refused; the text follows Spark's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Time must be specified as seconds (s), milliseconds (ms), microseconds (us), \
     minutes (m or min), hour (h), or day (d). E.g. 50s, 100ms, or 250us. {detail}"
)]
pub struct TimeStringError {
    /// What exactly was wrong: the shape, the suffix or the number.
    pub detail: String,
}

/// Spark's `timeStringAsMs`: an optionally negative whole number of ASCII
/// digits with an optional unit (`us`, `ms`, `s`, `m`, `min`, `h`, `d`; any
/// case; a bare number is milliseconds), surrounding spaces ignored, nothing
/// between number and unit. Microseconds truncate towards zero; results
/// beyond the `i64` range saturate, as Java's `TimeUnit.convert` does.
///
/// ```
/// use ferrokafka_streaming::java::time_string_as_ms;
/// assert_eq!(time_string_as_ms("600s").unwrap(), 600_000);
/// assert_eq!(time_string_as_ms("15m").unwrap(), 900_000);
/// assert_eq!(time_string_as_ms("250").unwrap(), 250);
/// assert!(time_string_as_ms("15 m").is_err());
/// ```
pub fn time_string_as_ms(value: &str) -> Result<i64, TimeStringError> {
    let lower = value.to_lowercase();
    let text = super::java_trim(&lower);
    let digits_start = usize::from(text.starts_with('-'));
    let digits_end = digits_start
        + text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
    let suffix = &text[digits_end..];
    let shape_ok = digits_end > digits_start && suffix.bytes().all(|b| b.is_ascii_lowercase());
    if !shape_ok {
        return Err(TimeStringError {
            detail: format!("Failed to parse time string: {value}"),
        });
    }
    let number: i64 = text[..digits_end].parse().map_err(|_| TimeStringError {
        detail: format!("For input string: \"{}\"", &text[..digits_end]),
    })?;
    let millis_per_unit: i64 = match suffix {
        "us" => return Ok(number / 1000),
        "" | "ms" => 1,
        "s" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(TimeStringError {
                detail: format!("Invalid suffix: \"{other}\""),
            })
        }
    };
    Ok(number.saturating_mul(millis_per_unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit() {
        assert_eq!(time_string_as_ms("1500us"), Ok(1));
        assert_eq!(time_string_as_ms("-1500us"), Ok(-1));
        assert_eq!(time_string_as_ms("100ms"), Ok(100));
        assert_eq!(time_string_as_ms("100"), Ok(100));
        assert_eq!(time_string_as_ms("50s"), Ok(50_000));
        assert_eq!(time_string_as_ms("2m"), Ok(120_000));
        assert_eq!(time_string_as_ms("2min"), Ok(120_000));
        assert_eq!(time_string_as_ms("3h"), Ok(10_800_000));
        assert_eq!(time_string_as_ms("1d"), Ok(86_400_000));
        assert_eq!(time_string_as_ms("  15M \t"), Ok(900_000));
        assert_eq!(time_string_as_ms("-5s"), Ok(-5_000));
    }

    #[test]
    fn saturates_like_time_unit_convert() {
        assert_eq!(time_string_as_ms("9223372036854775807d"), Ok(i64::MAX));
        assert_eq!(time_string_as_ms("-9223372036854775807d"), Ok(i64::MIN));
    }

    #[test]
    fn refusals_say_what_is_accepted() {
        let err = time_string_as_ms("15 m").unwrap_err();
        assert_eq!(err.detail, "Failed to parse time string: 15 m");
        assert!(err
            .to_string()
            .starts_with("Time must be specified as seconds (s)"));
        let err = time_string_as_ms("10w").unwrap_err();
        assert_eq!(err.detail, "Invalid suffix: \"w\"");
        for bad in ["", "s", "+5s", "1.5s", "5s5", "-", "5 s"] {
            assert!(time_string_as_ms(bad).is_err(), "{bad:?} must be refused");
        }
        let err = time_string_as_ms("99999999999999999999").unwrap_err();
        assert!(err.detail.starts_with("For input string"), "{err}");
    }
}
