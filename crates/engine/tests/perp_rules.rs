//! Perpetual futures, one rule per scenario, through the engine with the invariants checked
//! after every command: positions and fees, funding, realization and its waterfall, the margin
//! rule and open interest.

mod common;

use common::perp::{gtc, perp, take};
use common::{Harness, order};
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC_PERP, USDC};
use rucksack_types::perp::FINE_PER_TICK;
use rucksack_types::{
    AccountId, Amount, BorrowLendAction, BorrowLendSource, Command, Event, Fraction, Lots, MarketSize, MarketSpec,
    NewOrder, OrderSpec, Reject, SettingsChange, Side, Ticks, TimeInForce,
};

fn venue() -> Harness {
    Harness::with_perps()
}

fn price(text: &str) -> Command {
    Command::SetIndexPrice { asset: SOL, price: fixtures::index_price(text) }
}

fn position(h: &Harness, account: u64) -> rucksack_types::PerpPosition {
    h.engine.perp_position(AccountId(account), SOL_USDC_PERP)
}

fn usdc(h: &Harness, account: u64) -> i64 {
    h.balance(account, USDC).0
}

/// Account 1 buys 10 SOL (1,000 lots) from account 2 at $143: 1 is the maker.
fn open_long_short(h: &mut Harness) {
    h.ok(gtc(1, Side::Bid, 14_300, 1_000));
    h.ok(take(2, Side::Ask, 1_000));
}

#[test]
fn a_fill_opens_both_positions_and_folds_the_fees_into_them() {
    let mut h = venue();
    open_long_short(&mut h);
    let (long, short) = (position(&h, 1), position(&h, 2));
    assert_eq!((long.size, short.size), (1_000, -1_000));
    assert_eq!(long.entry_price().map(|p| p.0), Some(14_300 * FINE_PER_TICK));
    // $1,430 traded: the maker pays 2 bps ($0.286), the taker 5 bps ($0.715), both still in
    // the positions; no balance has moved.
    assert_eq!((long.unsettled_fees, short.unsettled_fees), (286_000, 715_000));
    assert_eq!((usdc(&h, 1), usdc(&h, 2)), (100_000_000_000, 100_000_000_000));
    assert_eq!(h.engine.perp_market(SOL_USDC_PERP).map(|p| p.open_interest), Some(1_000));
}

#[test]
fn realization_moves_pnl_into_balances_without_touching_sizes() {
    let mut h = venue();
    open_long_short(&mut h);
    h.ok(price("150"));
    h.ok(Command::UpdateMarkPrices);
    let fees_before = h.engine.fee_balance(USDC);
    let events = h.ok(Command::RealizePnl);
    // The long made 10 × $7 = $70 less its $0.286 fee; the short lost $70 and its $0.715 fee.
    assert_eq!(usdc(&h, 1), 100_000_000_000 + 70_000_000 - 286_000);
    assert_eq!(usdc(&h, 2), 100_000_000_000 - 70_000_000 - 715_000);
    assert_eq!(h.engine.fee_balance(USDC).0 - fees_before.0, 1_001_000);
    assert_eq!((position(&h, 1).size, position(&h, 2).size), (1_000, -1_000));
    let realized: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::PnlRealized { account, realized, fees, funding, .. } => {
                Some((account.0, realized.0, fees.0, funding.0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(realized, vec![(2, -70_715_000, -715_000, 0), (1, 69_714_000, -286_000, 0)]);
    // Nothing is owed any more, so a second realization moves nothing.
    let again = h.ok(Command::RealizePnl);
    assert!(!again.iter().any(|e| matches!(e, Event::PnlRealized { .. })));
}

#[test]
fn funding_is_paid_from_longs_to_shorts_through_the_index() {
    let mut h = venue();
    open_long_short(&mut h);
    h.ok(price("150"));
    // A book quoting 150.70 / 150.80: the mid is $0.75 over the index, a 0.5% premium.
    h.ok(gtc(3, Side::Bid, 15_070, 100));
    h.ok(gtc(4, Side::Ask, 15_080, 100));
    let paid_at_next_end = |h: &mut Harness| {
        let end = h.engine.perp_market(SOL_USDC_PERP).expect("perp").interval_end.0;
        h.stamp.advance(end - h.engine.time().0);
        let events = h.ok(Command::UpdateMarkPrices);
        events
            .iter()
            .filter_map(|e| match e {
                Event::FundingPaid { market: SOL_USDC_PERP, rate, per_lot, .. } => Some((*rate, *per_lot)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // The first interval's only sample came before the quotes: no premium, so the rate is the
    // interest part alone, 0.00125%.
    assert_eq!(paid_at_next_end(&mut h).first().map(|p| p.0), Some(Fraction(12_500_000)));
    let mark = h.engine.perp_market(SOL_USDC_PERP).and_then(|p| p.mark).expect("a mark");
    assert_eq!(mark.0, 15_075 * FINE_PER_TICK, "the index plus the premium");
    h.ok(Command::RealizePnl);
    let (long_before, short_before) = (usdc(&h, 1), usdc(&h, 2));
    // From then on each interval's mean premium is 0.5%: pulled 0.05% toward the interest part
    // it pays 0.45%, under the 1% cap. Per lot of 0.01 SOL at $150.75: $0.00678375.
    for interval in 1..=3 {
        let paid = paid_at_next_end(&mut h);
        assert_eq!(paid, vec![(Fraction(4_500_000_000), 67_837_500_000_000)], "interval {interval}");
        h.ok(Command::RealizePnl);
        // 1,000 lots pay $6.78375 an interval, to the unit, and the shorts receive exactly it.
        assert_eq!(usdc(&h, 1), long_before - 6_783_750 * interval);
        assert_eq!(usdc(&h, 2), short_before + 6_783_750 * interval);
    }
}

#[test]
fn a_flip_realizes_the_closed_part_and_opens_the_rest_at_the_fill_price() {
    let mut h = venue();
    open_long_short(&mut h);
    // Account 1 sells 15 SOL at $150 to account 3: closes its 10 long, opens 5 short.
    h.ok(gtc(3, Side::Bid, 15_000, 1_500));
    h.ok(take(1, Side::Ask, 1_500));
    let flipped = position(&h, 1);
    assert_eq!(flipped.size, -500);
    assert_eq!(flipped.entry_price().map(|p| p.0), Some(15_000 * FINE_PER_TICK));
    assert_eq!(flipped.realized_pnl, 1_000 * 700 * FINE_PER_TICK, "10 SOL × $7");
    assert_eq!(h.engine.perp_market(SOL_USDC_PERP).map(|p| p.open_interest), Some(1_500));
}

#[test]
fn an_order_beyond_initial_margin_is_refused_and_reducing_is_always_allowed() {
    let mut h = venue();
    h.deposit(5, USDC, 1_000_000_000);
    h.ok(gtc(1, Side::Ask, 14_300, 100_000));
    // $1,000 at the default 10x: at most $10,000 of exposure. 100 SOL ($14,300) is refused.
    assert_eq!(h.apply(take(5, Side::Bid, 10_000)), Err(Reject::InsufficientMargin));
    h.ok(take(5, Side::Bid, 6_000));
    assert_eq!(position(&h, 5).size, 6_000);
    // The price falls 10%: far beyond initial margin. Adding is refused; closing is not.
    h.ok(price("128.7"));
    h.ok(Command::UpdateMarkPrices);
    h.ok(gtc(2, Side::Bid, 12_800, 100_000));
    assert_eq!(h.apply(take(5, Side::Bid, 100)), Err(Reject::InsufficientMargin));
    h.ok(take(5, Side::Ask, 6_000));
    assert_eq!(position(&h, 5).size, 0);
}

#[test]
fn open_interest_stops_at_the_limit() {
    let mut h = venue();
    // The fixture's limit is 1,000,000,000 lots; a bid for more is refused outright.
    assert_eq!(h.apply(gtc(1, Side::Bid, 100, 1_000_000_001)), Err(Reject::QuantityOutOfBounds));
    let mut spec = fixtures::sol_perp();
    spec.id = rucksack_types::MarketId(4);
    spec.symbol = rucksack_types::Symbol::new("SOL_USDC_PERP2").unwrap();
    if let rucksack_types::MarketKind::Perp(perp) = &mut spec.kind {
        perp.open_interest_limit = Lots(1_000);
        // SOL_USDC_PERP already credits hedged pairs on SOL; a second market may not.
        assert_eq!(
            h.apply(Command::ListMarket(MarketSpec { kind: rucksack_types::MarketKind::Perp(*perp), ..spec })),
            Err(Reject::InvalidPerpSpec(rucksack_types::PerpSpecError::InvalidBasis))
        );
        perp.basis = None;
    }
    h.ok(Command::ListMarket(spec));
    h.ok(Command::UpdateMarkPrices);
    let on = |c: Command| match c {
        Command::PlaceOrder(new) => Command::PlaceOrder(NewOrder { market: spec.id, ..new }),
        other => other,
    };
    h.ok(on(gtc(1, Side::Bid, 14_300, 800)));
    h.ok(on(take(2, Side::Ask, 800)));
    assert_eq!(h.apply(on(gtc(3, Side::Bid, 14_300, 300))), Err(Reject::OpenInterestLimit));
    // Closing part of a position is not limited.
    h.ok(on(gtc(2, Side::Bid, 14_300, 300)));
}

#[test]
fn a_loss_is_settled_from_the_balance_then_a_lend_then_a_borrow() {
    let mut h = venue();
    h.ok(Command::BorrowLend {
        account: AccountId(4),
        asset: USDC,
        action: BorrowLendAction::Lend,
        amount: Amount(50_000_000_000),
    });
    // Account 5 holds 100 SOL and lends 50 USDC, borrowing settlements automatically.
    h.deposit(5, SOL, 100_000_000_000);
    h.deposit(5, USDC, 50_000_000);
    h.ok(Command::BorrowLend {
        account: AccountId(5),
        asset: USDC,
        action: BorrowLendAction::Lend,
        amount: Amount(50_000_000),
    });
    h.ok(Command::UpdateAccountSettings {
        account: AccountId(5),
        change: SettingsChange { auto_borrow_settlements: Some(true), ..Default::default() },
    });
    h.ok(gtc(1, Side::Ask, 14_300, 5_000));
    h.ok(take(5, Side::Bid, 5_000));
    // SOL falls $2: 50 SOL long loses $100, and the taker fee was $3.575.
    h.ok(price("141"));
    h.ok(Command::UpdateMarkPrices);
    let events = h.ok(Command::RealizePnl);
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::BorrowLendExecuted { account, action, amount, source: BorrowLendSource::Reconciliation, .. } => {
                Some((account.0, *action, amount.0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![(5, BorrowLendAction::Redeem, 50_000_000), (5, BorrowLendAction::Borrow, 53_575_000)]);
    assert_eq!(usdc(&h, 5), 0);
    assert_eq!(position(&h, 5).size, 5_000);
    assert_eq!(position(&h, 5).claim(h.engine.perp_market(SOL_USDC_PERP).and_then(|p| p.mark).unwrap()), Some(0));
}

#[test]
fn a_snapshot_restores_perpetual_state_exactly() {
    let mut h = venue();
    open_long_short(&mut h);
    h.ok(gtc(3, Side::Bid, 14_000, 100));
    h.ok(price("150"));
    h.ok(Command::UpdateMarkPrices);
    let bytes = h.engine.encode_snapshot();
    let restored = rucksack_engine::Engine::decode_snapshot(&bytes).expect("decodes");
    assert_eq!(restored.encode_snapshot(), bytes);
    restored.check().expect("restored invariants");
}

fn reduce_only(command: Command) -> Command {
    match command {
        Command::PlaceOrder(new) => Command::PlaceOrder(NewOrder { reduce_only: true, ..new }),
        other => other,
    }
}

fn closed_reason(events: &[Event]) -> Option<rucksack_types::ExpiryReason> {
    events.iter().find_map(|e| match e {
        Event::OrderClosed { reason, .. } => *reason,
        _ => None,
    })
}

#[test]
fn reduce_only_orders_never_add_to_a_position_and_shrink_with_it() {
    let mut h = venue();
    // Flat: nothing to reduce, the order expires at once.
    let events = h.ok(reduce_only(gtc(1, Side::Ask, 15_000, 100)));
    assert_eq!(closed_reason(&events), Some(rucksack_types::ExpiryReason::ReduceOnlyNotReduced));
    open_long_short(&mut h);
    // Long 1,000 lots: a reduce-only bid would add to it.
    let events = h.ok(reduce_only(gtc(1, Side::Bid, 14_000, 100)));
    assert_eq!(closed_reason(&events), Some(rucksack_types::ExpiryReason::ReduceOnlyNotReduced));
    // A reduce-only ask for 1,500 is cut to the 1,000 held and rests.
    let events = h.ok(reduce_only(gtc(1, Side::Ask, 15_000, 1_500)));
    let accepted = events.iter().find_map(|e| match e {
        Event::OrderAccepted { new, .. } => Some(new.spec),
        _ => None,
    });
    assert!(matches!(accepted, Some(OrderSpec::Limit { quantity: Lots(1_000), .. })), "{accepted:?}");
    // A second one finds nothing left to reduce.
    let events = h.ok(reduce_only(gtc(1, Side::Ask, 15_100, 10)));
    assert_eq!(closed_reason(&events), Some(rucksack_types::ExpiryReason::ReduceOnlyNotReduced));
    // Selling 400 lots otherwise shrinks the resting reduce-only ask to the 600 left.
    h.ok(gtc(3, Side::Bid, 14_200, 400));
    let events = h.ok(take(1, Side::Ask, 400));
    let modified = events.iter().find_map(|e| match e {
        Event::OrderModified { quantity, remaining, .. } => Some((*quantity, *remaining)),
        _ => None,
    });
    assert_eq!(modified, Some((Lots(600), Lots(600))));
    // Closing the rest expires it.
    h.ok(gtc(3, Side::Bid, 14_200, 600));
    let events = h.ok(take(1, Side::Ask, 600));
    assert_eq!(position(&h, 1).size, 0);
    assert_eq!(closed_reason(&events[events.len() - 1..]), Some(rucksack_types::ExpiryReason::ReduceOnlyNotReduced));
    // Spot markets have no positions to reduce.
    let spot = Command::PlaceOrder(NewOrder { reduce_only: true, ..common::gtc(1, Side::Ask, 15_000, 100) });
    assert_eq!(h.apply(spot), Err(Reject::ReduceOnlySpot));
}

/// The standard venue with Backpack's price bands on SOL_USDC_PERP: limits within 25% of the
/// active price, takers within 3% of the touch and 10% of the five-minute mean mark.
fn banded_venue() -> Harness {
    let mut h = Harness::new();
    let f = |text: &str| Fraction::parse(text).unwrap();
    let mut sol = fixtures::sol_perp();
    if let rucksack_types::MarketKind::Perp(spec) = &mut sol.kind {
        spec.bands = rucksack_types::PriceBands {
            limit_min: f("0.75"),
            limit_max: f("1.25"),
            impact_min: f("0.97"),
            impact_max: f("1.03"),
            mean_mark_min: f("0.9"),
            mean_mark_max: f("1.1"),
        };
    }
    for command in fixtures::risk_settings() {
        h.ok(command);
    }
    h.ok(Command::ListMarket(sol));
    h.ok(Command::UpdateMarkPrices);
    h
}

#[test]
fn orders_are_held_to_the_price_bands() {
    let mut h = banded_venue();
    // Asks at 143, 146 and 150 make the active price 143 (the only price there is).
    for (account, price) in [(2, 14_300), (3, 14_600), (4, 15_000)] {
        h.ok(gtc(account, Side::Ask, price, 100));
    }
    // A limit more than 25% from it is refused; one within is not.
    assert_eq!(h.apply(gtc(1, Side::Bid, 10_700, 100)), Err(Reject::PriceBand));
    assert_eq!(h.apply(gtc(1, Side::Ask, 17_900, 100)), Err(Reject::PriceBand));
    h.ok(gtc(1, Side::Bid, 10_800, 100));
    // A market buy of 300 may take up to 143 × 1.03 = 147.29: it fills 200 lots and the rest
    // expires for price impact; the ask at 150 stays.
    let events = h.ok(take(1, Side::Bid, 300));
    let filled: i64 = events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(trade) => Some(trade.quantity.0),
            _ => None,
        })
        .sum();
    assert_eq!(filled, 200);
    assert_eq!(closed_reason(&events), Some(rucksack_types::ExpiryReason::PriceImpact));
    assert_eq!(h.engine.depth(SOL_USDC_PERP, Side::Ask), vec![(Ticks(15_000), Lots(100))]);
    // The mean-mark band: SOL's index moves to 160 and the mark follows at once, but the
    // five-minute mean mark barely moves from 143. With asks at 150 (taken first), 156 and 158, a
    // buy may go to 156 × 1.03 = 160.68 by impact but only to 143 × 1.1 = 157.3 by the mean mark.
    h.ok(price("160"));
    h.ok(Command::UpdateMarkPrices);
    h.ok(take(1, Side::Bid, 100));
    h.ok(gtc(2, Side::Ask, 15_600, 100));
    h.ok(gtc(3, Side::Ask, 15_800, 100));
    let events = h.ok(take(1, Side::Bid, 200));
    let prices: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(trade) => Some(trade.price.0),
            _ => None,
        })
        .collect();
    assert_eq!(prices, vec![15_600], "157.3 stops it before the ask at 158");
    assert_eq!(closed_reason(&events), Some(rucksack_types::ExpiryReason::PriceImpact));
}

#[test]
fn a_loss_without_usdc_sells_other_collateral_on_the_book() {
    let mut h = venue();
    // Account 5 holds only SOL and does not borrow settlements: its loss is paid by selling
    // SOL to the bid account 3 rests on SOL_USDC.
    h.deposit(5, SOL, 100_000_000_000);
    h.ok(gtc(1, Side::Ask, 14_300, 5_000));
    h.ok(take(5, Side::Bid, 5_000));
    h.ok(Command::PlaceOrder(common::gtc(3, Side::Bid, 14_000, 1_000)));
    h.ok(price("141"));
    h.ok(Command::UpdateMarkPrices);
    let sol_before = h.balance(5, SOL).0;
    let events = h.ok(Command::RealizePnl);
    // The loss: $100 on 50 SOL and the $3.575 taker fee. The sale fetches $103.575 plus its own
    // 5 bps fee, in lots of 0.01 SOL at $140.
    let sold = events
        .iter()
        .any(|e| matches!(e, Event::Trade(t) if t.market == fixtures::SOL_USDC && t.taker_account == AccountId(5)));
    assert!(sold, "{events:?}");
    assert!(h.balance(5, SOL).0 < sol_before);
    let mark = h.engine.perp_market(SOL_USDC_PERP).and_then(|p| p.mark).expect("mark");
    assert_eq!(position(&h, 5).claim(mark), Some(0), "the loss is settled in full");
}

#[test]
fn a_fill_through_flat_cannot_take_a_hedged_account_beyond_initial_margin() {
    let mut h = venue();
    // Account 5 holds 10 SOL at leverage 100, is short 10 SOL in the perpetual (a hedged pair),
    // and bids for 20 SOL at 138: filling that bid would pass through flat, where the pair's
    // credit ends.
    h.deposit(5, SOL, 10_000_000_000);
    h.ok(Command::UpdateAccountSettings {
        account: AccountId(5),
        change: SettingsChange { leverage_limit: Some(100), ..Default::default() },
    });
    h.ok(Command::BorrowLend {
        account: AccountId(4),
        asset: USDC,
        action: BorrowLendAction::Lend,
        amount: Amount(50_000_000_000),
    });
    h.ok(gtc(1, Side::Bid, 14_300, 1_000));
    h.ok(take(5, Side::Ask, 1_000));
    h.ok(gtc(5, Side::Bid, 13_800, 2_000));
    // It withdraws (borrowing) as much USDC as the margin rule allows.
    let withdraw = |amount, tx| Command::Withdraw {
        account: AccountId(5),
        asset: USDC,
        amount: Amount(amount),
        tx: fixtures::tx(tx),
        margin: rucksack_types::MarginFlags { auto_borrow: true, ..rucksack_types::MarginFlags::NONE },
    };
    let (mut allowed, mut refused) = (0i64, 20_000_000_000i64);
    while refused - allowed > 1 {
        let middle = (allowed + refused) / 2;
        let (mut probe, mut stamp) = (h.engine.clone(), h.stamp.clone());
        if probe.apply(&stamp.next(withdraw(middle, 500))).is_ok() { allowed = middle } else { refused = middle }
    }
    h.ok(withdraw(allowed, 501));
    assert!(h.engine.margin_health(AccountId(5)).within_initial_margin());
    // A counterparty sells exactly the short's size into the bid: flat, and still within.
    h.ok(take(2, Side::Ask, 1_000));
    assert_eq!(position(&h, 5).size, 0);
    let health = h.engine.margin_health(AccountId(5));
    assert!(health.within_initial_margin(), "{health:?}");
}

#[test]
fn a_perp_holder_trades_spot_at_book_prices_and_closes_by_quote() {
    let mut h = venue();
    open_long_short(&mut h);
    // Spot market buys by a perpetual holder are judged by what they take from the book, not at
    // the market's highest price; by quantity and by quote alike.
    h.ok(Command::PlaceOrder(common::gtc(3, Side::Ask, 14_300, 5_000)));
    h.ok(Command::PlaceOrder(common::market(1, Side::Bid, 1_000)));
    h.ok(Command::PlaceOrder(common::market_quote(1, Side::Bid, 1_000_000)));
    // A short beyond initial margin closes with a reduce-only market buy sized by quote: it is cut
    // to the position and allowed.
    h.deposit(5, USDC, 200_000_000);
    h.ok(gtc(1, Side::Bid, 14_300, 1_000));
    h.ok(take(5, Side::Ask, 1_000));
    h.ok(price("160"));
    h.ok(Command::UpdateMarkPrices);
    assert!(!h.engine.margin_health(AccountId(5)).within_initial_margin());
    h.ok(gtc(3, Side::Ask, 16_000, 5_000));
    let by_quote =
        OrderSpec::Market { size: MarketSize::Quote(Amount(100_000_000_000)), time_in_force: TimeInForce::Ioc };
    h.ok(perp(NewOrder { reduce_only: true, ..order(5, Side::Bid, by_quote) }));
    assert_eq!(position(&h, 5).size, 0);
}
