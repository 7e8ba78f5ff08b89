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

/// A unit of time for [`Time`].
pub(crate) trait Unit {
    /// Its name, plural ("milliseconds").
    const NAME: &'static str;
    /// `count` of it.
    fn duration(count: u64) -> Duration;
    /// How many of it `duration` is, when a whole number.
    fn count(duration: Duration) -> Option<u128>;
}

/// Milliseconds.
pub(crate) struct Ms;

impl Unit for Ms {
    const NAME: &'static str = "milliseconds";
    fn duration(count: u64) -> Duration {
        Duration::from_millis(count)
    }
    fn count(duration: Duration) -> Option<u128> {
        duration
            .subsec_nanos()
            .is_multiple_of(1_000_000)
            .then_some(duration.as_millis())
    }
}

/// Seconds.
pub(crate) struct Secs;

impl Unit for Secs {
    const NAME: &'static str = "seconds";
    fn duration(count: u64) -> Duration {
        Duration::from_secs(count)
    }
    fn count(duration: Duration) -> Option<u128> {
        (duration.subsec_nanos() == 0).then(|| u128::from(duration.as_secs()))
    }
}

/// A whole number of `U` from `MIN` to `MAX`, as a [`Duration`].
pub(crate) struct Time<U, const MIN: u64, const MAX: u64>(PhantomData<U>);

/// Milliseconds from `MIN` to `MAX`.
pub(crate) type Millis<const MIN: u64, const MAX: u64> = Time<Ms, MIN, MAX>;
/// Seconds from `MIN` to `MAX`.
pub(crate) type Seconds<const MIN: u64, const MAX: u64> = Time<Secs, MIN, MAX>;
/// Milliseconds from `MIN` to `MAX`, or unset.
pub(crate) type OptMillis<const MIN: u64, const MAX: u64> = Opt<Millis<MIN, MAX>>;

/// Java's largest `int` millisecond count.
pub(crate) const MAX_MS: u64 = i32::MAX as u64;

impl<U: Unit, const MIN: u64, const MAX: u64> Kind for Time<U, MIN, MAX> {
    type Value = Duration;
    type Input = Duration;
    type Out<'a>
        = Duration
    where
        Self: 'a;
    fn accepts() -> String {
        format!("a whole number of {} from {MIN} to {MAX}", U::NAME)
    }
    fn unset() -> Duration {
        U::duration(MIN)
    }
    fn parse(key: &'static str, raw: &str) -> Result<Duration, ConfigError> {
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|v| (MIN..=MAX).contains(v))
            .map(U::duration)
            .ok_or_else(|| invalid(key, raw, Self::accepts()))
    }
    fn accept(key: &'static str, input: Duration) -> Result<Duration, ConfigError> {
        match U::count(input) {
            Some(n) if (u128::from(MIN)..=u128::from(MAX)).contains(&n) => Ok(input),
            _ => Err(invalid(key, &format!("{input:?}"), Self::accepts())),
        }
    }
    fn out(value: &Duration) -> Duration {
        *value
    }
    fn show(value: &Duration) -> Option<String> {
        U::count(*value).map(|n| n.to_string())
    }
}

/// A value of kind `K`, or unset (no default): `None` until set.
pub(crate) struct Opt<K>(PhantomData<K>);

impl<K: Kind> Kind for Opt<K> {
    type Value = Option<K::Value>;
    type Input = K::Input;
    type Out<'a>
        = Option<K::Out<'a>>
    where
        Self: 'a;
    fn accepts() -> String {
        K::accepts()
    }
    fn unset() -> Self::Value {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Self::Value, ConfigError> {
        K::parse(key, raw).map(Some)
    }
    fn accept(key: &'static str, input: K::Input) -> Result<Self::Value, ConfigError> {
        K::accept(key, input).map(Some)
    }
    fn out(value: &Self::Value) -> Self::Out<'_> {
        value.as_ref().map(K::out)
    }
    fn show(value: &Self::Value) -> Option<String> {
        value.as_ref().and_then(K::show)
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
pub(crate) type OptInt<T, const MIN: i64, const MAX: i64> = Opt<Int<T, MIN, MAX>>;

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
pub(crate) type OptFlag = Opt<Flag>;

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
pub(crate) type OptChoice<E> = Opt<Choice<E>>;

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

/// How a [`TextOf`] kind checks and keeps its text.
pub(crate) trait TextRule {
    /// Whether the key changes nothing here (see [`Kind::INERT`]).
    const INERT: bool;
    /// The values accepted, in words.
    fn accepts() -> String;
    /// The text kept for `raw`, or `None` when `raw` is refused.
    fn keep(raw: &str) -> Option<String>;
}

/// Text checked and kept as `R` says, or unset.
pub(crate) struct TextOf<R>(PhantomData<R>);

impl<R: TextRule> Kind for TextOf<R> {
    const INERT: bool = R::INERT;
    type Value = Option<String>;
    type Input = String;
    type Out<'a>
        = Option<&'a str>
    where
        Self: 'a;
    fn accepts() -> String {
        R::accepts()
    }
    fn unset() -> Option<String> {
        None
    }
    fn parse(key: &'static str, raw: &str) -> Result<Option<String>, ConfigError> {
        match R::keep(raw) {
            Some(kept) => {
                if R::INERT {
                    tracing::debug!(key, "accepted for compatibility; it has no effect here");
                }
                Ok(Some(kept))
            }
            None => Err(invalid(key, raw, R::accepts())),
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

/// Non-empty text, trimmed.
pub(crate) struct NonEmpty;

impl TextRule for NonEmpty {
    const INERT: bool = false;
    fn accepts() -> String {
        "non-empty text".to_owned()
    }
    fn keep(raw: &str) -> Option<String> {
        let trimmed = raw.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }
}

/// Non-empty text (trimmed), or unset.
pub(crate) type OptText = TextOf<NonEmpty>;

/// Any value of a key Java clients know that changes nothing here: kept
/// as given (and shown) so that property files written for Java work
/// unchanged.
pub(crate) struct Compatibility;

impl TextRule for Compatibility {
    const INERT: bool = true;
    fn accepts() -> String {
        "any value (accepted for compatibility; it has no effect here)".to_owned()
    }
    fn keep(raw: &str) -> Option<String> {
        Some(raw.to_owned())
    }
}

/// A key Java clients know that changes nothing here.
pub(crate) type Inert = TextOf<Compatibility>;
