use rucksack_types::{MarketId, Timestamp};

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
    for bad in ["", "depth", "trade.", "candles.SOL_USDC", "trade.SOL\"USDC", "account.nothing", "bookTicker.a.b"] {
        assert_eq!(StreamName::parse(bad), Err(NameError::InvalidStream), "{bad}");
    }
    assert_eq!((NameError::InvalidStream.code(), NameError::InvalidDepthWindow.code()), (4006, 4008));
    assert!(StreamName::parse("account.balanceUpdate").unwrap().is_private());
    assert!(!StreamName::parse("trade.X").unwrap().is_private());
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
    let spec = rucksack_types::MarketSpec {
        id: MarketId(0),
        symbol: rucksack_types::Symbol::new("SOL_USDC").unwrap(),
        base: rucksack_types::AssetId(0),
        quote: rucksack_types::AssetId(1),
        tick_size: rucksack_types::Decimal::new(1, 2).unwrap(),
        step_size: rucksack_types::Decimal::new(1, 2).unwrap(),
        min_price: rucksack_types::Ticks(1),
        max_price: rucksack_types::Ticks(1_000_000),
        min_quantity: rucksack_types::Lots(1),
        max_quantity: rucksack_types::Lots(1_000_000),
        maker_fee_bps: 0,
        taker_fee_bps: 0,
        kind: rucksack_types::MarketKind::Spot,
    };
    let update = DepthUpdate {
        market: MarketId(0),
        first,
        last: first,
        bids: vec![(rucksack_types::Ticks(10_000), rucksack_types::Lots(100))],
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
