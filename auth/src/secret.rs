//! [`Secret`]: a string that never shows itself.

use std::fmt;

use zeroize::Zeroizing;

/// A password, client secret, token or key passphrase.
///
/// `Debug` and `Display` print `<redacted>`; the bytes are overwritten
/// when the value is dropped. Read it with [`expose`](Secret::expose) at
/// the one place that needs the plain text.
///
/// ```
/// use ferrokafka_auth::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?} {s}"), "Secret(<redacted>) <redacted>");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }
    /// The plain text. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("canary-7f3a");
        let wrapped = Some(vec![s.clone()]);
        for text in [
            format!("{s}"),
            format!("{s:?}"),
            format!("{wrapped:?}"),
            format!("{s:#?}"),
        ] {
            assert!(!text.contains("canary"), "{text}");
        }
        assert_eq!(s.expose(), "canary-7f3a");
    }
}
