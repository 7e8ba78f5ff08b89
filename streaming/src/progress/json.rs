//! Spark's JSON rendering of progress records: key order, omitted empty
//! maps and non-finite numbers, one-decimal rates and ISO timestamps.

use std::collections::BTreeMap;

use serde_json::Value;

/// Writes a JSON object with keys in the order they are added.
pub(super) struct ObjectWriter {
    out: String,
    empty: bool,
}

impl ObjectWriter {
    pub(super) fn new() -> Self {
        ObjectWriter {
            out: String::from("{"),
            empty: true,
        }
    }

    /// Adds `key` with `value`, which is already JSON.
    pub(super) fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push_str(&string(key));
        self.out.push(':');
        self.out.push_str(value);
        self
    }

    /// Adds `key` only when `value` is present (Spark's `JNothing`).
    pub(super) fn optional(&mut self, key: &str, value: Option<String>) -> &mut Self {
        if let Some(value) = value {
            self.raw(key, &value);
        }
        self
    }

    pub(super) fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.out);
        out.push('}');
        out
    }
}

/// A JSON string literal.
pub(super) fn string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A JSON string, or `null` (Spark's `JString(null)`).
pub(super) fn nullable_string(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_owned(), string)
}

/// A map with sorted keys, or nothing when empty (Spark's
/// `safeMapToJValue`).
pub(super) fn sorted_map<V>(
    map: &BTreeMap<String, V>,
    render: impl Fn(&V) -> String,
) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    let mut object = ObjectWriter::new();
    for (key, value) in map {
        object.raw(key, &render(value));
    }
    Some(object.finish())
}

/// A rate as Spark ≥ 4.1 writes it (SPARK-53491): the double's shortest
/// decimal digits rounded half-up to one decimal place, never in
/// exponent form (`16.7`, `69230769.2`, `0.0`); nothing for NaN and
/// infinities.
pub(super) fn rate(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    // Rust prints the shortest digits that identify the double, without an
    // exponent: the digits Scala's BigDecimal(double) takes from Java.
    let digits = format!("{}", value.abs());
    let (whole, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
    let mut fraction = fraction.bytes();
    let tenths = fraction.next().unwrap_or(b'0');
    let round_up = fraction.next().is_some_and(|hundredths| hundredths >= b'5');
    let mut number: Vec<u8> = whole.bytes().chain([tenths]).collect();
    if round_up {
        increment_decimal(&mut number);
    }
    let split = number.len() - 1;
    let text = format!(
        "{}.{}",
        String::from_utf8_lossy(&number[..split]),
        number[split] as char
    );
    let negative = value < 0.0 && number.iter().any(|digit| *digit != b'0');
    Some(if negative { format!("-{text}") } else { text })
}

/// Adds one to a string of decimal digits.
fn increment_decimal(digits: &mut Vec<u8>) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// Milliseconds since the epoch as Spark's progress timestamp:
/// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` in UTC.
pub(super) fn timestamp(epoch_ms: i64) -> String {
    let seconds = epoch_ms.div_euclid(1000);
    let millis = epoch_ms.rem_euclid(1000);
    let (year, month, day) = civil_date(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, by counting
/// 400-year eras (146097 days) from 0000-03-01, so that leap days fall at
/// the end of each counted year.
fn civil_date(days: i64) -> (i64, i64, i64) {
    const DAYS_0000_03_01_TO_EPOCH: i64 = 719_468;
    const DAYS_PER_ERA: i64 = 146_097;
    let shifted = days + DAYS_0000_03_01_TO_EPOCH;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, 153 days per five months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_have_one_decimal_rounded_half_up() {
        for (value, text) in [
            (0.0, "0.0"),
            (5.0, "5.0"),
            (25.0, "25.0"),
            (1.0 / 3.0, "0.3"),
            (50.0 / 3.0, "16.7"),
            (0.05, "0.1"),
            (0.25, "0.3"),
            (0.049_999, "0.0"),
            (9.96, "10.0"),
            (99.95, "100.0"),
            (69_230_769.23, "69230769.2"),
            (1e21, "1000000000000000000000.0"),
            (1.5e-7, "0.0"),
            (-0.0, "0.0"),
            (-2.25, "-2.3"),
        ] {
            assert_eq!(rate(value).as_deref(), Some(text), "{value}");
        }
        assert_eq!(rate(f64::NAN), None);
        assert_eq!(rate(f64::INFINITY), None);
        assert_eq!(rate(f64::NEG_INFINITY), None);
    }

    #[test]
    fn timestamps_are_iso_8601_utc_with_millis() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        // Leap days, century rules and the end of a year.
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(timestamp(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(timestamp(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(timestamp(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        assert_eq!(timestamp(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn objects_keep_insertion_order_and_skip_absent_values() {
        let mut object = ObjectWriter::new();
        object
            .raw("b", "1")
            .optional("skipped", None)
            .raw("a", &string("x\"y"));
        assert_eq!(object.finish(), r#"{"b":1,"a":"x\"y"}"#);
        assert_eq!(ObjectWriter::new().finish(), "{}");
        assert_eq!(nullable_string(None), "null");
        let map = BTreeMap::from([("z".to_owned(), 1), ("a".to_owned(), 2)]);
        assert_eq!(
            sorted_map(&map, ToString::to_string).as_deref(),
            Some(r#"{"a":2,"z":1}"#)
        );
        assert_eq!(
            sorted_map(&BTreeMap::<String, i64>::new(), ToString::to_string),
            None
        );
    }
}
