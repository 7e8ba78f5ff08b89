//! The kinds of value a configuration key takes: how each is parsed from
//! its Java-property text, range-checked when set in code, shown again,
//! and described in errors and docs. One implementation per kind, so every
//! key of a kind parses, fails and prints the same way.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use ferrokafka_auth::jaas::JaasConfig;
use ferrokafka_auth::Secret;

use super::address::BrokerAddress;
use super::error::ConfigError;

/// How a key's values are read, checked and shown.
pub(crate) trait Kind {
    /// The parsed value, as the settings store it.
    type Value: Clone + PartialEq + fmt::Debug;
    /// What a typed setter takes.
    type Input;
    /// What a getter returns.
    type Out<'a>
    where
        Self: 'a;
    /// Whether the key is accepted for compatibility only (no effect).
    const INERT: bool = false;
    /// The values accepted, in words ("a whole number from 1 to 1000").
    fn accepts() -> String;
    /// The value of an unset key with no default.
    fn unset() -> Self::Value;
    /// Parses the text of a Java property.
    fn parse(key: &'static str, raw: &str) -> Result<Self::Value, ConfigError>;
    /// Turns (and checks) a value given in code.
    fn accept(key: &'static str, input: Self::Input) -> Result<Self::Value, ConfigError>;
    /// The value as a getter returns it.
    fn out(value: &Self::Value) -> Self::Out<'_>;
    /// The value as property text (secrets redacted); `None` when unset.
    fn show(value: &Self::Value) -> Option<String>;
    /// The default: `default` parsed, or [`unset`](Self::unset) when empty.
    fn default_value(key: &'static str, default: &str) -> Self::Value {
        if default.is_empty() {
            Self::unset()
        } else {
            match Self::parse(key, default) {
                Ok(v) => v,
                Err(e) => panic!("the default of {key} does not parse: {e}"),
            }
        }
    }
}

pub(crate) fn invalid(key: &'static str, value: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key,
        value: value.to_owned(),
        expected: expected.into(),
    }
}

/// Milliseconds from `MIN` to `MAX`, as a [`Duration`].
pub(crate) struct Millis<const MIN: u64, const MAX: u64>;

/// Java's largest `int` millisecond count.
pub(crate) const MAX_MS: u64 = i32::MAX as u64;

impl<const MIN: u64, const MAX: u64> Kind for Millis<MIN, MAX> {
    type Value = Duration;
    type Input = Duration;
    type Out<'a> = Duration;
    fn accepts() -> String {
        format!("a whole number of milliseconds from {MIN} to {MAX}")
    }
    fn unset() -> Duration {
        Duration::from_millis(MIN)
    }
    fn parse(key: &'static str, raw: &str) -> Result<Duration, ConfigError> {
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|v| (MIN..=MAX).contains(v))
            .map(Duration::from_millis)
            .ok_or_else(|| invalid(key, raw, Self::accepts()))
    }
    fn accept(key: &'static str, input: Duration) -> Result<Duration, ConfigError> {
        let ms = input.as_millis();
        if (u128::from(MIN)..=u128::from(MAX)).contains(&ms)
            && input.subsec_nanos() % 1_000_000 == 0
        {
            Ok(input)
        } else {
            Err(invalid(key, &format!("{input:?}"), Self::accepts()))
        }
    }
    fn out(value: &Duration) -> Duration {
        *value
    }
    fn show(value: &Duration) -> Option<String> {
        Some(value.as_millis().to_string())
    }
}

/// Milliseconds from `MIN` to `MAX`, or unset.
pub(crate) struct OptMillis<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> Kind for OptMillis<MIN, MAX> {
    type Value = Option<Duration>;
    type Input = Duration;
    type Out<'a> = Option<Duration>;
    fn accepts() -> String {
        Millis::<MIN, MAX>::accepts()
    }
    fn unset() -> Option<Duration> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<Duration>, ConfigError> {
        Millis::<MIN, MAX>::parse(key, raw).map(Some)
    }
    fn accept(key: &'static str, input: Duration) -> Result<Option<Duration>, ConfigError> {
        Millis::<MIN, MAX>::accept(key, input).map(Some)
    }
    fn out(value: &Option<Duration>) -> Option<Duration> {
        *value
    }
    fn show(value: &Option<Duration>) -> Option<String> {
        value.map(|d| d.as_millis().to_string())
    }
}

/// Whole seconds from `MIN` to `MAX`, as a [`Duration`].
pub(crate) struct Seconds<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> Kind for Seconds<MIN, MAX> {
    type Value = Duration;
    type Input = Duration;
    type Out<'a> = Duration;
    fn accepts() -> String {
        format!("a whole number of seconds from {MIN} to {MAX}")
    }
    fn unset() -> Duration {
        Duration::from_secs(MIN)
    }
    fn parse(key: &'static str, raw: &str) -> Result<Duration, ConfigError> {
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|v| (MIN..=MAX).contains(v))
            .map(Duration::from_secs)
            .ok_or_else(|| invalid(key, raw, Self::accepts()))
    }
    fn accept(key: &'static str, input: Duration) -> Result<Duration, ConfigError> {
        if (MIN..=MAX).contains(&input.as_secs()) && input.subsec_nanos() == 0 {
            Ok(input)
        } else {
            Err(invalid(key, &format!("{input:?}"), Self::accepts()))
        }
    }
    fn out(value: &Duration) -> Duration {
        *value
    }
    fn show(value: &Duration) -> Option<String> {
        Some(value.as_secs().to_string())
    }
}

/// A whole number from `MIN` to `MAX`, stored as `T`.
pub(crate) struct Int<T, const MIN: i64, const MAX: i64>(PhantomData<T>);

impl<T, const MIN: i64, const MAX: i64> Kind for Int<T, MIN, MAX>
where
    T: Copy + PartialEq + fmt::Debug + fmt::Display + TryFrom<i64> + TryInto<i64>,
{
    type Value = T;
    type Input = T;
    type Out<'a>
        = T
    where
        Self: 'a;
    fn accepts() -> String {
        format!("a whole number from {MIN} to {MAX}")
    }
    fn unset() -> T {
        T::try_from(MIN).ok().expect("MIN fits the type")
    }
    fn parse(key: &'static str, raw: &str) -> Result<T, ConfigError> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|v| (MIN..=MAX).contains(v))
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| invalid(key, raw, Self::accepts()))
    }
    fn accept(key: &'static str, input: T) -> Result<T, ConfigError> {
        match input.try_into() {
            Ok(v) if (MIN..=MAX).contains(&v) => Ok(input),
            _ => Err(invalid(key, &input.to_string(), Self::accepts())),
        }
    }
    fn out(value: &T) -> T {
        *value
    }
    fn show(value: &T) -> Option<String> {
        Some(value.to_string())
    }
}

/// A whole number from `MIN` to `MAX`, or unset.
pub(crate) struct OptInt<T, const MIN: i64, const MAX: i64>(PhantomData<T>);

impl<T, const MIN: i64, const MAX: i64> Kind for OptInt<T, MIN, MAX>
where
    T: Copy + PartialEq + fmt::Debug + fmt::Display + TryFrom<i64> + TryInto<i64>,
{
    type Value = Option<T>;
    type Input = T;
    type Out<'a>
        = Option<T>
    where
        Self: 'a;
    fn accepts() -> String {
        Int::<T, MIN, MAX>::accepts()
    }
    fn unset() -> Option<T> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<T>, ConfigError> {
        Int::<T, MIN, MAX>::parse(key, raw).map(Some)
    }
    fn accept(key: &'static str, input: T) -> Result<Option<T>, ConfigError> {
        Int::<T, MIN, MAX>::accept(key, input).map(Some)
    }
    fn out(value: &Option<T>) -> Option<T> {
        *value
    }
    fn show(value: &Option<T>) -> Option<String> {
        value.map(|v| v.to_string())
    }
}

/// A number from `MIN_MILLI / 1000` to `MAX_MILLI / 1000`.
pub(crate) struct Fraction<const MIN_MILLI: i64, const MAX_MILLI: i64>;

impl<const MIN_MILLI: i64, const MAX_MILLI: i64> Kind for Fraction<MIN_MILLI, MAX_MILLI> {
    type Value = f64;
    type Input = f64;
    type Out<'a> = f64;
    fn accepts() -> String {
        format!(
            "a number from {} to {}",
            MIN_MILLI as f64 / 1000.0,
            MAX_MILLI as f64 / 1000.0
        )
    }
    fn unset() -> f64 {
        MIN_MILLI as f64 / 1000.0
    }
    fn parse(key: &'static str, raw: &str) -> Result<f64, ConfigError> {
        let v = raw.trim().parse::<f64>().ok();
        v.and_then(|v| Self::accept(key, v).ok())
            .ok_or_else(|| invalid(key, raw, Self::accepts()))
    }
    fn accept(key: &'static str, input: f64) -> Result<f64, ConfigError> {
        let range = MIN_MILLI as f64 / 1000.0..=MAX_MILLI as f64 / 1000.0;
        if range.contains(&input) {
            Ok(input)
        } else {
            Err(invalid(key, &input.to_string(), Self::accepts()))
        }
    }
    fn out(value: &f64) -> f64 {
        *value
    }
    fn show(value: &f64) -> Option<String> {
        Some(value.to_string())
    }
}

/// `true` or `false`, any case.
pub(crate) struct Flag;

fn parse_bool(key: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(key, raw, "one of true, false")),
    }
}

impl Kind for Flag {
    type Value = bool;
    type Input = bool;
    type Out<'a> = bool;
    fn accepts() -> String {
        "one of true, false".to_owned()
    }
    fn unset() -> bool {
        false
    }
    fn parse(key: &'static str, raw: &str) -> Result<bool, ConfigError> {
        parse_bool(key, raw)
    }
    fn accept(_: &'static str, input: bool) -> Result<bool, ConfigError> {
        Ok(input)
    }
    fn out(value: &bool) -> bool {
        *value
    }
    fn show(value: &bool) -> Option<String> {
        Some(value.to_string())
    }
}

/// `true` or `false`, remembering whether it was set at all (a default
/// may then yield to other settings, as `enable.idempotence` does).
pub(crate) struct OptFlag;

impl Kind for OptFlag {
    type Value = Option<bool>;
    type Input = bool;
    type Out<'a> = Option<bool>;
    fn accepts() -> String {
        "one of true, false".to_owned()
    }
    fn unset() -> Option<bool> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<bool>, ConfigError> {
        parse_bool(key, raw).map(Some)
    }
    fn accept(_: &'static str, input: bool) -> Result<Option<bool>, ConfigError> {
        Ok(Some(input))
    }
    fn out(value: &Option<bool>) -> Option<bool> {
        *value
    }
    fn show(value: &Option<bool>) -> Option<String> {
        value.map(|v| v.to_string())
    }
}

/// A type whose values are named (`read_committed`, `SASL_SSL`, `lz4`).
pub trait Named: Copy + PartialEq + fmt::Debug + 'static {
    /// Every value with its names; the first name of each is the one shown.
    const NAMES: &'static [(&'static str, Self)];
    /// Whether names are matched in any case.
    const ANY_CASE: bool;
    /// Said after the list of names in errors (what is not supported).
    const NOTE: &'static str = "";
}

/// One of the names of `E`.
pub(crate) struct Choice<E>(PhantomData<E>);

fn lookup<E: Named>(raw: &str) -> Option<E> {
    let raw = raw.trim();
    E::NAMES
        .iter()
        .find(|(name, _)| {
            if E::ANY_CASE {
                name.eq_ignore_ascii_case(raw)
            } else {
                *name == raw
            }
        })
        .map(|(_, v)| *v)
}

fn name_of<E: Named>(value: E) -> &'static str {
    E::NAMES
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("?", |(n, _)| n)
}

fn choices<E: Named>() -> String {
    let mut names: Vec<&str> = Vec::new();
    for (name, value) in E::NAMES {
        // Only the first (shown) name of each value.
        if name_of(*value) == *name {
            names.push(name);
        }
    }
    format!("one of {}{}", names.join(", "), E::NOTE)
}

impl<E: Named> Kind for Choice<E> {
    type Value = E;
    type Input = E;
    type Out<'a> = E;
    fn accepts() -> String {
        choices::<E>()
    }
    fn unset() -> E {
        E::NAMES[0].1
    }
    fn parse(key: &'static str, raw: &str) -> Result<E, ConfigError> {
        lookup(raw).ok_or_else(|| invalid(key, raw, Self::accepts()))
    }
    fn accept(_: &'static str, input: E) -> Result<E, ConfigError> {
        Ok(input)
    }
    fn out(value: &E) -> E {
        *value
    }
    fn show(value: &E) -> Option<String> {
        Some(name_of(*value).to_owned())
    }
}

/// One of the names of `E`, or unset.
pub(crate) struct OptChoice<E>(PhantomData<E>);

impl<E: Named> Kind for OptChoice<E> {
    type Value = Option<E>;
    type Input = E;
    type Out<'a> = Option<E>;
    fn accepts() -> String {
        choices::<E>()
    }
    fn unset() -> Option<E> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<E>, ConfigError> {
        Choice::<E>::parse(key, raw).map(Some)
    }
    fn accept(_: &'static str, input: E) -> Result<Option<E>, ConfigError> {
        Ok(Some(input))
    }
    fn out(value: &Option<E>) -> Option<E> {
        *value
    }
    fn show(value: &Option<E>) -> Option<String> {
        value.map(|v| name_of(v).to_owned())
    }
}

/// Any text.
pub(crate) struct Text;

impl Kind for Text {
    type Value = String;
    type Input = String;
    type Out<'a> = &'a str;
    fn accepts() -> String {
        "any text".to_owned()
    }
    fn unset() -> String {
        String::new()
    }
    fn parse(_: &'static str, raw: &str) -> Result<String, ConfigError> {
        Ok(raw.to_owned())
    }
    fn accept(_: &'static str, input: String) -> Result<String, ConfigError> {
        Ok(input)
    }
    fn out(value: &String) -> &str {
        value
    }
    fn show(value: &String) -> Option<String> {
        Some(value.clone())
    }
}

/// Non-empty text (trimmed), or unset.
pub(crate) struct OptText;

impl Kind for OptText {
    type Value = Option<String>;
    type Input = String;
    type Out<'a> = Option<&'a str>;
    fn accepts() -> String {
        "non-empty text".to_owned()
    }
    fn unset() -> Option<String> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<String>, ConfigError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            Err(invalid(key, raw, Self::accepts()))
        } else {
            Ok(Some(trimmed.to_owned()))
        }
    }
    fn accept(key: &'static str, input: String) -> Result<Option<String>, ConfigError> {
        Self::parse(key, &input)
    }
    fn out(value: &Option<String>) -> Option<&str> {
        value.as_deref()
    }
    fn show(value: &Option<String>) -> Option<String> {
        value.clone()
    }
}

/// A secret (a password, a key); the empty string means unset. Never shown.
pub(crate) struct SecretText;

impl Kind for SecretText {
    type Value = Option<Secret>;
    type Input = Secret;
    type Out<'a> = Option<&'a Secret>;
    fn accepts() -> String {
        "a secret".to_owned()
    }
    fn unset() -> Option<Secret> {
        None
    }
    fn parse(_: &'static str, raw: &str) -> Result<Option<Secret>, ConfigError> {
        Ok((!raw.is_empty()).then(|| Secret::new(raw)))
    }
    fn accept(_: &'static str, input: Secret) -> Result<Option<Secret>, ConfigError> {
        Ok((!input.is_empty()).then_some(input))
    }
    fn out(value: &Option<Secret>) -> Option<&Secret> {
        value.as_ref()
    }
    fn show(value: &Option<Secret>) -> Option<String> {
        value.as_ref().map(|_| "<redacted>".to_owned())
    }
}

/// A file path, or unset.
pub(crate) struct OptPath;

impl Kind for OptPath {
    type Value = Option<PathBuf>;
    type Input = PathBuf;
    type Out<'a> = Option<&'a std::path::Path>;
    fn accepts() -> String {
        "a file path".to_owned()
    }
    fn unset() -> Option<PathBuf> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<PathBuf>, ConfigError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            Err(invalid(key, raw, Self::accepts()))
        } else {
            Ok(Some(PathBuf::from(trimmed)))
        }
    }
    fn accept(_: &'static str, input: PathBuf) -> Result<Option<PathBuf>, ConfigError> {
        Ok(Some(input))
    }
    fn out(value: &Option<PathBuf>) -> Option<&std::path::Path> {
        value.as_deref()
    }
    fn show(value: &Option<PathBuf>) -> Option<String> {
        value.as_ref().map(|p| p.display().to_string())
    }
}

/// `bootstrap.servers`: a comma-separated `host:port` list.
pub(crate) struct Addresses;

impl Kind for Addresses {
    type Value = Vec<BrokerAddress>;
    type Input = String;
    type Out<'a> = &'a [BrokerAddress];
    fn accepts() -> String {
        "a comma-separated list of host:port, e.g. localhost:9092".to_owned()
    }
    fn unset() -> Vec<BrokerAddress> {
        Vec::new()
    }
    fn parse(key: &'static str, raw: &str) -> Result<Vec<BrokerAddress>, ConfigError> {
        raw.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|entry| BrokerAddress::parse_for(key, entry))
            .collect()
    }
    fn accept(key: &'static str, input: String) -> Result<Vec<BrokerAddress>, ConfigError> {
        Self::parse(key, &input)
    }
    fn out(value: &Vec<BrokerAddress>) -> &[BrokerAddress] {
        value
    }
    fn show(value: &Vec<BrokerAddress>) -> Option<String> {
        Some(
            value
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

/// `sasl.jaas.config`: a Java login-module string. Shown redacted (it may
/// hold a password or client secret).
pub(crate) struct Jaas;

impl Kind for Jaas {
    type Value = Option<JaasConfig>;
    type Input = String;
    type Out<'a> = Option<&'a JaasConfig>;
    fn accepts() -> String {
        "a JAAS login-module string: `<LoginModule class> required key=\"value\" …;`".to_owned()
    }
    fn unset() -> Option<JaasConfig> {
        None
    }
    fn parse(_: &'static str, raw: &str) -> Result<Option<JaasConfig>, ConfigError> {
        Ok(Some(JaasConfig::parse(raw)?))
    }
    fn accept(key: &'static str, input: String) -> Result<Option<JaasConfig>, ConfigError> {
        Self::parse(key, &input)
    }
    fn out(value: &Option<JaasConfig>) -> Option<&JaasConfig> {
        value.as_ref()
    }
    fn show(value: &Option<JaasConfig>) -> Option<String> {
        value.as_ref().map(|_| "<redacted>".to_owned())
    }
}

/// A URL whose user information and query values are secrets: shown with
/// them redacted.
pub(crate) struct Url;

impl Kind for Url {
    type Value = Option<UrlText>;
    type Input = String;
    type Out<'a> = Option<&'a str>;
    fn accepts() -> String {
        "a URL".to_owned()
    }
    fn unset() -> Option<UrlText> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<UrlText>, ConfigError> {
        OptText::parse(key, raw).map(|t| t.map(UrlText))
    }
    fn accept(key: &'static str, input: String) -> Result<Option<UrlText>, ConfigError> {
        Self::parse(key, &input)
    }
    fn out(value: &Option<UrlText>) -> Option<&str> {
        value.as_ref().map(|u| u.0.as_str())
    }
    fn show(value: &Option<UrlText>) -> Option<String> {
        value
            .as_ref()
            .map(|u| ferrokafka_auth::redact::redact_url(&u.0))
    }
}

/// A URL's text, shown (`Debug`) without user information or query values.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct UrlText(pub(crate) String);

impl fmt::Debug for UrlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", ferrokafka_auth::redact::redact_url(&self.0))
    }
}

/// A key Java clients know that changes nothing here: its value is kept
/// (and shown) so that property files written for Java work unchanged.
pub(crate) struct Inert;

impl Kind for Inert {
    const INERT: bool = true;
    type Value = Option<String>;
    type Input = String;
    type Out<'a> = Option<&'a str>;
    fn accepts() -> String {
        "any value (accepted for compatibility; it has no effect here)".to_owned()
    }
    fn unset() -> Option<String> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<String>, ConfigError> {
        tracing::debug!(
            key,
            "accepted for compatibility with Java clients; it has no effect here"
        );
        Ok(Some(raw.to_owned()))
    }
    fn accept(key: &'static str, input: String) -> Result<Option<String>, ConfigError> {
        Self::parse(key, &input)
    }
    fn out(value: &Option<String>) -> Option<&str> {
        value.as_deref()
    }
    fn show(value: &Option<String>) -> Option<String> {
        value.clone()
    }
}
