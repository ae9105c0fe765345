//! Liquidations as users, auditors and operators see them, through the handlers, the read
//! models, the history store and the stream hub, on a real engine behind an in-process gateway
//! (apply, publish, store, reply: the node's order).
//!
//! The trader (account 5) deposits 200 USDC and buys 10 SOL-perp (1,000 lots) at $143 from
//! account 2, seven times leveraged; at a SOL index of about $124.3 it is liquidated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use rucksack_engine::Engine;
use rucksack_store::{Applied, HistoryStore};
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC_PERP, USDC};
use rucksack_types::{
    AccountId, CancelScope, Command, Event, Lots, MarginFlags, MarketSize, NewOrder, OrderSpec, SelfTradePrevention,
    Sequenced, Side, Ticks, TimeInForce,
};

use super::{AppState, Caller, Shared, Signed};
use crate::auth::{AuthConfig, Authenticator};
use crate::gateway::{Gateway, Reply, SubmitError};
use crate::history::HistoryProgress;
use crate::stream::hub::Membership;
use crate::stream::names::Topic;
use crate::views::ReadModel;

const TRADER: u64 = 5;
const ADMIN_TOKEN: &str = "the operator's token";

/// An exchange in one process: the handlers' state, fed by an engine thread.
struct Exchange {
    state: Shared,
    database: std::path::PathBuf,
}

impl Drop for Exchange {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.database.display()));
        }
    }
}

static DATABASES: AtomicU64 = AtomicU64::new(0);

fn perp_order(account: u64, side: Side, spec: OrderSpec) -> Command {
    Command::PlaceOrder(NewOrder {
        account: AccountId(account),
        market: SOL_USDC_PERP,
        side,
        client_id: None,
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec,
        margin: MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

fn gtc(account: u64, side: Side, price: i64, lots: i64) -> Command {
    perp_order(
        account,
        side,
        OrderSpec::Limit { price: Ticks(price), quantity: Lots(lots), time_in_force: TimeInForce::Gtc },
    )
}

fn take(account: u64, side: Side, lots: i64) -> Command {
    perp_order(account, side, OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc })
}

impl Exchange {
    /// The standard venue with its perpetuals (SOL $143), accounts 1..=4 holding 1,000 SOL and
    /// 100,000 USDC each, and the trader long 1,000 lots bought from account 2.
    async fn open() -> Exchange {
        let model = ReadModel::default();
        let (hub, sink, fanout) = crate::stream::open(model.clone(), crate::stream::HubConfig::default());
        tokio::spawn(fanout.run());
        let database = std::env::temp_dir().join(format!(
            "rucksack-api-liquidation-{}-{}.sqlite",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        ));
        let history = HistoryStore::open(&format!("sqlite://{}", database.display())).await.expect("history store");
        let progress = HistoryProgress::new(0);

        let (commands, queue) = std::sync::mpsc::channel::<(u64, Command)>();
        let gateway = Arc::new(Gateway::new(move |ticket, command| {
            commands.send((ticket, command)).map_err(|_| SubmitError::Stopped)
        }));
        let (stored, mut to_store) = tokio::sync::mpsc::unbounded_channel::<Applied>();
        let replies = Arc::downgrade(&gateway);
        let mut publisher = model.publisher().with_streams(crate::stream::Collector::new(sink));
        std::thread::spawn(move || {
            let (mut engine, mut stamp) = (Engine::new(), rucksack_testkit::Stamp::default());
            while let Ok((ticket, command)) = queue.recv() {
                let Sequenced { seq, time, .. } = stamp.next(command);
                let result = engine.apply(&Sequenced { seq, time, command }).map(<[Event]>::to_vec);
                let events = result.clone().unwrap_or_default();
                publisher.record(time, &events);
                publisher.publish(&engine);
                let _ = stored.send(Applied { seq, time, events });
                let Some(gateway) = replies.upgrade() else { return };
                gateway.complete(ticket, Reply { seq, time, result });
            }
        });
        let (store, advance) = (history.clone(), progress.clone());
        tokio::spawn(async move {
            while let Some(applied) = to_store.recv().await {
                let seq = applied.seq;
                store.apply(&[applied]).await.expect("stored");
                advance.advance(seq.0);
            }
        });
        let state = Arc::new(AppState {
            model,
            gateway,
            auth: Authenticator::new(AuthConfig::default()),
            admin_token: ADMIN_TOKEN.to_string(),
            history,
            history_progress: progress,
            hub,
        });
        let exchange = Exchange { state, database };
        let mut setup = fixtures::listings();
        for account in 1..=4 {
            setup.push(fixtures::deposit(account, SOL, 1_000_000_000_000, account * 2));
            setup.push(fixtures::deposit(account, USDC, 100_000_000_000, account * 2 + 1));
        }
        setup.extend(fixtures::risk_settings());
        setup.extend(fixtures::perp_listings());
        setup.push(Command::UpdateMarkPrices);
        setup.push(fixtures::deposit(TRADER, USDC, 200_000_000, 100));
        setup.push(gtc(2, Side::Ask, 14_300, 1_000));
        setup.push(take(TRADER, Side::Bid, 1_000));
        for command in setup {
            exchange.ok(command).await;
        }
        exchange
    }

    async fn ok(&self, command: Command) -> Vec<Event> {
        let reply = self.state.gateway.execute(command).await.expect("executed");
        reply.result.unwrap_or_else(|reject| panic!("{command:?}: {reject}"))
    }

    async fn move_sol(&self, price: &str) {
        self.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price(price) }).await;
        self.ok(Command::UpdateMarkPrices).await;
    }

    /// Sweeps until the trader is out of liquidation; returns how many sweeps it took.
    async fn liquidate(&self) -> usize {
        for sweeps in 1..=20 {
            self.ok(Command::Liquidate).await;
            if !self.state.model.read().liquidating.contains(&AccountId(TRADER)) {
                return sweeps;
            }
        }
        panic!("liquidation does not converge");
    }

    /// A signed GET as `account`.
    async fn get<F, Answer>(&self, account: u64, path: &str, handler: F) -> (StatusCode, Value)
    where
        F: FnOnce(State<Shared>, Signed) -> Answer,
        Answer: Future<Output = Response>,
    {
        let uri = path.parse().expect("uri");
        let request = Signed { caller: Caller { account: AccountId(account) }, uri, body: Bytes::new() };
        body(handler(State(self.state.clone()), request).await).await
    }

    async fn fills(&self, account: u64, query: &str) -> Vec<Value> {
        let path = format!("/wapi/v1/history/fills?{query}");
        let (status, fills) = self.get(account, &path, crate::history::fills).await;
        assert_eq!(status, StatusCode::OK, "{fills}");
        fills.as_array().cloned().unwrap_or_default()
    }

    /// Waits until the hub has sent everything published so far: a mark sample's frame comes
    /// after every earlier batch's.
    async fn settle(&self) {
        let mut marks = self.state.hub.join();
        self.state.hub.subscribe(marks.client, Topic::MarkPrice(SOL_USDC_PERP), "markPrice.SOL_USDC_PERP");
        self.ok(Command::UpdateMarkPrices).await;
        next(&mut marks).await;
    }
}

async fn body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn admin_headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).expect("header"));
    headers
}

fn field<'a>(values: &'a [Value], key: &str) -> Vec<&'a Value> {
    values.iter().map(|v| &v[key]).collect()
}

/// A frame's stream name and data.
fn decoded(frame: &crate::stream::hub::Frame) -> (String, Value) {
    let mut value: Value = serde_json::from_str(frame.as_str()).expect("JSON");
    (value["stream"].as_str().unwrap_or_default().to_string(), value["data"].take())
}

/// The frames of the next run a client is sent.
async fn next(member: &mut Membership) -> Vec<(String, Value)> {
    let run = tokio::time::timeout(std::time::Duration::from_secs(5), member.frames.recv())
        .await
        .expect("a frame in time")
        .expect("the hub holds the queue");
    run.iter().map(decoded).collect()
}

/// Frames sent so far, without waiting for more.
fn sent(member: &mut Membership) -> Vec<(String, Value)> {
    let mut frames = Vec::new();
    while let Ok(run) = member.frames.try_recv() {
        frames.extend(run.iter().map(decoded));
    }
    frames
}

/// With nobody bidding, backstop providers (registered through the admin API) take the
/// position: both accounts see the transfers as fills at the exact price, each `fillType`
/// selects its own, the `liquidation` stream reports them and the providers' positions open.
#[tokio::test]
async fn backstop_transfers_are_fills_selected_by_fill_type_and_streamed() {
    let x = Exchange::open().await;
    let headers = admin_headers(ADMIN_TOKEN);
    for (account, capacity) in [(3, "1000"), (4, "500")] {
        let request = Bytes::from(json!({ "accountId": account, "capacity": capacity }).to_string());
        let (status, providers) =
            body(super::admin_set_backstop(State(x.state.clone()), headers.clone(), request).await).await;
        assert_eq!(status, StatusCode::OK, "{providers}");
    }
    let (status, listing) = body(super::admin_backstop_providers(State(x.state.clone()), headers.clone()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listing,
        json!({ "asset": "USDC", "providers": [
            { "accountId": 3, "capacity": "1000.000000" }, { "accountId": 4, "capacity": "500.000000" },
        ]})
    );

    let mut stream = x.state.hub.join();
    let subscribe = r#"{"method":"SUBSCRIBE","params":["liquidation"]}"#;
    assert!(crate::stream::session::request(&x.state, stream.client, subscribe, &mut None).is_empty());
    let mut provider = x.state.hub.join();
    x.state.hub.subscribe(provider.client, Topic::Positions(AccountId(3), None), "account.positionUpdate");
    // The subscriptions are taken before the transfer: otherwise the provider's snapshot on
    // subscribe could already show the position the transfer opens.
    x.settle().await;
    // Half a tick: the price is kept and shown exactly.
    x.move_sol("124.305").await;
    x.liquidate().await;

    let all = x.fills(TRADER, "").await;
    assert_eq!(
        field(&all, "systemOrderType"),
        [&json!("LiquidatePositionOnBackstop"), &json!("LiquidatePositionOnBackstop"), &Value::Null]
    );
    assert_eq!(field(&all, "quantity"), ["3.33", "6.67", "10.00"], "newest first");
    assert_eq!(field(&all, "side"), ["Ask", "Ask", "Bid"]);
    assert_eq!(field(&all[..2], "price"), ["124.305", "124.305"]);
    assert_eq!(all[2]["price"], "143.00");
    assert_eq!(field(&all[..2], "fee"), ["0.000000", "0.000000"]);
    // Transfers are numbered with the market's trades, after the trade that opened the position.
    let opened = all[2]["tradeId"].as_u64().expect("the user's fill has a trade id");
    let transfers: Vec<u64> = all[..2].iter().map(|f| f["tradeId"].as_u64().expect("a trade id")).collect();
    assert!(transfers[0] > transfers[1] && transfers[1] > opened, "{transfers:?} after {opened}");
    assert!(all[..2].iter().all(|f| f["orderId"].as_str().is_some_and(|id| id.contains('-'))), "{all:?}");
    for (fill_type, count) in [
        ("Backstop", 2),
        ("Liquidation", 2),
        ("AllLiquidation", 2),
        ("Adl", 0),
        ("BookLiquidation", 0),
        ("CollateralConversion", 0),
        ("User", 1),
    ] {
        let listed = x.fills(TRADER, &format!("fillType={fill_type}")).await;
        assert_eq!(listed.len(), count, "{fill_type}: {listed:?}");
    }
    assert_eq!(x.fills(TRADER, "fillType=User").await[0], all[2]);
    let paged = x.fills(TRADER, "fillType=Backstop&limit=1&offset=1&sortDirection=Asc").await;
    assert_eq!(paged, all[..1]);

    // The provider's side: it bought, and the same transfer names both fills.
    let bought = x.fills(3, "fillType=Backstop").await;
    assert_eq!((bought.len(), &bought[0]["side"], &bought[0]["quantity"]), (1, &json!("Bid"), &json!("6.67")));
    assert_eq!(bought[0]["orderId"], all[1]["orderId"]);
    assert!(x.fills(3, "fillType=User").await.is_empty());

    // Unknown fill types are refused with the venue's error, as are malformed ones.
    for bad in ["fillType=Liquidations", "fillType=user", "fillType="] {
        let path = format!("/wapi/v1/history/fills?{bad}");
        let (status, error) = x.get(TRADER, &path, crate::history::fills).await;
        assert_eq!((status, &error["code"]), (StatusCode::BAD_REQUEST, &json!("INVALID_CLIENT_REQUEST")), "{bad}");
    }

    // The `liquidation` stream: each transfer, as the trader traded it.
    let frames = next(&mut stream).await;
    let data: Vec<&Value> = frames
        .iter()
        .map(|(name, data)| {
            assert_eq!(name, "liquidation");
            data
        })
        .collect();
    assert_eq!(data.len(), 2, "{frames:?}");
    for (frame, quantity) in data.iter().zip(["6.67", "3.33"]) {
        assert_eq!(
            [&frame["e"], &frame["s"], &frame["S"], &frame["q"], &frame["p"]],
            [&json!("liquidation"), &json!("SOL_USDC_PERP"), &json!("Ask"), &json!(quantity), &json!("124.305")]
        );
        assert!(frame["E"].is_u64() && frame["T"].is_u64());
    }
    // The provider's position opened by the transfer.
    let opened = next(&mut provider).await;
    let (name, position) = &opened[0];
    assert_eq!(name, "account.positionUpdate");
    assert_eq!((&position["e"], &position["q"]), (&json!("positionOpened"), &json!("6.67")), "{opened:?}");
}

/// Through the book, each step is the exchange's order: order history and fills name its type,
/// the trader's order updates their origin, the account shows it is being liquidated, and each
/// fill goes to the `liquidation` stream.
#[tokio::test]
async fn on_book_steps_show_as_system_orders() {
    let x = Exchange::open().await;
    for account in [3, 4] {
        x.ok(Command::CancelAll { account: AccountId(account), market: SOL_USDC_PERP, scope: CancelScope::All }).await;
    }
    x.ok(gtc(3, Side::Bid, 12_420, 10_000)).await;
    x.ok(gtc(4, Side::Ask, 12_440, 10_000)).await;
    let mut stream = x.state.hub.join();
    x.state.hub.subscribe(stream.client, Topic::Liquidations, "liquidation");
    let mut orders = x.state.hub.join();
    x.state.hub.subscribe(orders.client, Topic::Orders(AccountId(TRADER), None), "account.orderUpdate");
    x.move_sol("124.3").await;

    x.ok(Command::Liquidate).await;
    assert_eq!(x.get(TRADER, "/api/v1/account", crate::orders::account).await.1["liquidating"], true);
    let sweeps = 1 + x.liquidate().await;
    assert!(sweeps > 2, "{sweeps} sweeps");
    assert_eq!(x.get(TRADER, "/api/v1/account", crate::orders::account).await.1["liquidating"], false);

    let path = "/wapi/v1/history/orders?limit=1000";
    let (status, listed) = x.get(TRADER, path, crate::history::orders).await;
    assert_eq!(status, StatusCode::OK);
    let listed = listed.as_array().cloned().unwrap_or_default();
    let system: Vec<&Value> = listed.iter().filter(|o| o["systemOrderType"] == "LiquidatePositionOnBook").collect();
    assert!(system.len() >= 2, "{listed:?}");
    assert!(system.iter().all(|o| o["side"] == "Ask" && o["timeInForce"] == "IOC"));
    assert_eq!(listed.iter().filter(|o| o["systemOrderType"].is_null()).count(), 1, "the trader's own buy");

    let book = x.fills(TRADER, "fillType=BookLiquidation").await;
    assert!(!book.is_empty());
    assert!(book.iter().all(|f| f["systemOrderType"] == "LiquidatePositionOnBook" && f["price"] == "124.20"));
    let system_ids: Vec<&Value> = system.iter().map(|o| &o["id"]).collect();
    assert!(book.iter().all(|f| system_ids.contains(&&f["orderId"])));
    assert_eq!(x.fills(TRADER, "fillType=Liquidation").await, book);
    assert_eq!(x.fills(TRADER, "").await.len(), book.len() + 1);
    // The bid that took the exchange's sells was account 3's own.
    let maker = x.fills(3, "").await;
    assert_eq!(maker.len(), book.len());
    assert!(maker.iter().all(|f| f["systemOrderType"].is_null()));
    assert!(x.fills(3, "fillType=AllLiquidation").await.is_empty());

    // Order updates of the exchange's orders carry their origin.
    x.settle().await;
    let updates: Vec<Value> = sent(&mut orders).into_iter().map(|(_, data)| data).collect();
    for update in &updates {
        let origin = if system_ids.contains(&&update["i"]) { "LIQUIDATION_AUTOCLOSE" } else { "USER" };
        assert_eq!(update["O"], origin, "{update}");
    }
    let events_of_system: Vec<&Value> =
        updates.iter().filter(|u| u["O"] == "LIQUIDATION_AUTOCLOSE").map(|u| &u["e"]).collect();
    assert!(events_of_system.contains(&&json!("orderAccepted")) && events_of_system.contains(&&json!("orderFill")));
    // One `liquidation` frame per fill on the book.
    let frames = sent(&mut stream);
    assert_eq!(frames.len(), book.len(), "{frames:?}");
    assert!(frames.iter().all(|(name, d)| name == "liquidation" && d["S"] == "Ask" && d["p"] == "124.20"));
}

/// The insurance fund through the admin API: contributions, the balance and the history (paged
/// and by asset), and bad requests refused without changing anything.
#[tokio::test]
async fn the_insurance_fund_is_funded_and_shown_to_the_operator() {
    let x = Exchange::open().await;
    let fund = |token: &str, body: Value| {
        let state = x.state.clone();
        let headers = admin_headers(token);
        async move {
            self::body(super::admin_fund_insurance(State(state), headers, Bytes::from(body.to_string())).await).await
        }
    };
    let show = |query: &str| {
        let (state, headers) = (x.state.clone(), admin_headers(ADMIN_TOKEN));
        let uri: Uri = format!("/admin/v1/insurance{query}").parse().expect("uri");
        async move { body(super::admin_insurance(State(state), headers, uri).await).await }
    };
    let usdc = |account: u64, amount: &str| json!({ "accountId": account, "asset": "USDC", "amount": amount });
    let (status, funded) = fund(ADMIN_TOKEN, usdc(1, "1000")).await;
    assert_eq!(status, StatusCode::OK, "{funded}");
    assert_eq!(funded, json!({ "accountId": 1, "asset": "USDC", "amount": "1000.000000", "balance": "1000.000000" }));
    let (_, funded) = fund(ADMIN_TOKEN, usdc(2, "0.5")).await;
    assert_eq!(funded["balance"], "1000.500000");

    let named = |account: Value| json!({ "accountId": account, "asset": "USDC", "amount": "1" });
    let refused = [
        (usdc(1, "-1"), StatusCode::BAD_REQUEST, "INVALID_QUANTITY"),
        (usdc(1, "0"), StatusCode::BAD_REQUEST, "INVALID_QUANTITY"),
        (usdc(1, "0.0000001"), StatusCode::BAD_REQUEST, "INVALID_QUANTITY"),
        (json!({ "accountId": 1, "asset": "DOGE", "amount": "1" }), StatusCode::BAD_REQUEST, "INVALID_ASSET"),
        (usdc(9, "1"), StatusCode::BAD_REQUEST, "INSUFFICIENT_FUNDS"),
        (usdc(1, "1000000"), StatusCode::BAD_REQUEST, "INSUFFICIENT_FUNDS"),
        (named(json!("one")), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (named(json!(-1)), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (json!({ "asset": "USDC", "amount": "1" }), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (json!([1]), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
    ];
    for (request, status, code) in refused {
        let (got, error) = fund(ADMIN_TOKEN, request.clone()).await;
        assert_eq!((got, &error["code"]), (status, &json!(code)), "{request}");
    }
    let (status, error) = fund("a guess", usdc(1, "1")).await;
    assert_eq!((status, &error["code"]), (StatusCode::UNAUTHORIZED, &json!("UNAUTHORIZED")));
    assert_eq!(x.state.model.read().insurance[usize::from(USDC.0)].0, 1_000_500_000, "nothing refused changed it");
    // The trader, in liquidation, may not pay in.
    x.move_sol("124.3").await;
    x.ok(Command::Liquidate).await;
    let (status, error) = fund(ADMIN_TOKEN, usdc(TRADER, "1")).await;
    assert_eq!((status, &error["code"]), (StatusCode::BAD_REQUEST, &json!("ACCOUNT_LIQUIDATING")));

    let (status, shown) = show("").await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let usdc = shown["balances"].as_array().and_then(|b| b.iter().find(|b| b["asset"] == "USDC")).cloned();
    let balance = {
        let views = x.state.model.read();
        crate::format::amount(&views.assets[usize::from(USDC.0)], views.insurance[usize::from(USDC.0)])
    };
    assert_eq!(usdc, Some(json!({ "asset": "USDC", "balance": balance })));
    let history = shown["history"].as_array().cloned().unwrap_or_default();
    assert_eq!(field(&history, "reason").last(), Some(&&json!("Contribution")), "oldest last");
    assert_eq!(history[history.len() - 2]["change"], "0.500000");
    assert_eq!(history[history.len() - 2]["balance"], "1000.500000");
    assert_eq!(history[history.len() - 1]["accountId"], 1);
    assert_eq!(history[0]["balance"], balance);
    let (_, oldest) = show("?limit=1&sortDirection=Asc").await;
    assert_eq!(oldest["history"], json!([history[history.len() - 1]]));
    assert_eq!(show("?asset=SOL").await.1["history"], json!([]));
    for bad in ["?asset=DOGE", "?limit=lots", "?sortDirection=Up"] {
        assert_eq!(show(bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = body(
        super::admin_insurance(State(x.state.clone()), HeaderMap::new(), "/admin/v1/insurance".parse().expect("uri"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Backstop capacities: set, changed, withdrawn with zero; bad ones refused, changing nothing.
#[tokio::test]
async fn backstop_providers_are_set_and_withdrawn_by_the_operator() {
    let x = Exchange::open().await;
    let set = |token: &str, request: Value| {
        let (state, headers) = (x.state.clone(), admin_headers(token));
        async move { body(super::admin_set_backstop(State(state), headers, Bytes::from(request.to_string())).await).await }
    };
    let (status, listing) = set(ADMIN_TOKEN, json!({ "accountId": 3, "capacity": "2500.5" })).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    assert_eq!(listing["providers"], json!([{ "accountId": 3, "capacity": "2500.500000" }]));
    for (request, status, code) in [
        (json!({ "accountId": 3, "capacity": "-1" }), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (json!({ "accountId": 3, "capacity": "0.0000001" }), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (json!({ "accountId": 3, "capacity": "lots" }), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (json!({ "accountId": 3 }), StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST"),
        (json!({ "accountId": 99, "capacity": "1" }), StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND"),
    ] {
        let (got, error) = set(ADMIN_TOKEN, request.clone()).await;
        assert_eq!((got, &error["code"]), (status, &json!(code)), "{request}");
    }
    assert_eq!(set("nope", json!({ "accountId": 3, "capacity": "1" })).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(x.state.model.read().backstop_providers, [(AccountId(3), rucksack_types::Amount(2_500_500_000))]);
    let (_, listing) = set(ADMIN_TOKEN, json!({ "accountId": 3, "capacity": "0" })).await;
    assert_eq!(listing["providers"], json!([]));
    assert!(x.state.model.read().backstop_providers.is_empty());
}

/// Prices at the market's tick places, with more only when the price has them.
#[test]
fn exact_prices_keep_the_tick_places_and_extend_them() {
    use rucksack_types::{Decimal, FinePrice, perp::FINE_PER_TICK};
    let mut spec = fixtures::sol_perp();
    let price = |ticks: i128, fine: i128| FinePrice(ticks * FINE_PER_TICK + fine);
    assert_eq!(crate::format::exact_price(&spec, price(12_430, 0)), "124.30");
    assert_eq!(crate::format::exact_price(&spec, price(12_430, FINE_PER_TICK / 2)), "124.305");
    assert_eq!(crate::format::exact_price(&spec, price(12_430, 1)), "124.30000000000001");
    spec.tick_size = Decimal::new(5, 2).expect("a tick");
    assert_eq!(crate::format::exact_price(&spec, price(2_486, 0)), "124.30");
    spec.tick_size = Decimal::new(1, 0).expect("a tick");
    assert_eq!(crate::format::exact_price(&spec, price(124, 0)), "124");
    assert_eq!(crate::format::exact_price(&spec, price(124, FINE_PER_TICK / 4)), "124.25");
}
