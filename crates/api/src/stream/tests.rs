use rucksack_types::{
    AccountId, AssetId, Command, Event, Fraction, IndexPrice, Lots, MarginFunction, MarketId, MarketSpec, OrderSpec,
    Seq, Sequenced, Side, Symbol, Ticks, Timestamp,
};

use super::hub::{HubConfig, Kick, open};
use super::names::{DepthWindow, KlineInterval, NameError, StreamName, Topic};
use crate::views::ReadModel;

#[test]
fn stream_names_parse_strictly() {
    assert_eq!(StreamName::parse("depth.SOL_USDC"), Ok(StreamName::Depth(DepthWindow::Realtime, "SOL_USDC")));
    assert_eq!(StreamName::parse("depth.600ms.SOL_USDC"), Ok(StreamName::Depth(DepthWindow::Ms600, "SOL_USDC")));
    assert_eq!(StreamName::parse("depth.100ms.SOL_USDC"), Err(NameError::InvalidDepthWindow));
    assert_eq!(StreamName::parse("kline.1m.SOL_USDC"), Ok(StreamName::Kline(KlineInterval::Minutes(1), "SOL_USDC")));
    assert_eq!(StreamName::parse("kline.7m.SOL_USDC"), Err(NameError::InvalidStream));
    assert_eq!(StreamName::parse("account.orderUpdate"), Ok(StreamName::OrderUpdate(None)));
    assert_eq!(StreamName::parse("account.orderUpdate.SOL_USDC"), Ok(StreamName::OrderUpdate(Some("SOL_USDC"))));
    assert_eq!(StreamName::parse("account.balanceUpdate"), Ok(StreamName::BalanceUpdate));
    assert_eq!(StreamName::parse("liquidation"), Ok(StreamName::Liquidation));
    assert_eq!(StreamName::Liquidation.topic(None, None), Some(Topic::Liquidations));
    assert!(!StreamName::Liquidation.is_private());
    for bad in [
        "liquidations",
        "liquidation.",
        "liquidation.SOL_USDC",
        "",
        "depth",
        "trade.",
        "candles.SOL_USDC",
        "trade.SOL\"USDC",
        "account.nothing",
        "bookTicker.a.b",
    ] {
        assert_eq!(StreamName::parse(bad), Err(NameError::InvalidStream), "{bad}");
    }
    assert_eq!((NameError::InvalidStream.code(), NameError::InvalidDepthWindow.code()), (4006, 4008));
    assert!(StreamName::parse("account.balanceUpdate").unwrap().is_private());
    assert!(!StreamName::parse("trade.X").unwrap().is_private());
}

#[test]
fn perpetual_stream_names_parse_and_resolve() {
    let (market, account) = (Some(MarketId(2)), Some(AccountId(7)));
    let cases = [
        ("markPrice.SOL_USDC_PERP", StreamName::MarkPrice("SOL_USDC_PERP"), Topic::MarkPrice(MarketId(2))),
        ("openInterest.SOL_USDC_PERP", StreamName::OpenInterest("SOL_USDC_PERP"), Topic::OpenInterest(MarketId(2))),
        ("account.positionUpdate", StreamName::PositionUpdate(None), Topic::Positions(AccountId(7), None)),
        (
            "account.positionUpdate.SOL_USDC_PERP",
            StreamName::PositionUpdate(Some("SOL_USDC_PERP")),
            Topic::Positions(AccountId(7), market),
        ),
    ];
    for (text, name, topic) in cases {
        assert_eq!(StreamName::parse(text), Ok(name), "{text}");
        assert_eq!(name.topic(name.symbol().and(market), account), Some(topic), "{text}");
    }
    assert!(StreamName::PositionUpdate(None).is_private());
    assert!(!StreamName::MarkPrice("X").is_private() && !StreamName::OpenInterest("X").is_private());
    // Position updates need the account a signature proved.
    assert_eq!(StreamName::PositionUpdate(None).topic(None, None), None);
    for bad in ["markPrice", "markPrice.", "openInterest.a.b", "account.positionUpdate.", "account.positionUpdates"] {
        assert_eq!(StreamName::parse(bad), Err(NameError::InvalidStream), "{bad}");
    }
}

#[test]
fn candles_start_on_their_boundaries() {
    // 2025-07-27T17:39:00.092Z, a Sunday.
    let time = Timestamp(1_753_637_940_092_000);
    let (start, end) = KlineInterval::Minutes(15).candle(time);
    assert_eq!((start.0, end.0), (1_753_637_400_000_000, 1_753_638_300_000_000));
    let (monday, next) = KlineInterval::Week.candle(time);
    assert_eq!(crate::format::kline_time(monday), "2025-07-21 00:00:00");
    assert_eq!(next.0 - monday.0, 7 * 86_400_000_000);
    let (month, next_month) = KlineInterval::Month.candle(time);
    assert_eq!(crate::format::kline_time(month), "2025-07-01 00:00:00");
    assert_eq!(crate::format::kline_time(next_month), "2025-08-01 00:00:00");
}

fn depth_batch(first: u64) -> super::batch::Batch {
    use super::batch::{Batch, Catalogue, DepthUpdate, Update};
    let spec = MarketSpec {
        id: MarketId(0),
        symbol: Symbol::new("SOL_USDC").unwrap(),
        base: AssetId(0),
        quote: AssetId(1),
        tick_size: rucksack_types::Decimal::new(1, 2).unwrap(),
        step_size: rucksack_types::Decimal::new(1, 2).unwrap(),
        min_price: Ticks(1),
        max_price: Ticks(1_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(1_000_000),
        maker_fee_bps: 0,
        taker_fee_bps: 0,
        kind: rucksack_types::MarketKind::Spot,
    };
    let update = DepthUpdate {
        market: MarketId(0),
        first,
        last: first,
        bids: vec![(Ticks(10_000), Lots(100))],
        asks: Vec::new(),
        time: Timestamp(1),
    };
    Batch {
        catalogue: std::sync::Arc::new(Catalogue { assets: Vec::new(), markets: vec![spec] }),
        updates: vec![Update::Depth(update)],
        emitted: Timestamp(2),
    }
}

/// One encoded frame is shared by every subscriber; a client that stops taking frames is told
/// to go once its queue is full, and the others keep receiving.
#[tokio::test]
async fn fan_out_shares_frames_and_drops_a_full_queue() {
    let (hub, sink, fanout) = open(ReadModel::default(), HubConfig { queue_frames: 4 });
    let task = tokio::spawn(fanout.run());
    let topic = Topic::Depth(MarketId(0), DepthWindow::Realtime);
    let mut reader = hub.join();
    let mut stalled = hub.join();
    hub.subscribe(reader.client, topic, "depth.SOL_USDC");
    hub.subscribe(stalled.client, topic, "depth.SOL_USDC");
    hub.subscribe(stalled.client, topic, "depth.SOL_USDC");
    for n in 1..=6 {
        sink.send(depth_batch(n));
        let frames = reader.frames.recv().await.unwrap();
        assert_eq!(frames.len(), 1, "one batch, one depth frame");
        let value: serde_json::Value = serde_json::from_str(frames[0].as_str()).unwrap();
        assert_eq!(value["stream"], "depth.SOL_USDC");
        assert_eq!(value["data"]["U"], n);
        assert_eq!(value["data"]["b"], serde_json::json!([["100.00", "1.00"]]));
    }
    // Four frames fit the stalled client's queue (the duplicate subscribe added none); the fifth
    // did not.
    assert_eq!(stalled.kick.try_recv(), Ok(Kick::SlowConsumer));
    let mut queued = 0;
    while stalled.frames.try_recv().is_ok() {
        queued += 1;
    }
    assert_eq!(queued, 4);
    // Unsubscribed, no more frames.
    hub.unsubscribe(reader.client, topic);
    sink.send(depth_batch(7));
    hub.subscribe(reader.client, Topic::Trade(MarketId(0)), "trade.SOL_USDC");
    hub.leave(reader.client);
    drop(reader.queue);
    assert!(reader.frames.recv().await.is_none(), "the hub let go of the client's queue");
    drop((hub, sink));
    task.await.unwrap();
}

/// Batches that queued up while the fan-out was busy reach each subscriber as one run of frames
/// (one write), in order.
#[tokio::test]
async fn batches_waiting_together_reach_a_client_as_one_run() {
    let (hub, sink, fanout) = open(ReadModel::default(), HubConfig::default());
    let topic = Topic::Depth(MarketId(0), DepthWindow::Realtime);
    let mut reader = hub.join();
    hub.subscribe(reader.client, topic, "depth.SOL_USDC");
    for n in 1..=3 {
        sink.send(depth_batch(n));
    }
    let task = tokio::spawn(fanout.run());
    let frames = reader.frames.recv().await.unwrap();
    let updates: Vec<u64> = frames
        .iter()
        .map(|frame| serde_json::from_str::<serde_json::Value>(frame.as_str()).unwrap()["data"]["U"].as_u64().unwrap())
        .collect();
    assert_eq!(updates, [1, 2, 3]);
    task.abort();
}

/// 2025-11-24 16:00:00 UTC, on an hour boundary.
const START: u64 = 1_764_000_000_000_000;
const SECOND: u64 = 1_000_000;
const SOL_PERP: MarketId = MarketId(0);

/// An engine with SOL, USDC and SOL_USDC_PERP (tick and step 0.01, maker 2 bps, taker 5 bps,
/// hourly funding) whose commands each make one batch, published to a hub through the read
/// models as the node publishes them.
struct Venue {
    engine: rucksack_engine::Engine,
    publisher: crate::views::Publisher,
    seq: u64,
    time: u64,
}

fn fraction(text: &str) -> Fraction {
    Fraction::parse(text).unwrap()
}

fn sol_perp() -> MarketSpec {
    use rucksack_types::{Decimal, MarketKind, PerpSpec};
    let function = |base, factor| MarginFunction { base: fraction(base), factor: fraction(factor) };
    MarketSpec {
        id: SOL_PERP,
        symbol: Symbol::new("SOL_USDC_PERP").unwrap(),
        base: AssetId(0),
        quote: AssetId(1),
        tick_size: Decimal::new(1, 2).unwrap(),
        step_size: Decimal::new(1, 2).unwrap(),
        min_price: Ticks(1),
        max_price: Ticks(100_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(10_000_000),
        maker_fee_bps: 2,
        taker_fee_bps: 5,
        kind: MarketKind::Perp(PerpSpec {
            imf: function("0.02", "0.0001275"),
            mmf: function("0.0125", "0.0000765"),
            funding_interval_micros: 3_600 * SECOND,
            funding_rate_upper: fraction("0.01"),
            funding_rate_lower: Fraction(-fraction("0.01").0),
            open_interest_limit: Lots(1_000_000_000),
            mark_band: fraction("0.05"),
            basis: None,
            bands: rucksack_types::PriceBands::OPEN,
        }),
    }
}

fn sol_price(text: &str) -> Command {
    let price = IndexPrice::parse(text).unwrap();
    Command::SetIndexPrice { asset: AssetId(0), price }
}

fn perp_order(account: u64, side: Side, spec: OrderSpec) -> Command {
    Command::PlaceOrder(rucksack_types::NewOrder {
        account: AccountId(account),
        market: SOL_PERP,
        side,
        client_id: None,
        self_trade_prevention: rucksack_types::SelfTradePrevention::RejectTaker,
        spec,
        margin: rucksack_types::MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

/// `maker` rests `lots` at `price` ticks on `side`; `taker` takes all of them.
fn trade(venue: &mut Venue, maker: u64, side: Side, price: i64, lots: i64, taker: u64) {
    use rucksack_types::{MarketSize, TimeInForce};
    let limit = OrderSpec::Limit { price: Ticks(price), quantity: Lots(lots), time_in_force: TimeInForce::Gtc };
    venue.run(perp_order(maker, side, limit));
    let take = OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc };
    venue.run(perp_order(taker, side.opposite(), take));
}

impl Venue {
    /// SOL at $143, USDC at $1 and full collateral value, accounts 1 and 2 with 100,000 USDC.
    fn open(model: &ReadModel, sink: super::hub::Sink) -> Venue {
        use rucksack_types::{Amount, AssetRisk, AssetSpec, Haircut, TxId};
        let publisher = model.publisher().with_streams(super::Collector::new(sink));
        let mut venue = Venue { engine: rucksack_engine::Engine::new(), publisher, seq: 0, time: START };
        let asset = |id, name, decimals| AssetSpec { id: AssetId(id), symbol: Symbol::new(name).unwrap(), decimals };
        let function = |base, factor| MarginFunction { base: fraction(base), factor: fraction(factor) };
        let usdc_risk = AssetRisk {
            asset: AssetId(1),
            haircut: Haircut::Identity,
            borrow_imf: function("0.1", "0.00002"),
            borrow_mmf: function("0.05", "0.00001"),
            lending: None,
            price_stale_after_micros: 0,
            max_price_update_multiplier: fraction("2"),
            min_price_update_multiplier: fraction("0.5"),
        };
        let mut commands = vec![
            Command::ListAsset(asset(0, "SOL", 9)),
            Command::ListAsset(asset(1, "USDC", 6)),
            Command::SetAssetRisk(usdc_risk),
            Command::SetIndexPrice { asset: AssetId(1), price: IndexPrice::parse("1").unwrap() },
            sol_price("143"),
            Command::ListMarket(sol_perp()),
        ];
        for account in 1..=2 {
            let amount = Amount(100_000_000_000);
            commands.push(Command::Deposit {
                account: AccountId(account),
                asset: AssetId(1),
                amount,
                tx: TxId([account as u8; 32]),
            });
        }
        for command in commands {
            venue.run(command);
        }
        venue
    }

    /// Applies `command` at `time` microseconds and publishes its batch.
    fn at(&mut self, time: u64, command: Command) -> Vec<Event> {
        self.seq += 1;
        self.time = time;
        let sequenced = Sequenced { seq: Seq(self.seq), time: Timestamp(time), command };
        let events = self.engine.apply(&sequenced).unwrap_or_else(|reject| panic!("{command:?}: {reject}")).to_vec();
        self.publisher.record(Timestamp(time), &events);
        self.publisher.publish(&self.engine);
        events
    }

    /// Applies `command` a millisecond after the last one.
    fn run(&mut self, command: Command) -> Vec<Event> {
        self.at(self.time + 1_000, command)
    }
}

/// The data of each frame of the next run a client is sent.
async fn next(member: &mut super::hub::Membership) -> Vec<(String, serde_json::Value)> {
    let run = tokio::time::timeout(std::time::Duration::from_secs(5), member.frames.recv())
        .await
        .expect("a frame in time")
        .expect("the hub holds the queue");
    run.iter()
        .map(|frame| {
            let mut value: serde_json::Value = serde_json::from_str(frame.as_str()).unwrap();
            (value["stream"].as_str().unwrap().to_string(), value["data"].take())
        })
        .collect()
}

/// The one frame of the next run.
async fn next_one(member: &mut super::hub::Membership, stream: &str) -> serde_json::Value {
    let mut run = next(member).await;
    assert_eq!(run.len(), 1, "{run:?}");
    let (name, data) = run.remove(0);
    assert_eq!(name, stream);
    data
}

/// Fields of a payload with their JSON texts, to compare with the expected ones at once.
fn fields(data: &serde_json::Value, keys: &[&str]) -> Vec<(String, String)> {
    keys.iter().map(|key| (key.to_string(), data[*key].to_string())).collect()
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

/// Every clock sample sends `markPrice`; `openInterest` goes out at the first sample of each
/// minute; the next funding time moves on once an interval is paid.
#[tokio::test]
async fn mark_price_every_sample_and_open_interest_every_minute() {
    let model = ReadModel::default();
    let (hub, sink, fanout) = open(model.clone(), HubConfig::default());
    let task = tokio::spawn(fanout.run());
    let mut marks = hub.join();
    let mut interest = hub.join();
    hub.subscribe(marks.client, Topic::MarkPrice(SOL_PERP), "markPrice.SOL_USDC_PERP");
    hub.subscribe(interest.client, Topic::OpenInterest(SOL_PERP), "openInterest.SOL_USDC_PERP");
    let mut venue = Venue::open(&model, sink);

    let first_hour_end_ms = (START + 3_600 * SECOND) / 1_000;
    venue.at(START + 58 * SECOND, Command::UpdateMarkPrices);
    let mark = next_one(&mut marks, "markPrice.SOL_USDC_PERP").await;
    let (emitted, now) = (mark["E"].as_u64().unwrap(), super::wall_clock().0);
    assert!(emitted <= now && emitted + 60 * SECOND > now, "E is the wall clock");
    // No book yet: the mark is the index; the rate is the interval's interest part alone.
    assert_eq!(
        fields(&mark, &["e", "s", "p", "i", "f", "n", "T"]),
        expected(&[
            ("e", "\"markPrice\""),
            ("s", "\"SOL_USDC_PERP\""),
            ("p", "\"143\""),
            ("i", "\"143\""),
            ("f", "\"0.0000125\""),
            ("n", &first_hour_end_ms.to_string()),
            ("T", &(START + 58 * SECOND).to_string()),
        ])
    );
    let open_interest = next_one(&mut interest, "openInterest.SOL_USDC_PERP").await;
    assert_eq!(
        fields(&open_interest, &["e", "s", "o"]),
        expected(&[("e", "\"openInterest\""), ("s", "\"SOL_USDC_PERP\""), ("o", "\"0.00\"")])
    );

    // 10 SOL change hands; open interest is 10 from now on.
    trade(&mut venue, 1, Side::Bid, 14_300, 1_000, 2);
    // Within the minute: a mark, no open interest. Once both clients' frames of a batch are
    // queued together, an empty queue after the mark means none was sent.
    let mut sent_at = Vec::new();
    for second in [59, 60, 61, 119, 120, 121] {
        venue.at(START + second * SECOND, Command::UpdateMarkPrices);
        let mark = next_one(&mut marks, "markPrice.SOL_USDC_PERP").await;
        assert_eq!(mark["T"], START + second * SECOND);
        assert_eq!(mark["n"], first_hour_end_ms);
        if let Ok(run) = interest.frames.try_recv() {
            let data: serde_json::Value = serde_json::from_str(run[0].as_str()).unwrap();
            assert_eq!(data["data"]["o"], "10.00");
            sent_at.push(second);
        }
    }
    assert_eq!(sent_at, [60, 120], "once a minute, at the minute's first sample");

    // The first sample after the hour pays the interval; the next one ends an hour later.
    venue.at(START + 3_601 * SECOND, Command::UpdateMarkPrices);
    let mark = next_one(&mut marks, "markPrice.SOL_USDC_PERP").await;
    assert_eq!(mark["n"], first_hour_end_ms + 3_600_000);
    task.abort();
}

const POSITION_FIELDS: [&str; 14] = ["e", "s", "q", "Q", "n", "B", "b", "M", "f", "m", "p", "P", "i", "l"];

/// Positions open, adjust on realization and close, each event to its account's streams (all
/// markets and the market's own); a subscription opens with the positions held, without `e`.
#[tokio::test]
async fn position_updates_follow_fills_and_realization() {
    let model = ReadModel::default();
    let (hub, sink, fanout) = open(model.clone(), HubConfig::default());
    let task = tokio::spawn(fanout.run());
    let (mut long, mut long_market, mut short, mut marks) = (hub.join(), hub.join(), hub.join(), hub.join());
    hub.subscribe(long.client, Topic::Positions(AccountId(1), None), "account.positionUpdate");
    let market_stream = "account.positionUpdate.SOL_USDC_PERP";
    hub.subscribe(long_market.client, Topic::Positions(AccountId(1), Some(SOL_PERP)), market_stream);
    hub.subscribe(short.client, Topic::Positions(AccountId(2), None), "account.positionUpdate");
    hub.subscribe(marks.client, Topic::MarkPrice(SOL_PERP), "markPrice.SOL_USDC_PERP");
    let mut venue = Venue::open(&model, sink);
    venue.run(Command::UpdateMarkPrices);
    next_one(&mut marks, "markPrice.SOL_USDC_PERP").await;

    // Account 1 buys 10 SOL from account 2 at $143: $1,430, the maker (1) pays 2 bps ($0.286),
    // the taker (2) 5 bps ($0.715), both still in the positions. Leverage 10 makes the IMF 10%.
    trade(&mut venue, 1, Side::Bid, 14_300, 1_000, 2);
    let opened_time = venue.time;
    let opened = next_one(&mut long, "account.positionUpdate").await;
    let long_opened = [
        ("e", "\"positionOpened\""),
        ("s", "\"SOL_USDC_PERP\""),
        ("q", "\"10.00\""),
        ("Q", "\"10.00\""),
        ("n", "\"1430.000000\""),
        ("B", "\"143\""),
        // $143 plus the fee per SOL.
        ("b", "\"143.0286\""),
        ("M", "\"143\""),
        ("f", "\"0.1\""),
        ("m", "\"0.0125\""),
        ("p", "\"0.000000\""),
        ("P", "\"-0.286000\""),
        ("i", "\"1-0\""),
        ("l", "\"0\""),
    ];
    assert_eq!(fields(&opened, &POSITION_FIELDS), expected(&long_opened));
    assert_eq!(opened["T"], opened_time);
    assert!(opened["E"].as_u64().unwrap() > START, "E is the wall clock");
    assert_eq!(next_one(&mut long_market, market_stream).await, opened, "the market's stream has the same payload");
    let opened = next_one(&mut short, "account.positionUpdate").await;
    let short_opened = expected(&[
        ("e", "\"positionOpened\""),
        ("q", "\"-10.00\""),
        ("Q", "\"-10.00\""),
        ("n", "\"-1430.000000\""),
        ("B", "\"143\""),
        ("b", "\"142.9285\""),
        ("P", "\"-0.715000\""),
        ("i", "\"2-0\""),
    ]);
    assert_eq!(fields(&opened, &["e", "q", "Q", "n", "B", "b", "P", "i"]), short_opened);

    // A new subscriber gets the position held now, with no event type; an account holding
    // none gets nothing.
    let mut late = hub.join();
    hub.subscribe(late.client, Topic::Positions(AccountId(1), Some(SOL_PERP)), market_stream);
    let held = next_one(&mut late, market_stream).await;
    assert!(held.get("e").is_none(), "{held}");
    assert_eq!(fields(&held, &POSITION_FIELDS[1..]), expected(&long_opened[1..]));
    assert_eq!(held["T"], opened_time);
    let mut nobody = hub.join();
    hub.subscribe(nobody.client, Topic::Positions(AccountId(3), None), "account.positionUpdate");

    // SOL to $150; realization pays the long $70 less its fee and leaves the size as it is.
    venue.run(sol_price("150"));
    venue.run(Command::UpdateMarkPrices);
    next_one(&mut marks, "markPrice.SOL_USDC_PERP").await;
    venue.run(Command::RealizePnl);
    let adjusted = next_one(&mut long, "account.positionUpdate").await;
    let long_adjusted = [
        ("e", "\"positionAdjusted\""),
        ("q", "\"10.00\""),
        ("n", "\"1500.000000\""),
        ("B", "\"143\""),
        ("b", "\"143\""),
        ("M", "\"150\""),
        ("p", "\"0.000000\""),
        ("P", "\"0.000000\""),
    ];
    assert_eq!(fields(&adjusted, &["e", "q", "n", "B", "b", "M", "p", "P"]), expected(&long_adjusted));
    assert_eq!(next_one(&mut short, "account.positionUpdate").await["e"], "positionAdjusted");
    for member in [&mut long_market, &mut late] {
        assert_eq!(next_one(member, market_stream).await, adjusted);
    }

    // Account 2 buys the 10 SOL back at $150: both close, account 1 having made $70 on them
    // and owing the $0.75 taker fee, account 2 having lost $70 and owing the $0.30 maker fee.
    trade(&mut venue, 2, Side::Bid, 15_000, 1_000, 1);
    let closed = next_one(&mut long, "account.positionUpdate").await;
    let long_closed = [
        ("e", "\"positionClosed\""),
        ("q", "\"0.00\""),
        ("Q", "\"0.00\""),
        ("n", "\"0.000000\""),
        ("B", "\"0\""),
        ("b", "\"0\""),
        ("M", "\"150\""),
        // No notional: the functions' fractions at none, the leverage floor for the IMF.
        ("f", "\"0.1\""),
        ("m", "\"0.0125\""),
        ("p", "\"70.000000\""),
        ("P", "\"-0.750000\""),
    ];
    assert_eq!(fields(&closed, &["e", "q", "Q", "n", "B", "b", "M", "f", "m", "p", "P"]), expected(&long_closed));
    let closed = next_one(&mut short, "account.positionUpdate").await;
    let short_closed =
        expected(&[("e", "\"positionClosed\""), ("q", "\"0.00\""), ("p", "\"-70.000000\""), ("P", "\"-0.300000\"")]);
    assert_eq!(fields(&closed, &["e", "q", "p", "P"]), short_closed);
    for member in [&mut long_market, &mut late] {
        assert_eq!(next_one(member, market_stream).await["e"], "positionClosed");
    }

    // Realizing what the flat positions still owe is no position update. The mark sample after
    // it shows the batch was through the hub.
    let realized = venue.run(Command::RealizePnl);
    assert!(realized.iter().any(|e| matches!(e, Event::PnlRealized { account: AccountId(1), .. })));
    venue.run(Command::UpdateMarkPrices);
    next_one(&mut marks, "markPrice.SOL_USDC_PERP").await;
    for member in [&mut long, &mut long_market, &mut short, &mut late, &mut nobody] {
        assert!(member.frames.try_recv().is_err(), "nothing more for client {}", member.client);
    }
    task.abort();
}

/// A market marked from its book has no index: `i` is left out rather than sent as zero.
#[test]
fn mark_price_without_an_index_leaves_it_out() {
    use super::batch::{Catalogue, MarkPriceUpdate, Update};
    let catalogue = Catalogue { assets: Vec::new(), markets: vec![sol_perp()] };
    let update = MarkPriceUpdate {
        market: SOL_PERP,
        mark: rucksack_types::FinePrice(14_312_500_000_000_000),
        index: None,
        funding_rate: fraction("0.0001"),
        next_funding: Timestamp(START + 3_600 * SECOND),
        time: Timestamp(START + 5),
    };
    let data = super::frames::update(&catalogue, &Update::MarkPrice(update), Timestamp(START + 9)).unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(
        data,
        serde_json::json!({
            "e": "markPrice", "E": START + 9, "s": "SOL_USDC_PERP", "p": "143.125", "f": "0.0001",
            "n": (START + 3_600 * SECOND) / 1_000, "T": START + 5,
        })
    );
    let unknown = Update::MarkPrice(MarkPriceUpdate { market: MarketId(9), ..update });
    assert_eq!(super::frames::update(&catalogue, &unknown, Timestamp(START)), None);
}
