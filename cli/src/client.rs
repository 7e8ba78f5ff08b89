//! The client a command talks to the cluster with, configured from the
//! `kafka.…` options.

use std::sync::{Arc, OnceLock};

use ferrokafka_streaming::sink::{ProducerCache, ProducerCacheConfig};
use futures::FutureExt;

use ferrokafka::{Client, ClientConfig, ConfigError, ProducerConfig};

use crate::resolver::RustResolver;

use crate::exit::CliError;
use crate::options::Options;

/// Says which option a refused client setting came from: the user wrote
/// `kafka.<key>` (or a `--config` line), the client names `<key>`.
pub(crate) fn refused(error: ConfigError) -> CliError {
    let text = match &error {
        // The library lists every accepted key; on a command line the
        // closest one and where to find the rest say more.
        ConfigError::UnknownKey {
            key, suggestion, ..
        } => format!(
            "unknown client setting kafka.{key}{}; `ferrokafka config keys` lists them all",
            suggestion
                .map(|s| format!(" (did you mean kafka.{s}?)"))
                .unwrap_or_default()
        ),
        other => format!("{other} (client settings come from the kafka.… options and --config)"),
    };
    CliError::config(text)
}

/// The client settings of `options`: every `kafka.` option, prefix
/// stripped; producer settings are left for [`producer_config`].
pub(crate) fn client_config(options: &Options) -> Result<ClientConfig, CliError> {
    let mut properties = options.client_properties();
    if !properties.contains_key("bootstrap.servers") {
        return Err(CliError::config(
            "no cluster given: pass -b host:port (or -o kafka.bootstrap.servers=host:port, or bootstrap.servers in --config)",
        ));
    }
    // Producer settings in a shared client.properties are not this
    // command's business (producer_config takes them where they matter).
    let _ = ProducerConfig::take_properties(&mut properties);
    ClientConfig::from_properties(&properties).map_err(refused)
}

/// The producer settings of `options` (`kafka.linger.ms`, …).
pub(crate) fn producer_config(options: &Options) -> Result<ProducerConfig, CliError> {
    let mut properties = options.client_properties();
    ProducerConfig::take_properties(&mut properties).map_err(refused)
}

/// Connects to the cluster `options` name, resolving host names in Rust
/// (see [`RustResolver`]).
pub(crate) async fn connect(options: &Options) -> Result<Client, CliError> {
    connect_with(client_config(options)?).await
}

/// Connects with `config`, resolving host names in Rust.
pub(crate) async fn connect_with(config: ClientConfig) -> Result<Client, CliError> {
    let resolver = Arc::new(RustResolver::default());
    Ok(ferrokafka::low_level::connect_resolving_with(config, resolver).await?)
}

/// Warns about options a command does not use (they may come from an
/// options file shared between commands).
pub(crate) fn warn_unused<'a>(command: &str, options: impl Iterator<Item = (&'a str, &'a str)>) {
    for (key, _) in options {
        tracing::warn!("option {key} is not used by `ferrokafka {command}`; ignored");
    }
}

/// The producers of the sinks (`stream --to topic:…`, `demo`), connected
/// as every other client of a command is: host names resolved in Rust.
pub(crate) fn sink_cache() -> ProducerCache {
    static CACHE: OnceLock<ProducerCache> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            ProducerCache::with_connect(
                ProducerCacheConfig::default(),
                Arc::new(|config| {
                    let resolver = Arc::new(RustResolver::default());
                    ferrokafka::low_level::connect_resolving_with(config, resolver).boxed()
                }),
            )
        })
        .clone()
}
