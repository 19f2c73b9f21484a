//! The `alpha-panda` command line: parses arguments, sets up logging, calls the
//! library. Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use alpha_panda::config::{Config, LogFormat};
use clap::{Parser, Subcommand};

/// jemalloc, not glibc's malloc: 0.93-0.97x the host's CPU a tick on a backlog,
/// and no more memory in the soak (BENCHMARKS.md, session 30). Tests of the
/// library keep the system allocator.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "alpha-panda",
    version,
    about = "Runs trading strategies as hot-reloadable, sandboxed Wasm components on a Kafka-API stream"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The strategy host: consume ticks, run the plugins, route signals. Without
    /// --config it runs the embedded profile (in-process broker and paper feed).
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Market feeds that write ticks to market.ticks.
    Feed {
        #[command(subcommand)]
        source: FeedSource,
    },
    /// Dead-letter topics.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Run the plugins over recorded ticks (a backtest): no broker, no Redis.
    Replay {
        /// JSON lines of tick envelopes, or CSV instrument_token,timestamp,last_price[,volume_traded].
        #[arg(long)]
        ticks: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where the signal envelopes go (JSON lines); standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create or check the registry's topics on a live cluster.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// Check or scaffold plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
    },
    /// Bring configuration over from the system this host replaces.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// The active rows of the Python system's `strategy_configurations` table, as
    /// manifests beside copies of their plugins.
    Strategies {
        /// e.g. postgres://user:password@host:5432/db
        #[arg(long)]
        postgres: String,
        /// Where the manifests go (default: `plugins.dir`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A TOML file whose `[types]` table maps strategy_type to plugin name.
        #[arg(long)]
        types: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum FeedSource {
    /// Synthetic ticks: a seeded random walk per instrument (realistic NSE tokens).
    Paper {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Ticks per second (0 = as fast as acknowledged).
        #[arg(long)]
        rate: Option<u64>,
        /// Ticks to write (0 = until stopped).
        #[arg(long)]
        count: Option<u64>,
        /// Re-publish recorded tick envelopes (JSON lines) instead.
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DlqAction {
    /// Re-publish DLQ records onto their original topic, with their original ids.
    Replay {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TopicsAction {
    /// Create every topic of the registry for both namespaces (idempotent).
    Create {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// List drift between the registry and the cluster; exit 0 only when there is none.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PluginAction {
    /// Validate a component against the WIT world and its manifest.
    Check {
        file: PathBuf,
        /// The manifest (default: FILE with .toml).
        #[arg(long)]
        manifest: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Scaffold a strategy that builds out of the box, with its test and manifest.
    New {
        name: String,
        /// rust, python or javascript.
        #[arg(long, default_value = "rust")]
        lang: String,
        /// Where its source goes (default: plugins/NAME, plugins/python/NAME or
        /// plugins/javascript/NAME); the manifest goes into plugins/.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

fn usage(e: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: 2,
        error: e.into(),
    }
}

fn runtime(e: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: 1,
        error: e.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // Every error of the library names its cause in its own message.
            eprintln!("alpha-panda: {}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// Logging to standard error as `log.format` says (`RUST_LOG` filters it). Set up
/// once, when the command's configuration is known.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

fn load_config(path: Option<&PathBuf>) -> Result<Config, Failure> {
    let config = Config::load(path.map(PathBuf::as_path)).map_err(usage)?;
    init_logging(config.log.format);
    Ok(config)
}

fn tokio_rt() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(runtime)
}

fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Run { config } => {
            let config = load_config(config.as_ref())?;
            let summary =
                alpha_panda::app::run_blocking(config, shutdown_signal()).map_err(runtime)?;
            tracing::info!(?summary, "bye");
            Ok(())
        }
        Command::Feed {
            source:
                FeedSource::Paper {
                    config,
                    rate,
                    count,
                    from,
                },
        } => {
            let config = load_config(config.as_ref())?;
            tokio_rt()?.block_on(feed(&config, rate, count, from))
        }
        Command::Dlq {
            action: DlqAction::Replay { topic, config },
        } => {
            let config = load_config(config.as_ref())?;
            let report = tokio_rt()?
                .block_on(alpha_panda::dlq_replay::replay(&config, &topic))
                .map_err(runtime)?;
            println!("{report}");
            Ok(())
        }
        Command::Replay { ticks, config, out } => {
            let config = load_config(config.as_ref())?;
            replay(&config, &ticks, out.as_ref())
        }
        Command::Topics { action } => {
            let (config, check) = match action {
                TopicsAction::Create { config } => (config, false),
                TopicsAction::Check { config } => (config, true),
            };
            let config = load_config(config.as_ref())?;
            tokio_rt()?.block_on(topics(&config, check))
        }
        Command::Import {
            what:
                ImportWhat::Strategies {
                    postgres,
                    out,
                    types,
                    config,
                },
        } => import_strategies(&postgres, out, types.as_deref(), config.as_ref()),
        Command::Plugin { action } => match action {
            PluginAction::Check {
                file,
                manifest,
                config,
            } => {
                let config = load_config(config.as_ref())?;
                let report =
                    alpha_panda::registry::check::check_plugin(&config, &file, manifest.as_deref())
                        .map_err(runtime)?;
                println!("{report}");
                Ok(())
            }
            PluginAction::New { name, lang, dir } => {
                init_logging(LogFormat::Text);
                let lang: alpha_panda::scaffold::Lang = lang.parse().map_err(usage)?;
                let dir = dir.unwrap_or_else(|| lang.default_dir(Path::new("plugins"), &name));
                let made = alpha_panda::scaffold::scaffold(&name, lang, &dir).map_err(usage)?;
                println!("{made}");
                Ok(())
            }
        },
    }
}

/// `import strategies`: the report on standard output; exit 1 if a row was refused.
fn import_strategies(
    postgres: &str,
    out: Option<PathBuf>,
    types: Option<&Path>,
    config: Option<&PathBuf>,
) -> Result<(), Failure> {
    let config = load_config(config)?;
    let types = alpha_panda::import::types(types).map_err(usage)?;
    let rows = alpha_panda::import::read_rows(postgres).map_err(runtime)?;
    let out = out.unwrap_or_else(|| config.plugins.dir.clone());
    let report = alpha_panda::import::import(&config, &rows, &types, &out).map_err(runtime)?;
    println!("{report}");
    if report.refused.is_empty() {
        return Ok(());
    }
    Err(runtime(anyhow::anyhow!(
        "{} row(s) not imported (listed above); the others are written",
        report.refused.len()
    )))
}

fn replay(config: &Config, ticks: &PathBuf, out: Option<&PathBuf>) -> Result<(), Failure> {
    let mut set = alpha_panda::replay::load_strategies(config).map_err(runtime)?;
    let total = std::fs::metadata(ticks).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let mut progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let summary = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))
                .map_err(runtime)?;
            let mut w = std::io::BufWriter::new(file);
            alpha_panda::replay::replay(config, &mut set, ticks, &mut w, &mut progress)
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            alpha_panda::replay::replay(config, &mut set, ticks, &mut w, &mut progress)
        }
    }
    .map_err(runtime)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "replayed {} ticks through [{}]: {} signals, {} plugin faults",
        summary.ticks,
        summary.strategies.join(", "),
        summary.signals,
        summary.faults
    );
    Ok(())
}

/// Resolves on the first SIGINT or SIGTERM; a second one exits at once.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    tracing::info!("signal received: draining (a second signal exits at once)");
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!("alpha-panda: second signal, exiting now");
        std::process::exit(130);
    });
}

async fn feed(
    config: &Config,
    rate: Option<u64>,
    count: Option<u64>,
    from: Option<PathBuf>,
) -> Result<(), Failure> {
    if config.kafka.is_embedded() {
        return Err(usage(anyhow::anyhow!(
            "kafka.bootstrap_servers is `embedded`: `feed paper` writes to a real cluster (use --config config/redpanda.toml); `alpha-panda run` has its own feed"
        )));
    }
    let producer: rdkafka::producer::FutureProducer =
        alpha_panda::kafka::settings::producer(config, &config.kafka.bootstrap_servers)
            .create()
            .map_err(runtime)?;
    let written = match from {
        Some(path) => alpha_panda::feed::run_file(&producer, &path)
            .await
            .map_err(runtime)?,
        None => {
            let (tx, rx) = tokio::sync::watch::channel(false);
            let rate = rate.unwrap_or(config.feed.rate);
            let count = count.unwrap_or(config.feed.count);
            let run = alpha_panda::feed::run_paper(&producer, config.feed.seed, rate, count, &rx);
            tokio::pin!(run);
            tokio::select! {
                r = &mut run => r.map_err(runtime)?,
                _ = shutdown_signal() => {
                    let _ = tx.send(true);
                    run.await.map_err(runtime)?
                }
            }
        }
    };
    println!("wrote {written} ticks to market.ticks");
    Ok(())
}

async fn topics(config: &Config, check: bool) -> Result<(), Failure> {
    use alpha_panda::kafka::admin::Admin;
    use alpha_panda::topics::TopicRegistry;
    if config.kafka.is_embedded() {
        return Err(usage(anyhow::anyhow!(
            "kafka.bootstrap_servers is `embedded`: topics create/check need a real cluster (use --config config/redpanda.toml)"
        )));
    }
    let registry = TopicRegistry::new(&config.topics);
    let specs = registry.all_topics();
    let admin = Admin::connect_with(config).map_err(runtime)?;
    if check {
        let drift = admin.check(&specs).await.map_err(runtime)?;
        if drift.is_empty() {
            println!("ok: {} topics match the registry", specs.len());
            return Ok(());
        }
        for d in &drift {
            println!("drift: {d}");
        }
        return Err(runtime(anyhow::anyhow!(
            "{} drift(s) from the topic registry",
            drift.len()
        )));
    }
    let report = admin
        .create(&specs, registry.replication_factor())
        .await
        .map_err(runtime)?;
    for t in &report.created {
        println!("created {t}");
    }
    println!(
        "{} created, {} already present",
        report.created.len(),
        report.existing.len()
    );
    Ok(())
}
