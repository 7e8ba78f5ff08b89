//! Java, Scala and Spark helpers whose exact results Spark's behaviour
//! depends on: hash codes that pick an executor or name a consumer group,
//! Java's rounding in the `minPartitions` split, `Double.toString` in the
//! progress metrics, Spark's duration strings and Java regular expressions.
//!
//! ```
//! use ferrokafka_streaming::java;
//! assert_eq!(java::string_hash_code("a"), 97);
//! assert_eq!(java::math_round(2.5), 3);
//! assert_eq!(java::double_to_string(1.0e7), "1.0E7");
//! assert_eq!(java::time_string_as_ms("15m").unwrap(), 900_000);
//! ```

mod regex;
mod time;

pub use self::regex::{translate_java_regex, JavaRegexError};
pub use self::time::{time_string_as_ms, TimeStringError};

use ferrokafka::TopicPartition;

/// Java's `String.hashCode()`: `s[0]·31^(n-1) + … + s[n-1]` over the
/// UTF-16 code units of `s`, in wrapping 32-bit arithmetic.
///
/// Spark appends it to generated streaming consumer group ids
/// (`metadataPath.hashCode`).
pub fn string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `TopicPartition.hashCode()`: `31·(31 + partition) + topic.hashCode()`,
/// wrapping. Spark uses it to give a partition the same executor every batch.
pub fn topic_partition_hash_code(tp: &TopicPartition) -> i32 {
    31i32
        .wrapping_mul(31i32.wrapping_add(tp.partition))
        .wrapping_add(string_hash_code(&tp.topic))
}

/// Java's `Math.round(double)`: the closest `long`, ties towards positive
/// infinity (2.5 → 3, −2.5 → −2); NaN gives 0 and values beyond the `long`
/// range saturate.
pub fn math_round(x: f64) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let floor = x.floor();
    // `x - floor` is exact, so 0.49999999999999994 rounds to 0 as in Java
    // (where `floor(x + 0.5)` would give 1).
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    // `as` saturates like Java's double-to-long conversion.
    rounded as i64
}

/// Java's `Math.floorMod(a, n)` for a positive `n`: the remainder with the
/// sign of `n`, so always in `0..n`.
///
/// # Panics
/// If `n` is not positive.
pub fn floor_mod(a: i64, n: i64) -> i64 {
    assert!(n > 0, "floor_mod needs a positive modulus, got {n}");
    a.rem_euclid(n)
}

/// Java's `Double.toString(double)`: plain notation with at least one
/// fraction digit for magnitudes in `[10^-3, 10^7)` (`0.0`, `842.5`),
/// computerized scientific notation otherwise (`1.0E7`, `1.5E-4`); `NaN`,
/// `Infinity`, `-Infinity`, `-0.0`.
///
/// The digits are the shortest that identify the value, as JDK 19 and later
/// print them; JDK 17 printed a longer string for a few rare values
/// (JDK-4511638), never for the averages Spark reports.
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    if d == 0.0 {
        return format!("{sign}0.0");
    }
    let magnitude = d.abs();
    // Rust's `{:e}` gives the shortest round-tripping digits: "8.425e2".
    let shortest = format!("{magnitude:e}");
    let (mantissa, exponent) = shortest
        .split_once('e')
        .expect("LowerExp output always has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (1e-3..1e7).contains(&magnitude) {
        // Number of digits before the decimal point.
        let point = exponent + 1;
        if point <= 0 {
            let zeros = "0".repeat(point.unsigned_abs() as usize);
            format!("{sign}0.{zeros}{digits}")
        } else {
            let point = point as usize;
            if point >= digits.len() {
                let zeros = "0".repeat(point - digits.len());
                format!("{sign}{digits}{zeros}.0")
            } else {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exponent}")
    }
}

/// A random (version 4) UUID in Java's `UUID.toString()` form, as in
/// Spark's generated consumer group ids. Uniqueness is what matters there,
/// not unpredictability.
pub fn random_uuid() -> String {
    let mut bits = fastrand::u128(..);
    // Version 4, IETF variant.
    bits = (bits & !(0xF << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Java's `String.trim()`: drops leading and trailing chars up to U+0020
/// (spaces and control characters, not other Unicode whitespace).
pub(crate) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Renders partitions as Scala's `Set.toString` does in Spark's messages:
/// `Set(t-0, t-1)`, or `HashSet(…)` beyond four elements (Scala 2.13).
/// Sorted by topic then partition so that messages are reproducible.
pub(crate) fn scala_set_string<'a>(
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> String {
    let mut sorted: Vec<&TopicPartition> = partitions.into_iter().collect();
    sorted.sort();
    sorted.dedup();
    let name = if sorted.len() > 4 { "HashSet" } else { "Set" };
    let items: Vec<String> = sorted.iter().map(|tp| tp.to_string()).collect();
    format!("{name}({})", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_code_matches_java() {
        assert_eq!(string_hash_code(""), 0);
        assert_eq!(string_hash_code("a"), 97);
        assert_eq!(string_hash_code("ab"), 97 * 31 + 98);
        // "topic": t=116 o=111 p=112 i=105 c=99, by Horner's rule.
        let by_hand = (((116i64 * 31 + 111) * 31 + 112) * 31 + 105) * 31 + 99;
        assert_eq!(by_hand, 110_546_223);
        assert_eq!(string_hash_code("topic"), 110_546_223);
        // Java: "hello world".hashCode() == 1794106052; "polygenelubricants" wraps to i32::MIN.
        assert_eq!(string_hash_code("hello world"), 1_794_106_052);
        assert_eq!(string_hash_code("polygenelubricants"), i32::MIN);
        // Code units, not code points: U+1F600 is the surrogate pair D83D DE00.
        assert_eq!(string_hash_code("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn topic_partition_hash_code_matches_kafka() {
        let tp = TopicPartition::new("topic", 0);
        assert_eq!(topic_partition_hash_code(&tp), 31 * 31 + 110_546_223);
        let tp = TopicPartition::new("", 3);
        assert_eq!(topic_partition_hash_code(&tp), 31 * 34);
        // Wraps rather than overflowing.
        let tp = TopicPartition::new("polygenelubricants", -31);
        assert_eq!(topic_partition_hash_code(&tp), i32::MIN);
    }

    #[test]
    fn math_round_is_java_half_up() {
        assert_eq!(math_round(2.5), 3);
        assert_eq!(math_round(2.4999), 2);
        assert_eq!(math_round(0.5), 1);
        assert_eq!(math_round(-2.5), -2);
        assert_eq!(math_round(-2.6), -3);
        assert_eq!(math_round(0.499_999_999_999_999_94), 0);
        assert_eq!(math_round(f64::NAN), 0);
        assert_eq!(math_round(1e300), i64::MAX);
        assert_eq!(math_round(-1e300), i64::MIN);
    }

    #[test]
    fn floor_mod_is_never_negative() {
        assert_eq!(floor_mod(7, 3), 1);
        assert_eq!(floor_mod(-7, 3), 2);
        assert_eq!(floor_mod(-3, 3), 0);
        assert_eq!(floor_mod(i64::from(i32::MIN), 5), 2);
    }

    #[test]
    fn double_to_string_matches_java() {
        assert_eq!(double_to_string(0.0), "0.0");
        assert_eq!(double_to_string(-0.0), "-0.0");
        assert_eq!(double_to_string(842.5), "842.5");
        assert_eq!(double_to_string(5.0), "5.0");
        assert_eq!(double_to_string(100.0), "100.0");
        assert_eq!(double_to_string(1.0e7), "1.0E7");
        assert_eq!(double_to_string(9_999_999.0), "9999999.0");
        assert_eq!(double_to_string(12_345_678.9), "1.23456789E7");
        assert_eq!(double_to_string(0.001), "0.001");
        assert_eq!(double_to_string(0.000_15), "1.5E-4");
        assert_eq!(double_to_string(-3.25), "-3.25");
        assert_eq!(double_to_string(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(double_to_string(1e21), "1.0E21");
        assert_eq!(double_to_string(f64::NAN), "NaN");
        assert_eq!(double_to_string(f64::INFINITY), "Infinity");
        assert_eq!(double_to_string(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn random_uuid_has_java_shape() {
        let uuid = random_uuid();
        let groups: Vec<&str> = uuid.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'), "version 4: {uuid}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "IETF variant: {uuid}"
        );
        assert_ne!(uuid, random_uuid());
    }

    #[test]
    fn scala_sets_render_like_spark_messages() {
        let small = [TopicPartition::new("t", 1), TopicPartition::new("t", 0)];
        assert_eq!(scala_set_string(&small), "Set(t-0, t-1)");
        let large: Vec<TopicPartition> = (0..5).map(|p| TopicPartition::new("t", p)).collect();
        assert_eq!(scala_set_string(&large), "HashSet(t-0, t-1, t-2, t-3, t-4)");
        assert_eq!(scala_set_string(&[]), "Set()");
    }
}
