//! `ferrokafka`: read, write and stream Kafka topics with Spark's options,
//! and manage topics and offsets — one static binary, no JVM.
#![forbid(unsafe_code)]

mod client;
mod cmd;
mod exit;
mod options;
mod output;
mod printer;
mod progress;
mod render;
mod resolver;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use exit::CliError;
use options::{Options, Sources};

const AFTER_HELP: &str = "\
Options come from --config (a Java client.properties: bootstrap.servers=…, security.protocol=…),
--options (JSON or TOML of Spark options), -b and -o key=value (Spark's option names: kafka.… for
client settings), later ones winning. A value @FILE is read from the file and env:NAME from the
environment, so secrets stay off the command line; they are never printed.

Exit codes: 0 done, 1 failed, 2 bad command line, 3 option refused, 4 cluster unreachable or
authentication refused, 5 the broker refused the request, 6 records the read needed are gone (failOnDataLoss=true),
130 interrupted.

Examples:
  ferrokafka -b localhost:9092 topics list
  ferrokafka -b localhost:9092 topics create events --partitions 6
  printf 'k1:hello\\nk2:world\\n' | ferrokafka -b localhost:9092 write events --key-delimiter :
  ferrokafka -b localhost:9092 read events -f '%p %o %k %s\\n'
  ferrokafka -b localhost:9092 offsets events
  ferrokafka --config client.properties -o kafka.sasl.jaas.config=@jaas.conf topics list";

/// Read, write and stream Kafka topics with Spark's options.
#[derive(Debug, Parser)]
#[command(name = "ferrokafka", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Global {
    /// The cluster: host:port[,host:port…] (the same as -o kafka.bootstrap.servers=…).
    #[arg(short = 'b', long, global = true, env = "FERROKAFKA_BOOTSTRAP_SERVERS")]
    bootstrap_servers: Option<String>,
    /// A Spark option as key=value (repeatable), e.g. -o startingOffsets=earliest,
    /// -o kafka.security.protocol=SASL_SSL.
    #[arg(short = 'o', long = "option", global = true, value_name = "KEY=VALUE")]
    option: Vec<String>,
    /// A JSON or TOML file of Spark options (repeatable).
    #[arg(long = "options", global = true, value_name = "FILE")]
    options_file: Vec<PathBuf>,
    /// A Java properties file of client settings, as Kafka's tools take it (repeatable).
    #[arg(long, global = true, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// More detail on stderr (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, create, delete or describe topics.
    #[command(subcommand)]
    Topics(cmd::topics::Topics),
    /// Show the earliest, latest or by-timestamp offsets of a topic's partitions.
    Offsets(cmd::offsets::OffsetsArgs),
    /// Read topics (Spark's batch read options) and print the records.
    #[command(after_help = cmd::read::READ_HELP)]
    Read(cmd::read::ReadArgs),
    /// Write lines of stdin (text or JSON) to a topic.
    Write(cmd::write::WriteArgs),
    /// Run a streaming query: new records of topics, batch by batch, to a topic, the console
    /// or JSON-lines files, checkpointed so it resumes where it stopped.
    #[command(after_help = cmd::stream::STREAM_HELP)]
    Stream(cmd::stream::StreamArgs),
    /// The main job in one command: sample orders streamed into a priced topic, on a fake
    /// cluster in this process (or -b a real one), progress and lag printed as it goes.
    #[command(after_help = cmd::demo::DEMO_HELP)]
    Demo(cmd::demo::DemoArgs),
    /// List the client's configuration keys, or check a command line's options.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrokafka: cannot start the async runtime: {e}");
            std::process::exit(exit::code::FAILED);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ferrokafka: {e}");
            e.code
        }
    };
    // Do not wait for background tasks (connections closing) to finish.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let global = &cli.global;
    let options = Options::load(&Sources {
        config: global.config.clone(),
        options: global.options_file.clone(),
        bootstrap: global.bootstrap_servers.clone(),
        pairs: global.option.clone(),
    })?;
    tracing::debug!(options = ?options, "options");
    match cli.command {
        Command::Topics(command) => cmd::topics::run(command, &options).await,
        Command::Offsets(args) => cmd::offsets::run(args, &options).await,
        Command::Read(args) => cmd::read::run(args, &options).await,
        Command::Write(args) => cmd::write::run(args, options).await,
        Command::Stream(args) => cmd::stream::run(args, &options).await,
        Command::Demo(args) => cmd::demo::run(args, &options).await,
        Command::Config(command) => cmd::config::run(command, &options),
    }
}

/// Logs to stderr: warnings by default, more with -v; `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
