//! `ferrokafka config`: the client's configuration keys, and what a
//! command line's options resolve to.

use clap::Subcommand;
use ferrokafka::config::{KeyInfo, Section, KEYS};
use serde_json::json;

use crate::client::{client_config, producer_config};
use crate::exit::CliError;
use crate::options::{is_client_key, Options};
use crate::output::{Output, Rows};

/// What to show.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Every client setting (give them as -o kafka.KEY=… or in --config):
    /// section, default, what it accepts.
    Keys {
        /// Only keys containing this text.
        filter: Option<String>,
        /// Also the keys Java clients know that change nothing here.
        #[arg(long)]
        all: bool,
        /// table (the default on a terminal) or json (one object per line).
        #[arg(long, value_enum)]
        output: Option<Output>,
    },
    /// Check the options of this command line and show what they resolve
    /// to (secrets redacted); exits 3 naming the first refused one.
    Check,
}

fn section(info: &KeyInfo) -> &'static str {
    match info.section {
        Section::Connection => "connection",
        Section::Security => "security",
        Section::Consumer => "consumer",
        Section::Producer => "producer",
        _ => "other",
    }
}

/// Runs `config`.
pub(crate) fn run(command: ConfigCommand, options: &Options) -> Result<(), CliError> {
    match command {
        ConfigCommand::Keys {
            filter,
            all,
            output,
        } => {
            let mut rows = Rows::new(&["key", "section", "default", "accepts", "doc"]);
            for info in KEYS.iter() {
                if (info.inert && !all) || filter.as_deref().is_some_and(|f| !info.name.contains(f))
                {
                    continue;
                }
                let doc = info.doc.split_whitespace().collect::<Vec<_>>().join(" ");
                rows.push(vec![
                    json!(info.name),
                    json!(section(info)),
                    json!(info.default),
                    json!(info.accepts()),
                    json!(doc),
                ]);
            }
            rows.print(Output::or_default(output))?;
        }
        ConfigCommand::Check => {
            let client = client_config(options)?;
            let producer = producer_config(options)?;
            let mut rows = Rows::new(&["key", "value"]);
            for (key, value) in client
                .to_properties()
                .into_iter()
                .chain(producer.to_properties())
            {
                rows.push(vec![json!(format!("kafka.{key}")), json!(value)]);
            }
            for (key, value) in options.shown() {
                if !is_client_key(key) {
                    rows.push(vec![json!(key), json!(value)]);
                }
            }
            rows.print(Output::Table)?;
        }
    }
    Ok(())
}
