//! `sasl.jaas.config`: the Java client's login-module string, parsed so
//! that configurations written for Java or Spark work unchanged.
//!
//! ```
//! use ferrokafka_auth::jaas::{JaasConfig, LoginModule};
//! let jaas = JaasConfig::parse(
//!     r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cret";"#,
//! ).unwrap();
//! assert_eq!(jaas.module(), LoginModule::Plain);
//! assert_eq!(jaas.option("username"), Some("alice"));
//! assert!(!format!("{jaas:?}").contains("s3cret"));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::Secret;

/// Which login module a JAAS entry names. Any package prefix is accepted
/// (Spark on Databricks shades Kafka as `kafkashaded.org.apache.kafka…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginModule {
    /// `…security.plain.PlainLoginModule`.
    Plain,
    /// `…security.scram.ScramLoginModule`.
    Scram,
    /// `…security.oauthbearer.OAuthBearerLoginModule`.
    OAuthBearer,
}

/// Why a `sasl.jaas.config` string was refused. Never carries option values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JaasError {
    /// The string does not follow `Class flag key="value" … ;`.
    #[error("sasl.jaas.config: {reason} (at character {position}); expected `<LoginModule class> required key=\"value\" ...;`")]
    Syntax {
        /// What was wrong.
        reason: &'static str,
        /// Character offset.
        position: usize,
    },
    /// A login module ferrokafka does not implement.
    #[error("sasl.jaas.config: login module `{0}` is not supported; use PlainLoginModule, ScramLoginModule or OAuthBearerLoginModule")]
    UnsupportedModule(String),
    /// More than one login module entry.
    #[error("sasl.jaas.config: only one login module entry is supported")]
    MultipleEntries,
}

/// A parsed `sasl.jaas.config`. Every option value is held as a
/// [`Secret`]: `Debug` shows option names only.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasConfig {
    class: String,
    module: LoginModule,
    flag: String,
    options: BTreeMap<String, Secret>,
}

impl fmt::Debug for JaasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JaasConfig")
            .field("class", &self.class)
            .field("flag", &self.flag)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }
    fn err(&self, reason: &'static str) -> JaasError {
        JaasError::Syntax {
            reason,
            position: self.pos,
        }
    }
    fn word(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == '=' || c == ';' || c == '"' {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }
    fn value(&mut self) -> Result<String, JaasError> {
        if self.peek() != Some('"') {
            let w = self.word();
            if w.is_empty() {
                return Err(self.err("an option value is missing"));
            }
            return Ok(w.to_owned());
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self
                .peek()
                .ok_or_else(|| self.err("unterminated quoted value"))?;
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let n = self
                        .peek()
                        .ok_or_else(|| self.err("unterminated quoted value"))?;
                    self.pos += n.len_utf8();
                    out.push(n);
                }
                c => out.push(c),
            }
        }
    }
}

impl JaasConfig {
    /// Parses one login-module entry.
    pub fn parse(text: &str) -> Result<Self, JaasError> {
        let mut cur = Cursor { text, pos: 0 };
        cur.skip_ws();
        let class = cur.word().to_owned();
        if class.is_empty() {
            return Err(cur.err("the login module class is missing"));
        }
        let simple = class.rsplit('.').next().unwrap_or(&class);
        let module = match simple {
            "PlainLoginModule" => LoginModule::Plain,
            "ScramLoginModule" => LoginModule::Scram,
            "OAuthBearerLoginModule" => LoginModule::OAuthBearer,
            _ => return Err(JaasError::UnsupportedModule(class)),
        };
        cur.skip_ws();
        let flag = cur.word().to_ascii_lowercase();
        if !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str()) {
            return Err(cur
                .err("the control flag (required, requisite, sufficient or optional) is missing"));
        }
        let mut options = BTreeMap::new();
        loop {
            cur.skip_ws();
            match cur.peek() {
                None => break,
                Some(';') => {
                    cur.pos += 1;
                    cur.skip_ws();
                    if cur.peek().is_some() {
                        return Err(JaasError::MultipleEntries);
                    }
                    break;
                }
                Some(_) => {
                    let key = cur.word().to_owned();
                    if key.is_empty() {
                        return Err(cur.err("an option name is missing"));
                    }
                    cur.skip_ws();
                    if cur.peek() != Some('=') {
                        return Err(cur.err("`=` expected after an option name"));
                    }
                    cur.pos += 1;
                    cur.skip_ws();
                    let value = cur.value()?;
                    options.insert(key, Secret::new(value));
                }
            }
        }
        Ok(JaasConfig {
            class,
            module,
            flag,
            options,
        })
    }

    /// The login module.
    pub fn module(&self) -> LoginModule {
        self.module
    }

    /// The class name as written.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// An option's value. Options can be secrets: do not log them.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(Secret::expose)
    }

    /// An option's value as a [`Secret`].
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.options.get(name).cloned()
    }

    /// The option names.
    pub fn option_names(&self) -> impl Iterator<Item = &str> {
        self.options.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_event_hubs_entry() {
        let j = JaasConfig::parse(
            r#"kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="1111-2222" clientSecret="sh=h;\"x" scope="https://ns.servicebus.windows.net/.default" ssl.protocol="SSL";"#,
        )
        .unwrap();
        assert_eq!(j.module(), LoginModule::OAuthBearer);
        assert_eq!(j.option("clientId"), Some("1111-2222"));
        assert_eq!(j.option("clientSecret"), Some("sh=h;\"x"));
        assert_eq!(
            j.option("scope"),
            Some("https://ns.servicebus.windows.net/.default")
        );
        assert_eq!(j.option("ssl.protocol"), Some("SSL"));
        let dbg = format!("{j:?}");
        assert!(
            !dbg.contains("sh=h") && dbg.contains("clientSecret"),
            "{dbg}"
        );
    }

    #[test]
    fn parses_plain_and_scram_with_bare_values() {
        let j = JaasConfig::parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule required\n  username=bob password=\"p w\" tokenauth=true ;  ",
        )
        .unwrap();
        assert_eq!(j.module(), LoginModule::Scram);
        assert_eq!(j.option("username"), Some("bob"));
        assert_eq!(j.option("password"), Some("p w"));
        assert_eq!(j.option("tokenauth"), Some("true"));
        // A missing final `;` is forgiven.
        let j =
            JaasConfig::parse("x.PlainLoginModule required username=\"a\" password=\"b\"").unwrap();
        assert_eq!(j.module(), LoginModule::Plain);
    }

    #[test]
    fn errors_name_the_problem_without_values() {
        for (text, needle) in [
            ("", "class is missing"),
            (
                "com.sun.security.auth.module.Krb5LoginModule required;",
                "not supported",
            ),
            ("x.PlainLoginModule username=\"a\";", "control flag"),
            (
                "x.PlainLoginModule required username \"secret1\";",
                "`=` expected",
            ),
            (
                "x.PlainLoginModule required password=\"secret1;",
                "unterminated",
            ),
            (
                "x.PlainLoginModule required a=b; x.PlainLoginModule required;",
                "only one",
            ),
        ] {
            let err = JaasConfig::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("secret1"), "{err}");
        }
    }
}
