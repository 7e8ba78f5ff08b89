//! Where a command's options come from, in the order they apply (later
//! wins): `--config FILE` (a Java properties file of client settings, as
//! Kafka's own tools take it: each key becomes `kafka.<key>`), `--options
//! FILE` (JSON or TOML, Spark's option names), `-b` (the bootstrap
//! servers), and `-o key=value` (Spark's option names, repeatable).
//!
//! A value `@path` is read from that file (one trailing newline dropped)
//! and `env:NAME` from the environment, so secrets stay off the command
//! line; `@@…` stands for a literal `@…`. Values of secret keys are never
//! printed: [`Options::shown`] redacts them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::exit::CliError;

/// The option sources of one command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    /// `--config`: Java properties of client settings.
    pub config: Vec<PathBuf>,
    /// `--options`: JSON or TOML files of Spark options.
    pub options: Vec<PathBuf>,
    /// `-b`: `kafka.bootstrap.servers`.
    pub bootstrap: Option<String>,
    /// `-o key=value`.
    pub pairs: Vec<String>,
}

/// The options of one command: Spark's option names, in the order given;
/// a key given twice keeps its last value. Spark compares option names in
/// any case; client properties (`kafka.…`) keep theirs.
#[derive(Clone, Default)]
pub(crate) struct Options {
    entries: Vec<(String, String)>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

/// How client settings are named among Spark's options.
const KAFKA_PREFIX: &str = "kafka.";

/// Whether `key` is a client setting (`kafka.…`, in any case).
pub(crate) fn is_client_key(key: &str) -> bool {
    key.get(..KAFKA_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(KAFKA_PREFIX))
}

/// Whether a key names a secret: its value is never shown.
pub(crate) fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "jaas",
        "token",
        "keystore.key",
        "credential",
    ]
    .iter()
    .any(|word| key.contains(word))
}

impl Options {
    /// Reads every source.
    pub(crate) fn load(sources: &Sources) -> Result<Options, CliError> {
        let mut options = Options::default();
        for path in &sources.config {
            for (key, value) in read_properties(path)? {
                options.set(format!("kafka.{key}"), value);
            }
        }
        for path in &sources.options {
            for (key, value) in read_option_file(path)? {
                options.set(key, value);
            }
        }
        if let Some(bootstrap) = &sources.bootstrap {
            options.set("kafka.bootstrap.servers".to_owned(), bootstrap.clone());
        }
        for pair in &sources.pairs {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                CliError::usage(format!(
                    "-o {pair:?}: expected key=value, e.g. -o startingOffsets=earliest"
                ))
            })?;
            options.set(key.trim().to_owned(), value.to_owned());
        }
        options.resolve_references()?;
        Ok(options)
    }

    /// Sets `key` (replacing a value set before under the same name).
    pub(crate) fn set(&mut self, key: String, value: String) {
        match self.position(&key) {
            Some(i) => self.entries[i] = (key, value),
            None => self.entries.push((key, value)),
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| same_key(k, key))
    }

    /// The value of `key`, if given.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.position(key).map(|i| self.entries[i].1.as_str())
    }

    /// Removes `key`, returning its value.
    pub(crate) fn take(&mut self, key: &str) -> Option<String> {
        self.position(key).map(|i| self.entries.remove(i).1)
    }

    /// Whether `key` was given.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Every option, in the order given.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The client properties: `kafka.`-prefixed options with the prefix
    /// stripped.
    pub(crate) fn client_properties(&self) -> HashMap<String, String> {
        self.kafka_pairs()
            .map(|(k, v)| (k[KAFKA_PREFIX.len()..].to_owned(), v.to_owned()))
            .collect()
    }

    /// The `kafka.…` options (client settings), prefix kept.
    pub(crate) fn kafka_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs().filter(|(k, _)| is_client_key(k))
    }

    /// The options that are not client properties.
    pub(crate) fn spark_options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .filter(|(k, _)| !is_client_key(k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every option with secrets redacted, for display.
    pub(crate) fn shown(&self) -> BTreeMap<&str, String> {
        self.entries
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret(k) {
                    "<redacted>".to_owned()
                } else if k.to_ascii_lowercase().contains("url") {
                    ferrokafka::auth::redact::redact_url(v)
                } else {
                    v.clone()
                };
                (k.as_str(), shown)
            })
            .collect()
    }

    /// Replaces `@path` and `env:NAME` values by what they point to.
    fn resolve_references(&mut self) -> Result<(), CliError> {
        for (key, value) in &mut self.entries {
            if let Some(literal) = value.strip_prefix("@@") {
                *value = format!("@{literal}");
            } else if let Some(path) = value.strip_prefix('@') {
                let mut text = std::fs::read_to_string(path).map_err(|e| {
                    CliError::config(format!(
                        "option {key}: cannot read {path} (given as @{path}): {e}"
                    ))
                })?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                *value = text;
            } else if let Some(name) = value.strip_prefix("env:") {
                *value = std::env::var(name).map_err(|_| {
                    CliError::config(format!(
                        "option {key}: the environment variable {name} (given as env:{name}) is not set"
                    ))
                })?;
            }
        }
        Ok(())
    }
}

/// Spark compares option names in any case; so do we, for every key.
fn same_key(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Reads a Java properties file.
fn read_properties(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::config(format!("--config {}: {e}", path.display())))?;
    let map = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
        CliError::config(format!(
            "--config {}: not a Java properties file: {e}",
            path.display()
        ))
    })?;
    let mut pairs: Vec<(String, String)> = map.into_iter().collect();
    pairs.sort();
    Ok(pairs)
}

/// Reads a JSON object or a TOML table of options (by the file's
/// extension; `.json` is JSON, anything else is tried as TOML). Nested
/// TOML tables (`[kafka]`, dotted keys) join their names with dots.
fn read_option_file(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::config(format!("--options {}: {e}", path.display())))?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse_option_text(&text, json)
        .map_err(|e| CliError::config(format!("--options {}: {e}", path.display())))
}

/// Parses the text of an option file.
pub(crate) fn parse_option_text(text: &str, json: bool) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    if json {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let serde_json::Value::Object(map) = value else {
            return Err("expected a JSON object of option names and values".to_owned());
        };
        for (key, value) in map {
            out.push((key.clone(), scalar_json(&key, &value)?));
        }
    } else {
        let table: toml::Table = text.parse().map_err(|e| format!("not TOML: {e}"))?;
        flatten_toml("", &table, &mut out)?;
    }
    Ok(out)
}

fn scalar_json(key: &str, value: &serde_json::Value) -> Result<String, String> {
    match value {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        // Spark takes offset maps as JSON text: accept them inline too.
        serde_json::Value::Object(_) | serde_json::Value::Array(_) => Ok(value.to_string()),
        serde_json::Value::Null => Err(format!("option {key}: null is not a value")),
    }
}

fn flatten_toml(
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten_toml(&name, inner, out)?,
            toml::Value::String(s) => out.push((name, s.clone())),
            toml::Value::Integer(i) => out.push((name, i.to_string())),
            toml::Value::Float(f) => out.push((name, f.to_string())),
            toml::Value::Boolean(b) => out.push((name, b.to_string())),
            other => {
                return Err(format!(
                    "option {name}: a {} is not a value (use a string, number or boolean)",
                    other.type_str()
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_are_the_kafka_prefixed_ones_in_any_case() {
        assert!(is_client_key("kafka.bootstrap.servers"));
        assert!(is_client_key("KAFKA.acks"));
        assert!(!is_client_key("subscribe"));
        assert!(!is_client_key("kafka"));
        // A multi-byte character across the prefix's end is no panic.
        assert!(!is_client_key("kafkaé.x"));
        let options = Options::load(&Sources {
            pairs: vec![
                "kafka.acks=all".into(),
                "topic=t".into(),
                "Kafka.linger.ms=5".into(),
            ],
            ..Sources::default()
        })
        .unwrap();
        let kafka: Vec<_> = options.kafka_pairs().collect();
        assert_eq!(kafka, [("kafka.acks", "all"), ("Kafka.linger.ms", "5")]);
        let spark: Vec<_> = options.spark_options().collect();
        assert_eq!(spark, [("topic", "t")]);
        assert_eq!(
            options
                .client_properties()
                .get("linger.ms")
                .map(String::as_str),
            Some("5")
        );
    }

    #[test]
    fn later_sources_win_and_names_compare_in_any_case() {
        let dir = std::env::temp_dir().join(format!("fk-cli-opts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let props = dir.join("client.properties");
        std::fs::write(
            &props,
            "bootstrap.servers=a:1\nsecurity.protocol = SASL_SSL\n# comment\nsasl.mechanism: PLAIN\n",
        )
        .unwrap();
        let json = dir.join("opts.json");
        std::fs::write(
            &json,
            r#"{"subscribe": "orders", "minPartitions": 4, "startingOffsets": {"orders": {"0": -2}}}"#,
        )
        .unwrap();
        let toml_file = dir.join("opts.toml");
        std::fs::write(
            &toml_file,
            "includeHeaders = true\n[kafka]\n\"bootstrap.servers\" = \"b:2\"\n",
        )
        .unwrap();
        let secret = dir.join("jaas");
        std::fs::write(&secret, "PlainLoginModule required password=\"s3\";\n").unwrap();
        std::env::set_var("FK_CLI_TEST_SECRET", "from-env");
        let options = Options::load(&Sources {
            config: vec![props],
            options: vec![json, toml_file],
            bootstrap: None,
            pairs: vec![
                format!("kafka.sasl.jaas.config=@{}", secret.display()),
                "kafka.sasl.password=env:FK_CLI_TEST_SECRET".to_owned(),
                "SUBSCRIBE=payments".to_owned(),
                "note=@@literal".to_owned(),
            ],
        })
        .unwrap();
        assert_eq!(options.get("kafka.bootstrap.servers"), Some("b:2"));
        assert_eq!(options.get("subscribe"), Some("payments"));
        assert_eq!(options.get("minpartitions"), Some("4"));
        assert_eq!(
            options.get("startingOffsets"),
            Some(r#"{"orders":{"0":-2}}"#)
        );
        assert_eq!(options.get("includeHeaders"), Some("true"));
        assert_eq!(options.get("note"), Some("@literal"));
        assert_eq!(
            options.get("kafka.sasl.jaas.config"),
            Some("PlainLoginModule required password=\"s3\";")
        );
        let client = options.client_properties();
        assert_eq!(client["security.protocol"], "SASL_SSL");
        assert_eq!(client["sasl.password"], "from-env");
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("s3") && !shown.contains("from-env"),
            "{shown}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_sources_name_what_to_fix() {
        let err = Options::load(&Sources {
            pairs: vec!["subscribe".to_owned()],
            ..Sources::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("key=value"), "{err}");
        let err = Options::load(&Sources {
            pairs: vec!["kafka.sasl.password=env:FK_CLI_SURELY_UNSET".to_owned()],
            ..Sources::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("FK_CLI_SURELY_UNSET"), "{err}");
        assert!(parse_option_text("[1, 2]", true).is_err());
        assert!(parse_option_text("a = [1]", false).is_err());
    }
}
