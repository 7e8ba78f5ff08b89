//! [`ConfigError`]: why a configuration was refused, naming the key.

/// Why a configuration was refused. Each variant names the key and says
/// what it accepts or what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key no section knows.
    #[error("unknown configuration key `{key}`{}; accepted keys: {}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), accepted.join(", "))]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The closest known key, if one is close.
        suggestion: Option<&'static str>,
        /// Every key of the sections that were asked.
        accepted: Vec<&'static str>,
    },
    /// A key of another section: producer keys go to `ProducerConfig`,
    /// the others to `ClientConfig`.
    #[error("`{key}` is a {} setting: give it to {}", section.name(), if *section == super::Section::Producer { "ProducerConfig (ProducerConfig::take_properties or ProducerConfig::builder)" } else { "ClientConfig (ClientConfig::take_properties or ClientConfig::builder)" })]
    OtherSection {
        /// The key.
        key: &'static str,
        /// The section it belongs to.
        section: super::Section,
    },
    /// A value that does not parse or is out of range.
    #[error("invalid value {value:?} for `{key}`: expected {expected}")]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// What the key accepts.
        expected: String,
    },
    /// A required key is missing.
    #[error("`{key}` is required: {hint}")]
    Missing {
        /// The key.
        key: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// Two settings contradict each other.
    #[error("`{key}` = {value} conflicts with `{other}` = {other_value}: {hint}")]
    Conflict {
        /// The key reported.
        key: &'static str,
        /// Its value.
        value: String,
        /// The key it conflicts with.
        other: &'static str,
        /// That key's value.
        other_value: String,
        /// How to resolve it.
        hint: &'static str,
    },
    /// `sasl.jaas.config` does not parse (the message never shows option values).
    #[error(transparent)]
    Jaas(#[from] ferrokafka_auth::jaas::JaasError),
    /// The TLS files or settings cannot be used (bad PEM, unreadable file,
    /// JKS/PKCS#12 store with the command converting it).
    #[error(transparent)]
    Tls(#[from] ferrokafka_auth::tls::TlsError),
    /// A value that is valid Kafka configuration but not supported yet.
    #[error("`{key}` = {value} is not supported yet: {hint}")]
    Unsupported {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// What to use instead.
        hint: &'static str,
    },
}

/// Edit distance, for "did you mean" on unknown keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The name among `known` closest to `key`, if it is close enough to be
/// a likely typo (a few edits, more for long names).
pub fn closest<'k>(key: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    known
        .into_iter()
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 5))
        .min()
        .map(|(_, k)| k)
}
