//! Trigger orders, one rule per scenario, through the engine with the invariants checked after
//! every command: they wait off the book, fire when the price they watch reaches theirs, keep
//! their id, end `TriggerFailed` when their order is refused, and can be cancelled.

mod common;

use common::{Harness, gtc, order};
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC, SOL_USDC_PERP};
use rucksack_types::{
    AccountId, CancelTarget, ClientId, Command, Event, Lots, MarketId, MarketSize, NewOrder, OrderId, OrderSpec,
    OrderStatus, Reject, Side, Ticks, TimeInForce, Trigger, TriggerBy,
};

fn venue() -> Harness {
    let mut h = Harness::new();
    for command in fixtures::risk_settings().into_iter().chain(fixtures::perp_listings()) {
        h.ok(command);
    }
    h.ok(Command::UpdateMarkPrices);
    h
}

fn stop(account: u64, market: MarketId, side: Side, lots: i64, price: i64, by: TriggerBy) -> Command {
    let spec = OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc };
    Command::PlaceOrder(NewOrder {
        market,
        trigger: Some(Trigger { price: Ticks(price), by }),
        ..order(account, side, spec)
    })
}

fn accepted_id(events: &[Event]) -> OrderId {
    events
        .iter()
        .find_map(|e| match e {
            Event::OrderAccepted { order, .. } => Some(*order),
            _ => None,
        })
        .expect("accepted")
}

fn traded(events: &[Event]) -> i64 {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(trade) => Some(trade.quantity.0),
            _ => None,
        })
        .sum()
}

#[test]
fn a_stop_on_the_last_price_fires_when_a_trade_reaches_it() {
    let mut h = venue();
    // No trade yet: nothing to watch.
    assert_eq!(h.apply(stop(1, SOL_USDC, Side::Ask, 100, 14_000, TriggerBy::LastPrice)), Err(Reject::PriceUnavailable));
    h.ok(Command::PlaceOrder(gtc(2, Side::Ask, 14_300, 100)));
    h.ok(Command::PlaceOrder(gtc(3, Side::Bid, 14_300, 100)));
    // Last trade 143: a sell stop at 140 waits for the price to fall to it.
    let events = h.ok(stop(1, SOL_USDC, Side::Ask, 100, 14_000, TriggerBy::LastPrice));
    let id = accepted_id(&events);
    assert!(events.iter().any(|e| matches!(e, Event::TriggerPlaced { order, .. } if *order == id)));
    assert_eq!(traded(&events), 0);
    // Bids at 139 and 138; a trade at 141 does not reach it, one at 139 does.
    h.ok(Command::PlaceOrder(gtc(3, Side::Bid, 13_900, 50)));
    h.ok(Command::PlaceOrder(gtc(3, Side::Bid, 13_800, 100)));
    h.ok(Command::PlaceOrder(gtc(2, Side::Ask, 14_100, 10)));
    let events = h.ok(Command::PlaceOrder(gtc(3, Side::Bid, 14_100, 10)));
    assert_eq!(traded(&events), 10, "141 is above the stop");
    let events = h.ok(Command::PlaceOrder(common::market(2, Side::Ask, 10)));
    // The trade at 139 fires the stop: its market sell, under the stop's own id, takes the 40
    // left at 139 and 60 at 138.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::OrderAccepted { order, new } if *order == id && new.trigger.is_none()))
    );
    assert_eq!(traded(&events), 10 + 100);
    assert_eq!(h.engine.depth(SOL_USDC, Side::Bid), vec![(Ticks(13_800), Lots(40))]);
}

#[test]
fn a_perpetual_stop_on_the_mark_and_one_on_the_index_fire_when_those_move() {
    let mut h = venue();
    // Account 2 short 10 SOL at 143; its stop buys back if the mark rises to 150.
    h.ok(Command::PlaceOrder(NewOrder { market: SOL_USDC_PERP, ..gtc(1, Side::Bid, 14_300, 1_000) }));
    h.ok(Command::PlaceOrder(NewOrder { market: SOL_USDC_PERP, ..common::market(2, Side::Ask, 1_000) }));
    let reduce = |command| match command {
        Command::PlaceOrder(new) => Command::PlaceOrder(NewOrder { reduce_only: true, ..new }),
        other => other,
    };
    h.ok(reduce(stop(2, SOL_USDC_PERP, Side::Bid, 1_000, 15_000, TriggerBy::MarkPrice)));
    // Account 3 buys SOL spot if its index falls to 140.
    h.ok(Command::PlaceOrder(gtc(4, Side::Ask, 14_000, 100)));
    h.ok(stop(3, SOL_USDC, Side::Bid, 100, 14_000, TriggerBy::IndexPrice));
    h.ok(Command::PlaceOrder(NewOrder { market: SOL_USDC_PERP, ..gtc(4, Side::Ask, 15_100, 1_000) }));
    // The index alone moving to 151 does not move the mark until the clock samples it.
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("151") });
    assert_eq!(h.engine.perp_position(AccountId(2), SOL_USDC_PERP).size, -1_000);
    let events = h.ok(Command::UpdateMarkPrices);
    assert_eq!(traded(&events), 1_000, "the mark at 151 fires the stop");
    assert_eq!(h.engine.perp_position(AccountId(2), SOL_USDC_PERP).size, 0);
    // The index falling to 139 fires the spot buy.
    let events = h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("139") });
    assert_eq!(traded(&events), 100);
}

#[test]
fn a_trigger_order_can_be_cancelled_and_one_whose_order_is_refused_fails() {
    let mut h = venue();
    let with_client = |command, client| match command {
        Command::PlaceOrder(new) => Command::PlaceOrder(NewOrder { client_id: Some(ClientId(client)), ..new }),
        other => other,
    };
    let first = accepted_id(&h.ok(stop(1, SOL_USDC, Side::Bid, 100, 15_000, TriggerBy::IndexPrice)));
    h.ok(with_client(stop(1, SOL_USDC, Side::Bid, 100, 15_100, TriggerBy::IndexPrice), 7));
    assert_eq!(
        h.apply(with_client(stop(1, SOL_USDC, Side::Bid, 100, 15_200, TriggerBy::IndexPrice), 7)),
        Err(Reject::DuplicateClientId)
    );
    h.ok(stop(1, SOL_USDC, Side::Bid, 100, 15_200, TriggerBy::IndexPrice));
    let cancel = |target| Command::CancelOrder { account: AccountId(1), market: SOL_USDC, target };
    let events = h.ok(cancel(CancelTarget::Order(first)));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::OrderClosed { order, status: OrderStatus::Cancelled, .. } if *order == first))
    );
    h.ok(cancel(CancelTarget::Client(ClientId(7))));
    let events = h.ok(Command::CancelAll {
        account: AccountId(1),
        market: SOL_USDC,
        scope: rucksack_types::CancelScope::Triggers,
    });
    assert_eq!(events.len(), 1, "the last trigger order is cancelled");
    // Account 5 holds a little SOL and no USDC: its stop buy fires and is refused for funds.
    h.deposit(5, SOL, 1_000);
    h.ok(Command::PlaceOrder(gtc(2, Side::Ask, 15_000, 100)));
    let failing = accepted_id(&h.ok(stop(5, SOL_USDC, Side::Bid, 100, 14_400, TriggerBy::IndexPrice)));
    let events = h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("145") });
    assert!(events.iter().any(
        |e| matches!(e, Event::OrderClosed { order, status: OrderStatus::TriggerFailed, .. } if *order == failing)
    ));
    // A snapshot keeps waiting triggers exactly.
    h.ok(stop(1, SOL_USDC, Side::Ask, 100, 13_000, TriggerBy::IndexPrice));
    let bytes = h.engine.encode_snapshot();
    let restored = rucksack_engine::Engine::decode_snapshot(&bytes).expect("decodes");
    assert_eq!(restored.encode_snapshot(), bytes);
}

#[test]
fn a_take_profit_and_a_stop_loss_ride_with_an_order_and_one_cancels_the_other() {
    let mut h = venue();
    let perp = |command| match command {
        Command::PlaceOrder(new) => NewOrder { market: SOL_USDC_PERP, ..new },
        _ => unreachable!("an order"),
    };
    let exit = |price, by| rucksack_types::Exit { trigger: Trigger { price: Ticks(price), by }, limit: None };
    // An exit watching a price there is none of (no trade yet on SOL_USDC) refuses the whole
    // order: nothing rests.
    let no_last = Command::PlaceOrderWithExits {
        order: gtc(1, Side::Bid, 14_000, 100),
        take_profit: None,
        stop_loss: Some(exit(13_000, TriggerBy::LastPrice)),
    };
    assert_eq!(h.apply(no_last), Err(Reject::PriceUnavailable));
    assert!(h.engine.depth(SOL_USDC, Side::Bid).is_empty());
    h.ok(Command::PlaceOrder(perp(Command::PlaceOrder(gtc(2, Side::Ask, 14_300, 1_000)))));
    let long = Command::PlaceOrderWithExits {
        order: perp(Command::PlaceOrder(common::market(1, Side::Bid, 1_000))),
        take_profit: Some(exit(15_000, TriggerBy::MarkPrice)),
        stop_loss: Some(exit(13_500, TriggerBy::IndexPrice)),
    };
    let events = h.ok(long);
    assert_eq!(h.engine.perp_position(AccountId(1), SOL_USDC_PERP).size, 1_000);
    let exits: Vec<(OrderId, Option<OrderId>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::TriggerPlaced { order, related, .. } => Some((*order, *related)),
            _ => None,
        })
        .collect();
    let parent = accepted_id(&events);
    assert_eq!(exits.iter().map(|(_, r)| *r).collect::<Vec<_>>(), vec![Some(parent), Some(parent)]);
    // The mark reaching 150 fires the take-profit (a reduce-only market sell) against a bid
    // there, and cancels the stop-loss.
    h.ok(Command::PlaceOrder(perp(Command::PlaceOrder(gtc(3, Side::Bid, 15_000, 1_000)))));
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("151") });
    let events = h.ok(Command::UpdateMarkPrices);
    assert_eq!(traded(&events), 1_000);
    assert_eq!(h.engine.perp_position(AccountId(1), SOL_USDC_PERP).size, 0);
    let stop_loss = exits[1].0;
    assert!(
        events.iter().any(
            |e| matches!(e, Event::OrderClosed { order, status: OrderStatus::Cancelled, .. } if *order == stop_loss)
        )
    );
    // A quote-sized order takes no exits.
    let by_quote = NewOrder {
        spec: OrderSpec::Market {
            size: MarketSize::Quote(rucksack_types::Amount(1_000_000)),
            time_in_force: TimeInForce::Ioc,
        },
        ..perp(Command::PlaceOrder(common::market(1, Side::Bid, 1)))
    };
    let refused = Command::PlaceOrderWithExits {
        order: by_quote,
        take_profit: Some(exit(15_500, TriggerBy::MarkPrice)),
        stop_loss: None,
    };
    assert_eq!(h.apply(refused), Err(Reject::InvalidExit));
}
