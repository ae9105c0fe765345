//! `rucksack serve`: recovery, the pipeline, the read models and the HTTP gateway in one
//! process, with a graceful stop on SIGINT/SIGTERM that drains in-flight commands and leaves a
//! snapshot behind.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use axum::Json;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use crossbeam_channel::{Sender, TrySendError};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rucksack_api::auth::{AuthConfig, Authenticator, Quota, RateLimitConfig};
use rucksack_api::error::ApiError;
use rucksack_api::gateway::{Gateway, Reply, SubmitError};
use rucksack_api::history::HistoryProgress;
use rucksack_api::request::Fields;
use rucksack_api::server::{AppState, router};
use rucksack_api::server::{json_body, require_admin};
use rucksack_api::views::{Publisher, ReadModel};
use rucksack_engine::Engine;
use rucksack_journal::SnapshotStore;
use rucksack_store::HistoryStore;
use rucksack_types::{Command, Event, Reject, Sequenced};

use crate::admin::Admin;
use crate::demo;
use crate::layout;
use crate::market_maker::{self, Oracle};
use crate::pipeline::{Clock, ManualClock, Outcome, Pipeline, PipelineConfig, Submission};
use crate::projector::{Projector, ProjectorFeed};
use crate::recovery::{self, Start};

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub pipeline: PipelineConfig,
    /// Run the demo's oracle, market maker and taker.
    pub demo_bots: bool,
    /// Seed of the demo's price walk and bots.
    pub seed: u64,
    /// Signed requests one API key may make per minute.
    pub requests_per_key_per_minute: u32,
    /// Requests one client address (other than loopback) may make per minute.
    pub requests_per_ip_per_minute: u32,
    /// Time moves only by `rucksack admin advance-clock`.
    pub manual_clock: bool,
    /// What a fresh data directory is listed with; `None` for the demo venue.
    pub listings: Option<Vec<Command>>,
    /// Where history is kept: `sqlite://PATH` or `postgres://...`; `None` for
    /// `<data-dir>/history.sqlite`.
    pub database_url: Option<String>,
    /// How often perpetual positions' PnL is realized into balances, in venue seconds.
    pub realize_pnl_every_seconds: u64,
}

/// The history store a data directory uses unless told otherwise.
pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("history.sqlite").display())
}

/// Folds outcomes into the read models, then answers the waiting requests once per batch, after
/// the models show the batch: a client that reads right after its reply sees its own order.
struct Outcomes {
    gateway: Arc<Gateway>,
    publisher: Publisher,
    replies: Vec<(u64, Reply)>,
    history: ProjectorFeed,
}

impl Outcome for Outcomes {
    fn applied(&mut self, ticket: u64, command: &Sequenced, result: Result<&[Event], &Reject>) {
        let events = result.unwrap_or(&[]);
        self.publisher.record(command.time, events);
        self.history.record(command, events);
        if ticket != 0 {
            let result = result.map(<[Event]>::to_vec).map_err(Clone::clone);
            self.replies.push((ticket, Reply { seq: command.seq, time: command.time, result }));
        }
    }

    fn batch_applied(&mut self, engine: &Engine) {
        self.publisher.publish(engine);
        for (ticket, reply) in self.replies.drain(..) {
            self.gateway.complete(ticket, reply);
        }
    }
}

/// Reads `<data-dir>/admin.token`, creating it (mode 0600) with a fresh random token.
pub fn admin_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("admin.token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the admin token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok(token)
}

pub fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let admin_token = admin_token(data_dir)?;
    // The projector stores history behind the engine; it is fed every command after the last
    // one its store holds, during the replay below and then live.
    let database_url = options.database_url.clone().unwrap_or_else(|| default_database_url(data_dir));
    let history_progress = HistoryProgress::new(0);
    let projector = Projector::start(&database_url, {
        let progress = history_progress.clone();
        move |seq| progress.advance(seq.0)
    })?;
    history_progress.advance(projector.stored().0);
    // The read models are rebuilt by replaying the whole journal.
    let model = ReadModel::default();
    let mut rebuild = Outcomes {
        gateway: Arc::new(Gateway::new(|_, _| Err(SubmitError::Stopped))),
        publisher: model.publisher(),
        replies: Vec::new(),
        history: projector.feed(),
    };
    let recovered = recovery::recover_into(data_dir, Start::Genesis, |_| {}, &mut rebuild)?;
    drop(rebuild);
    let fresh = recovered.engine.last_seq().0 == 0;

    // The gateway's way into the pipeline; taken away at shutdown so the queue can close.
    let queue: Arc<Mutex<Option<Sender<Submission>>>> = Arc::new(Mutex::new(None));
    let submit_queue = queue.clone();
    let gateway = Arc::new(Gateway::new(move |ticket, command| {
        let guard = submit_queue.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = guard.as_ref().ok_or(SubmitError::Stopped)?;
        sender.try_send(Submission { ticket, command }).map_err(|e| match e {
            TrySendError::Full(_) => SubmitError::Busy,
            TrySendError::Disconnected(_) => SubmitError::Stopped,
        })
    }));
    // WebSocket streams: the live publisher feeds them; the replay above did not.
    let (hub, stream_sink, fanout) =
        rucksack_api::stream::open(model.clone(), rucksack_api::stream::HubConfig::default());
    let publisher = model.publisher().with_streams(rucksack_api::stream::Collector::new(stream_sink));
    let outcomes = Outcomes { gateway: gateway.clone(), publisher, replies: Vec::new(), history: projector.feed() };
    let manual_clock = options.manual_clock.then(|| {
        let now = rucksack_api::server::now_ms() * 1_000;
        ManualClock::starting_at(now.max(recovered.engine.time().0))
    });
    let mut pipeline_config = options.pipeline.clone();
    if let Some(clock) = &manual_clock {
        pipeline_config.clock = Clock::Manual(clock.clone());
    }
    let pipeline = Pipeline::start(data_dir, recovered.engine, pipeline_config, outcomes)
        .map_err(|e| anyhow::anyhow!("{e:#}\n(is another rucksack already serving {}?)", data_dir.display()))?;
    *queue.lock().unwrap_or_else(PoisonError::into_inner) = Some(pipeline.submitter());

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // The gateway's own pool, opened on the runtime its connections will be used from.
    let history = runtime.block_on(HistoryStore::open(&database_url)).context("opening the history store")?;
    let data_dir = data_dir.clone();
    let state = Arc::new(AppState {
        model,
        history,
        history_progress,
        gateway: gateway.clone(),
        auth: Authenticator::new(AuthConfig {
            rate_limits: RateLimitConfig {
                per_key: Quota::per_minute(
                    options.requests_per_key_per_minute,
                    options.requests_per_key_per_minute / 10 + 1,
                ),
                per_ip: Quota::per_minute(
                    options.requests_per_ip_per_minute,
                    options.requests_per_ip_per_minute / 10 + 1,
                ),
                ..RateLimitConfig::default()
            },
            ..AuthConfig::default()
        }),
        admin_token,
        hub,
    });
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
    runtime.spawn(fanout.run());
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("listening on {}", options.listen))?;
        let address = listener.local_addr()?;
        if fresh {
            let listings = match &options.listings {
                Some(listings) => listings.clone(),
                None => demo::listings()?,
            };
            for command in listings {
                let reply =
                    gateway.execute(command).await.map_err(|e| anyhow::anyhow!("listing the venue: {}", e.message))?;
                reply.result.map_err(|r| anyhow::anyhow!("listing the venue: {r}"))?;
            }
        }
        spawn_interest_clock(state.clone(), manual_clock.clone());
        spawn_perp_clock(state.clone(), manual_clock.clone(), options.realize_pnl_every_seconds);
        let oracle = {
            let views = state.model.read();
            let specs: Vec<_> = views.markets.iter().map(|m| m.spec).collect();
            let bases: Vec<String> =
                specs.iter().map(|s| views.asset(s.base).map(|a| a.symbol.to_string()).unwrap_or_default()).collect();
            Arc::new(Oracle::new(&specs, &bases, options.seed))
        };
        let app = router(state.clone())
            .merge(oracle_routes(oracle.clone(), state.clone()))
            .merge(metrics_route(metrics.clone()))
            .merge(clock_route(manual_clock.clone(), state.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let bots = options.demo_bots.then(|| {
            let admin = Admin { server: format!("http://{address}"), token: state.admin_token.clone() };
            let (server, data_dir, oracle, stop, seed) =
                (format!("http://{address}"), data_dir.clone(), oracle.clone(), stop.clone(), options.seed);
            std::thread::Builder::new()
                .name("demo-bots".into())
                .spawn(move || market_maker::run(server, admin, data_dir, oracle, stop, seed))
        });
        println!("rucksack is serving on http://{address}");
        println!("data directory: {}", data_dir.display());
        println!("create an account: rucksack admin create-account --server http://{address} --fund USDC=10000");
        let _ = std::io::stdout().flush();
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop_signal())
            .await?;
        stop.store(true, Ordering::Relaxed);
        if let Some(Ok(bots)) = bots {
            let _ = tokio::task::spawn_blocking(move || bots.join()).await;
        }
        anyhow::Ok(())
    });
    // Stop taking commands, let the queued ones become durable and applied, then snapshot.
    queue.lock().unwrap_or_else(PoisonError::into_inner).take();
    let engine = pipeline.shutdown()?;
    let store = SnapshotStore::open(&layout::snapshot_dir(&data_dir))?;
    store.write(engine.last_seq().0, &engine.encode_snapshot())?;
    // Whatever the projector cannot store now, the next start feeds it again from the journal.
    if let Err(error) = projector.finish() {
        tracing::warn!("history is behind the journal until the next start: {error:#}");
    }
    served?;
    tracing::info!(seq = engine.last_seq().0, "stopped");
    Ok(())
}

/// An admin-only `POST path` whose JSON body `handle` turns into a JSON reply.
fn admin_post<H>(path: &'static str, state: Arc<AppState>, handle: H) -> axum::Router
where
    H: Fn(&Fields<'_>) -> Result<serde_json::Value, ApiError> + Clone + Send + Sync + 'static,
{
    axum::Router::new().route(
        path,
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            let result = (|| {
                require_admin(&state, &headers)?;
                let body = json_body(&body)?;
                handle(&Fields::new(&body)?)
            })();
            match result {
                Ok(value) => Json(value).into_response(),
                Err(error) => error.into_response(),
            }
        }),
    )
}

/// `POST /admin/v1/clock {"seconds": 90}` moves a manual clock forward.
fn clock_route(clock: Option<ManualClock>, state: Arc<AppState>) -> axum::Router {
    admin_post("/admin/v1/clock", state, move |fields| {
        let clock = clock
            .as_ref()
            .ok_or_else(|| ApiError::bad_request("The server runs on the wall clock; start it with --manual-clock"))?;
        let seconds = fields
            .integer("seconds", 10 * 365 * 86_400)?
            .ok_or_else(|| ApiError::bad_request("Missing field `seconds`"))?;
        Ok(serde_json::json!({ "timeMicros": clock.advance(seconds * 1_000_000) }))
    })
}

/// `POST /admin/v1/prices {"asset": "SOL", "price": "150.25"}` makes the price the asset's
/// index price for risk and pins the demo oracle's reference for its market, if it has one
/// (`"pin": false`: only the index price, as the oracle publishes its own walk).
fn oracle_routes(oracle: Arc<Oracle>, state: Arc<AppState>) -> axum::Router {
    axum::Router::new().route(
        "/admin/v1/prices",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            let result = async {
                require_admin(&state, &headers)?;
                let body = json_body(&body)?;
                let fields = Fields::new(&body)?;
                let (asset, price) = (fields.required_text("asset")?, fields.required_text("price")?);
                let index = rucksack_types::IndexPrice::parse(&price)
                    .map_err(|e| ApiError::bad_request(format!("price {e}")))?;
                let id =
                    state.model.read().asset_by_symbol(&asset).map(|a| a.id).ok_or_else(ApiError::invalid_asset)?;
                let reply = state.gateway.execute(Command::SetIndexPrice { asset: id, price: index }).await?;
                reply.result.map_err(ApiError::from)?;
                // Assets without a market (USDC) have no demo reference to pin.
                if fields.flag("pin")? || !fields.has("pin") {
                    let _ = oracle.pin(&asset, &price);
                }
                Ok::<_, ApiError>(serde_json::json!({ "asset": asset, "price": price }))
            }
            .await;
            match result {
                Ok(value) => Json(value).into_response(),
                Err(error) => error.into_response(),
            }
        }),
    )
}

/// Charges interest on the hour: asks the engine to accrue whenever the clock has passed an hour
/// boundary since the last request (checked every second, so a manual clock's jump is charged
/// within a second; the engine charges every hour a jump skipped).
fn spawn_interest_clock(state: Arc<AppState>, clock: Option<ManualClock>) {
    const HOUR_MICROS: u64 = 3_600_000_000;
    let now = move || match &clock {
        Some(clock) => clock.now_micros(),
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64),
    };
    tokio::spawn(async move {
        let mut requested_hour = 0;
        loop {
            let hour = now() / HOUR_MICROS;
            if hour > requested_hour && state.gateway.execute(Command::AccrueInterest).await.is_ok() {
                requested_hour = hour;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

/// The perpetuals' and the risk engine's clock, every second of wall time: a mark-price sample
/// (and funding, at interval ends), PnL realization whenever the venue's clock passes a multiple
/// of `realize_every_seconds` (so a manual clock's jump realizes within a second), then a
/// liquidation sweep. Without perpetual markets only the sweep.
fn spawn_perp_clock(state: Arc<AppState>, clock: Option<ManualClock>, realize_every_seconds: u64) {
    let period = realize_every_seconds.max(1) * 1_000_000;
    let now = move || match &clock {
        Some(clock) => clock.now_micros(),
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64),
    };
    tokio::spawn(async move {
        let mut realized_period = 0;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if state.model.read().markets.iter().any(|m| m.perp.is_some()) {
                let _ = state.gateway.execute(Command::UpdateMarkPrices).await;
                let current = now() / period;
                if current > realized_period && state.gateway.execute(Command::RealizePnl).await.is_ok() {
                    realized_period = current;
                }
            }
            let _ = state.gateway.execute(Command::Liquidate).await;
        }
    });
}

/// `GET /metrics`: Prometheus text format.
fn metrics_route(handle: PrometheusHandle) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(move || std::future::ready(handle.render())))
}

async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
