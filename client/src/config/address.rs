//! [`BrokerAddress`]: one `host:port` entry of `bootstrap.servers`.

use std::fmt;

use super::error::ConfigError;
use super::kinds::invalid;

/// One `host:port` entry of `bootstrap.servers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAddress {
    /// Host name or IP literal (without brackets for IPv6).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl BrokerAddress {
    /// Parses `host:port`, `1.2.3.4:port` or `[::1]:port`.
    pub fn parse(entry: &str) -> Result<Self, ConfigError> {
        Self::parse_for(super::keys::BOOTSTRAP_SERVERS, entry)
    }

    /// As [`parse`](Self::parse), naming `key` in errors.
    pub(crate) fn parse_for(key: &'static str, entry: &str) -> Result<Self, ConfigError> {
        let bad = |expected: &str| invalid(key, entry, expected);
        let entry = entry.trim();
        if entry.contains("://") {
            return Err(bad(
                "host:port without a listener prefix (drop the `PLAINTEXT://` part; security.protocol selects the listener type)",
            ));
        }
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            rest.split_once("]:")
                .ok_or_else(|| bad("[ipv6]:port, e.g. [::1]:9092"))?
        } else {
            let (host, port) = entry
                .rsplit_once(':')
                .ok_or_else(|| bad("host:port, e.g. localhost:9092 (the port is required)"))?;
            if host.contains(':') {
                return Err(bad("an IPv6 address in brackets, e.g. [::1]:9092"));
            }
            (host, port)
        };
        if host.is_empty() || host.chars().any(char::is_whitespace) {
            return Err(bad(
                "host:port with a non-empty host name, e.g. localhost:9092",
            ));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("host:port with a port from 1 to 65535"))?;
        Ok(BrokerAddress {
            host: host.to_owned(),
            port,
        })
    }
}
