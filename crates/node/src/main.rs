//! `rucksack`: the exchange node's command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rucksack_journal::{JournalConfig, SnapshotStore};
use rucksack_node::admin;
use rucksack_node::config::Config;
use rucksack_node::generator::Generator;
use rucksack_node::layout;
use rucksack_node::pipeline::{Clock, Pipeline, PipelineConfig, Submission};
use rucksack_node::recovery::{self, Start};
use rucksack_node::serve::{self, ServeOptions};
use rucksack_testkit::WorkloadMix;

// The gateway allocates on one thread and frees on another for every request; glibc's malloc
// took a tenth of the server's CPU doing that (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "rucksack", version, about = "A deterministic, journaled exchange")]
struct Cli {
    /// What to do; with none, `serve` with its defaults.
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the exchange: the Backpack-compatible API on --listen, state in --data-dir. A fresh
    /// data directory starts the demo venue.
    Serve(ServeArgs),
    /// Operator commands against a running server.
    Admin {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
        server: String,
        /// The admin token (default: RUCKSACK_ADMIN_TOKEN, or <data-dir>/admin.token).
        #[arg(long, global = true)]
        token: Option<String>,
        /// Where to find admin.token when no token is given.
        #[arg(long, default_value = "data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Measure signed order entry against a running server: maximum throughput, then
    /// open-loop latency at half of it (or at --rate), next to ED25519 verification alone.
    BenchHttp {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// The admin token (default: RUCKSACK_ADMIN_TOKEN, or <data-dir>/admin.token).
        #[arg(long)]
        token: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Accounts (API keys) the orders are spread over.
        #[arg(long, default_value_t = 64)]
        keys: usize,
        /// Keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Length of each measured run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Offered orders per second for the latency run (default: half the measured maximum).
        #[arg(long)]
        rate: Option<u64>,
    },
    /// WebSocket fan-out: many clients on one busy market, orders driven over signed REST.
    BenchWs {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// The admin token (default: RUCKSACK_ADMIN_TOKEN, or <data-dir>/admin.token).
        #[arg(long)]
        token: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "SOL_USDC")]
        symbol: String,
        /// WebSocket clients, each subscribed to the market's depth, trade and bookTicker.
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// Threads placing orders over REST.
        #[arg(long, default_value_t = 4)]
        traders: usize,
        /// Orders each request carries: 1 places single orders, more sends batch requests, so
        /// one engine batch changes the book many times.
        #[arg(long, default_value_t = 50)]
        orders_per_request: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Orders per second offered by all traders together (default: as fast as the server
        /// takes them).
        #[arg(long)]
        rate: Option<u64>,
        /// The server's pid, to report its resident memory.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// The history store: `rucksack history rebuild`.
    History {
        #[command(subcommand)]
        action: HistoryAction,
    },
    /// Rebuild the state from the journal and print its sequence number and state hash.
    Replay {
        #[arg(long)]
        data_dir: PathBuf,
        /// Start from the first journal record instead of the newest snapshot.
        #[arg(long)]
        from_genesis: bool,
    },
    /// Write a snapshot of the current state (recovered from the journal) now.
    Snapshot {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Drive a seeded order flow through the journaled pipeline, printing `acked <seq>` for
    /// each command once it is durable and applied. Run again on the same directory, it
    /// recovers and continues the same flow where the journal ends.
    Load {
        #[arg(long)]
        data_dir: PathBuf,
        /// Commands to submit, including the venue setup.
        #[arg(long, default_value_t = 100_000)]
        commands: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 64)]
        accounts: u64,
        #[arg(long, value_enum, default_value_t = Mix::Everything)]
        mix: Mix,
        /// Print an ack line for every this many commands (0: none).
        #[arg(long, default_value_t = 1)]
        ack_every: u64,
        /// Snapshot every this many commands (0: never).
        #[arg(long, default_value_t = 1_000_000)]
        snapshot_every: u64,
        /// Journal segment size in bytes.
        #[arg(long, default_value_t = 64 << 20)]
        segment_bytes: u64,
        /// Stamp commands with a reproducible synthetic clock instead of the wall clock.
        #[arg(long)]
        synthetic_clock: bool,
    },
}

/// `serve` options; each overrides the same setting of `--config`.
#[derive(clap::Args, Default)]
struct ServeArgs {
    /// A TOML file with listen, data_dir, demo_bots, key_rate_limit, ip_rate_limit and the venue
    /// ([[assets]], [[markets]]) a fresh data directory is listed with.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to serve on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Where the journal, snapshots and admin token live [default: data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Do not run the demo's price oracle, market maker and taker.
    #[arg(long)]
    no_demo_bots: bool,
    /// Seed of the demo's price walk and bots.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Signed requests one API key may make per minute [default: 2000, Backpack's limit].
    #[arg(long)]
    key_rate_limit: Option<u32>,
    /// Requests one client address may make per minute; loopback is not limited [default: 6000].
    #[arg(long)]
    ip_rate_limit: Option<u32>,
    /// Time moves only by `rucksack admin advance-clock`.
    #[arg(long)]
    manual_clock: bool,
    /// Where history is kept: `sqlite://PATH` or `postgres://USER@HOST/DB`
    /// [default: sqlite://<data-dir>/history.sqlite].
    #[arg(long)]
    database_url: Option<String>,
    /// How often perpetual PnL is realized into balances, in seconds.
    #[arg(long, default_value_t = 10)]
    realize_pnl_every: u64,
}

impl ServeArgs {
    /// The file's settings under the flags', then the defaults.
    fn options(self) -> anyhow::Result<ServeOptions> {
        let config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let listings = config.listings()?;
        // The demo bots trade the demo venue; a configured venue runs without them unless asked.
        let demo_bots = !self.no_demo_bots && config.demo_bots.unwrap_or(listings.is_none());
        Ok(ServeOptions {
            listen: self.listen.or(config.listen).unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: self.data_dir.or(config.data_dir).unwrap_or_else(|| PathBuf::from("data")),
            pipeline: PipelineConfig::default(),
            demo_bots,
            seed: self.seed,
            requests_per_key_per_minute: self.key_rate_limit.or(config.key_rate_limit).unwrap_or(2_000).max(1),
            requests_per_ip_per_minute: self.ip_rate_limit.or(config.ip_rate_limit).unwrap_or(6_000).max(1),
            manual_clock: self.manual_clock,
            listings,
            database_url: self.database_url.or(config.database_url),
            realize_pnl_every_seconds: self.realize_pnl_every.max(1),
        })
    }
}

#[derive(Subcommand)]
enum HistoryAction {
    /// Empty the history store and project the whole journal into it again. The server must
    /// be stopped.
    Rebuild {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// [default: sqlite://<data-dir>/history.sqlite]
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create an account with a new API key; prints {"accountId","apiKey","apiSecret"}.
    CreateAccount {
        /// Deposit ASSET=AMOUNT into the new account (repeatable).
        #[arg(long = "fund", value_parser = admin::parse_fund)]
        funds: Vec<(String, String)>,
        /// What the key may do: a comma-separated set of read, trade and withdraw.
        #[arg(long, default_value = "read,trade,withdraw")]
        permissions: rucksack_types::Permissions,
    },
    /// Credit a deposit to an account.
    Fund {
        #[arg(long)]
        account: u64,
        /// ASSET=AMOUNT
        #[arg(value_parser = admin::parse_fund)]
        fund: (String, String),
    },
    /// List the markets.
    Markets,
    /// Pin the demo oracle's price for ASSET (the random walk stops for it).
    SetPrice { asset: String, price: String },
    /// Move a `--manual-clock` server's clock forward by DURATION (e.g. 90s, 15m, 1h, 2d).
    AdvanceClock {
        #[arg(value_parser = admin::parse_duration)]
        duration: u64,
    },
    /// The insurance fund: its balance of every asset and its changes, newest first.
    Insurance {
        /// Only the changes of this asset.
        #[arg(long)]
        asset: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Move an account's available balance into the insurance fund.
    FundInsurance {
        #[arg(long)]
        account: u64,
        /// ASSET=AMOUNT
        #[arg(value_parser = admin::parse_fund)]
        fund: (String, String),
    },
    /// Make an account a backstop liquidity provider taking up to AMOUNT (in the settlement
    /// asset) of each position closed out; 0 withdraws it.
    Backstop {
        #[arg(long)]
        account: u64,
        #[arg(long)]
        capacity: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mix {
    /// Every command kind and option.
    Everything,
    /// 50% add / 45% cancel / 5% IOC near the touch.
    Churn,
}

fn main() -> anyhow::Result<()> {
    // Quiet by default; RUST_LOG=info (or debug, per module) for more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let command = Cli::parse().command.unwrap_or(Cmd::Serve(ServeArgs { seed: 1, ..ServeArgs::default() }));
    match command {
        Cmd::Serve(args) => serve::serve(args.options()?),
        Cmd::Admin { server, token, data_dir, action } => {
            let admin = admin::Admin { server, token: admin::resolve_token(token, &data_dir)? };
            let output = match action {
                AdminAction::CreateAccount { funds, permissions } => admin.create_account_with(&funds, permissions)?,
                AdminAction::Fund { account, fund } => admin.fund(account, &fund.0, &fund.1)?,
                AdminAction::Markets => admin.markets()?,
                AdminAction::SetPrice { asset, price } => admin.set_price(&asset, &price)?,
                AdminAction::AdvanceClock { duration } => admin.advance_clock(duration)?,
                AdminAction::Insurance { asset, limit, offset } => {
                    let mut path = format!("/admin/v1/insurance?limit={limit}&offset={offset}");
                    if let Some(asset) = asset {
                        let plain = asset.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                        anyhow::ensure!(plain, "no asset is named {asset:?}");
                        path.push_str(&format!("&asset={asset}"));
                    }
                    admin.call("GET", &path, None)?
                }
                AdminAction::FundInsurance { account, fund: (asset, amount) } => {
                    let body = serde_json::json!({ "accountId": account, "asset": asset, "amount": amount });
                    admin.call("POST", "/admin/v1/insurance", Some(&body))?
                }
                AdminAction::Backstop { account, capacity } => {
                    let body = serde_json::json!({ "accountId": account, "capacity": capacity });
                    admin.call("POST", "/admin/v1/backstop", Some(&body))?
                }
            };
            println!("{output}");
            Ok(())
        }
        Cmd::BenchHttp { server, token, data_dir, keys, connections, seconds, rate } => {
            let admin = admin::Admin { server: server.clone(), token: admin::resolve_token(token, &data_dir)? };
            let seconds = seconds.clamp(1, 50);
            let report = rucksack_node::loadgen::bench(
                rucksack_node::loadgen::LoadOptions { server, keys, connections, seconds, rate },
                &admin,
            )?;
            println!("{report}");
            Ok(())
        }
        Cmd::BenchWs {
            server,
            token,
            data_dir,
            symbol,
            clients,
            traders,
            orders_per_request,
            seconds,
            rate,
            server_pid,
        } => {
            let admin = admin::Admin { server: server.clone(), token: admin::resolve_token(token, &data_dir)? };
            let options = rucksack_node::wsbench::WsBenchOptions {
                server,
                symbol,
                clients,
                traders,
                orders_per_request,
                seconds: seconds.clamp(1, 300),
                rate,
                server_pid,
            };
            println!("{}", rucksack_node::wsbench::run(options, &admin)?);
            Ok(())
        }
        Cmd::History { action: HistoryAction::Rebuild { data_dir, database_url } } => {
            let url = database_url.unwrap_or_else(|| serve::default_database_url(&data_dir));
            let started = Instant::now();
            let rebuilt = rucksack_node::projector::rebuild(&data_dir, &url)?;
            println!(
                "{}",
                serde_json::json!({
                    "lastSeq": rebuilt.last_seq.0,
                    "commands": rebuilt.commands,
                    "stored": rebuilt.stored,
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
            Ok(())
        }
        Cmd::Replay { data_dir, from_genesis } => replay(&data_dir, from_genesis),
        Cmd::Snapshot { data_dir } => snapshot(&data_dir),
        Cmd::Load {
            data_dir,
            commands,
            seed,
            accounts,
            mix,
            ack_every,
            snapshot_every,
            segment_bytes,
            synthetic_clock,
        } => {
            let mix = match mix {
                Mix::Everything => WorkloadMix::everything(),
                Mix::Churn => WorkloadMix::book_churn(),
            };
            let config = PipelineConfig {
                snapshot_every,
                journal: JournalConfig { segment_bytes },
                clock: if synthetic_clock { Clock::TESTKIT } else { Clock::Wall },
                ..PipelineConfig::default()
            };
            load(&data_dir, commands, seed, accounts, mix, ack_every, config)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn replay(data_dir: &Path, from_genesis: bool) -> anyhow::Result<()> {
    anyhow::ensure!(data_dir.is_dir(), "data directory {} does not exist", data_dir.display());
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} replaying: {pos} commands, {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let start = if from_genesis { Start::Genesis } else { Start::NewestSnapshot };
    let recovered = recovery::recover(data_dir, start, |n| bar.set_position(n))?;
    bar.finish_and_clear();
    for skipped in &recovered.skipped_snapshots {
        eprintln!("warning: skipped snapshot {skipped}");
    }
    if let Some(tail) = &recovered.torn_tail {
        eprintln!(
            "warning: torn record at the end of {} (offset {}, {:?}) was not applied",
            tail.segment.display(),
            tail.offset,
            tail.reason
        );
    }
    let line = serde_json::json!({
        "lastSeq": recovered.engine.last_seq().0,
        "stateHash": hex(&recovered.engine.state_hash()),
        "commands": recovered.commands,
        "seconds": recovered.seconds,
    });
    println!("{line}");
    Ok(())
}

fn snapshot(data_dir: &Path) -> anyhow::Result<()> {
    let recovered = recovery::recover(data_dir, Start::NewestSnapshot, |_| {})?;
    let store = SnapshotStore::open(&layout::snapshot_dir(data_dir))?;
    let seq = recovered.engine.last_seq().0;
    let path = store.write(seq, &recovered.engine.encode_snapshot())?;
    println!("{}", serde_json::json!({ "lastSeq": seq, "snapshot": path.display().to_string() }));
    Ok(())
}

fn load(
    data_dir: &Path,
    commands: usize,
    seed: u64,
    accounts: u64,
    mix: WorkloadMix,
    ack_every: u64,
    config: PipelineConfig,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let recovered = recovery::recover(data_dir, Start::NewestSnapshot, |_| {})?;
    let done = recovered.engine.last_seq().0 as usize;
    if done > 0 {
        eprintln!("recovered {done} commands");
    }
    let started = Instant::now();
    let outcome = move |_ticket: u64,
                        command: &rucksack_types::Sequenced,
                        _result: Result<&[rucksack_types::Event], &rucksack_types::Reject>| {
        if ack_every > 0 && command.seq.0.is_multiple_of(ack_every) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "acked {}", command.seq);
            let _ = out.flush();
        }
    };
    let pipeline = Pipeline::start(data_dir, recovered.engine, config, outcome)?;
    if let Some(tail) = &pipeline.journal_recovery().truncated_tail {
        eprintln!(
            "cut a torn record off the journal: {} at offset {} ({:?}, {} bytes)",
            tail.segment.display(),
            tail.offset,
            tail.reason,
            tail.discarded_bytes
        );
    }
    for (ticket, command) in Generator::new(seed, accounts, mix).take(commands).enumerate().skip(done) {
        pipeline.submit_wait(Submission { ticket: ticket as u64, command })?;
    }
    let engine = pipeline.shutdown()?;
    let seconds = started.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "lastSeq": engine.last_seq().0,
        "stateHash": hex(&engine.state_hash()),
        "commands": commands,
        "seconds": seconds,
    });
    println!("{line}");
    Ok(())
}
