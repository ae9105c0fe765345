//! One case per matching rule: a book, an incoming order, and what must come of it.

mod common;

use common::*;
use rucksack_testkit::fixtures::{SOL, SOL_USDC, USDC};
use rucksack_types::{Event, ExpiryReason, OrderSpec, OrderStatus, Reject, SelfTradePrevention, Side, TimeInForce};
use rucksack_types::{MarketSize, NewOrder};

enum Expect {
    Refused(Reject),
    Done {
        status: OrderStatus,
        reason: Option<ExpiryReason>,
        /// (price, quantity, maker account) in execution order.
        trades: Vec<(i64, i64, u64)>,
        bids: Vec<(i64, i64)>,
        asks: Vec<(i64, i64)>,
    },
}

struct Case {
    name: &'static str,
    /// (account, side, price, quantity), placed as GTC limits in this order.
    resting: Vec<(u64, Side, i64, i64)>,
    incoming: NewOrder,
    expect: Expect,
}

fn done(
    status: OrderStatus,
    reason: Option<ExpiryReason>,
    trades: &[(i64, i64, u64)],
    bids: &[(i64, i64)],
    asks: &[(i64, i64)],
) -> Expect {
    Expect::Done { status, reason, trades: trades.to_vec(), bids: bids.to_vec(), asks: asks.to_vec() }
}

fn three_asks() -> Vec<(u64, Side, i64, i64)> {
    vec![(1, Side::Ask, 14400, 10), (3, Side::Ask, 14410, 20), (1, Side::Ask, 14420, 30)]
}

fn cases() -> Vec<Case> {
    use ExpiryReason as R;
    use OrderStatus as S;
    vec![
        Case {
            name: "limit_rests_when_nothing_crosses",
            resting: vec![(1, Side::Ask, 14400, 100)],
            incoming: gtc(2, Side::Bid, 14300, 50),
            expect: done(S::New, None, &[], &[(14300, 50)], &[(14400, 100)]),
        },
        Case {
            name: "better_price_fills_first",
            resting: vec![(1, Side::Ask, 14500, 10), (3, Side::Ask, 14400, 10)],
            incoming: gtc(2, Side::Bid, 14500, 10),
            expect: done(S::Filled, None, &[(14400, 10, 3)], &[], &[(14500, 10)]),
        },
        Case {
            name: "earlier_order_fills_first_within_a_level",
            resting: vec![(1, Side::Ask, 14400, 10), (3, Side::Ask, 14400, 10)],
            incoming: market(2, Side::Bid, 15),
            expect: done(S::Filled, None, &[(14400, 10, 1), (14400, 5, 3)], &[], &[(14400, 5)]),
        },
        Case {
            name: "partial_fill_across_levels_rests_the_remainder",
            resting: three_asks(),
            incoming: gtc(2, Side::Bid, 14415, 50),
            expect: done(S::PartiallyFilled, None, &[(14400, 10, 1), (14410, 20, 3)], &[(14415, 20)], &[(14420, 30)]),
        },
        Case {
            name: "sell_sweeps_bids_from_the_highest",
            resting: vec![(1, Side::Bid, 14300, 10), (3, Side::Bid, 14310, 10), (1, Side::Bid, 14290, 10)],
            incoming: gtc(2, Side::Ask, 14295, 25),
            expect: done(S::PartiallyFilled, None, &[(14310, 10, 3), (14300, 10, 1)], &[(14290, 10)], &[(14295, 5)]),
        },
        Case {
            name: "ioc_remainder_expires",
            resting: three_asks(),
            incoming: limit(2, Side::Bid, 14410, 50, TimeInForce::Ioc),
            expect: done(
                S::Expired,
                Some(R::ImmediateOrCancel),
                &[(14400, 10, 1), (14410, 20, 3)],
                &[],
                &[(14420, 30)],
            ),
        },
        Case {
            name: "fok_that_cannot_fill_changes_nothing",
            resting: three_asks(),
            incoming: limit(2, Side::Bid, 14410, 50, TimeInForce::Fok),
            expect: done(S::Expired, Some(R::FillOrKill), &[], &[], &[(14400, 10), (14410, 20), (14420, 30)]),
        },
        Case {
            name: "fok_fills_completely_across_levels",
            resting: three_asks(),
            incoming: limit(2, Side::Bid, 14420, 50, TimeInForce::Fok),
            expect: done(S::Filled, None, &[(14400, 10, 1), (14410, 20, 3), (14420, 20, 1)], &[], &[(14420, 10)]),
        },
        Case {
            name: "fok_blocked_by_own_order_changes_nothing",
            resting: vec![(1, Side::Ask, 14400, 10), (2, Side::Ask, 14400, 10), (3, Side::Ask, 14410, 10)],
            incoming: limit(2, Side::Bid, 14410, 20, TimeInForce::Fok),
            expect: done(S::Expired, Some(R::FillOrKill), &[], &[], &[(14400, 20), (14410, 10)]),
        },
        Case {
            name: "market_fok_that_cannot_fill_changes_nothing",
            resting: three_asks(),
            incoming: order(
                2,
                Side::Bid,
                OrderSpec::Market { size: MarketSize::Base(rucksack_types::Lots(61)), time_in_force: TimeInForce::Fok },
            ),
            expect: done(S::Expired, Some(R::FillOrKill), &[], &[], &[(14400, 10), (14410, 20), (14420, 30)]),
        },
        Case {
            name: "post_only_that_would_take_is_refused",
            resting: vec![(1, Side::Ask, 14400, 10)],
            incoming: limit(2, Side::Bid, 14400, 5, TimeInForce::PostOnly),
            expect: Expect::Refused(Reject::PostOnlyWouldTake),
        },
        Case {
            name: "post_only_rests_when_it_does_not_cross",
            resting: vec![(1, Side::Ask, 14400, 10)],
            incoming: limit(2, Side::Bid, 14399, 5, TimeInForce::PostOnly),
            expect: done(S::New, None, &[], &[(14399, 5)], &[(14400, 10)]),
        },
        Case {
            name: "post_only_market_order_is_refused",
            resting: vec![],
            incoming: order(
                2,
                Side::Bid,
                OrderSpec::Market {
                    size: MarketSize::Base(rucksack_types::Lots(1)),
                    time_in_force: TimeInForce::PostOnly,
                },
            ),
            expect: Expect::Refused(Reject::PostOnlyMarketOrder),
        },
        Case {
            name: "market_by_quantity_sweeps_levels",
            resting: three_asks(),
            incoming: market(2, Side::Bid, 25),
            expect: done(S::Filled, None, &[(14400, 10, 1), (14410, 15, 3)], &[], &[(14410, 5), (14420, 30)]),
        },
        Case {
            name: "market_by_quantity_that_exhausts_the_book_expires",
            resting: three_asks(),
            incoming: market(2, Side::Bid, 100),
            expect: done(
                S::Expired,
                Some(R::InsufficientLiquidity),
                &[(14400, 10, 1), (14410, 20, 3), (14420, 30, 1)],
                &[],
                &[],
            ),
        },
        Case {
            name: "market_on_an_empty_book_expires",
            resting: vec![],
            incoming: market(2, Side::Ask, 5),
            expect: done(S::Expired, Some(R::InsufficientLiquidity), &[], &[], &[]),
        },
        Case {
            // 20 USDC buys 10 lots at 1.44 and 3 at 1.441; 1.277 USDC is left, less than a lot.
            name: "market_by_quote_quantity_spends_its_budget",
            resting: three_asks(),
            incoming: market_quote(2, Side::Bid, 20_000_000),
            expect: done(S::Filled, None, &[(14400, 10, 1), (14410, 3, 3)], &[], &[(14410, 17), (14420, 30)]),
        },
        Case {
            name: "market_by_quote_quantity_that_exhausts_the_book_expires",
            resting: three_asks(),
            incoming: market_quote(2, Side::Bid, 1_000_000_000),
            expect: done(
                S::Expired,
                Some(R::InsufficientLiquidity),
                &[(14400, 10, 1), (14410, 20, 3), (14420, 30, 1)],
                &[],
                &[],
            ),
        },
        Case {
            name: "market_sell_by_quote_quantity_receives_at_most_its_budget",
            resting: vec![(1, Side::Bid, 14300, 10)],
            incoming: market_quote(2, Side::Ask, 5_000_000),
            expect: done(S::Filled, None, &[(14300, 3, 1)], &[(14300, 7)], &[]),
        },
        Case {
            name: "self_trade_reject_taker_expires_the_incoming_order",
            resting: vec![(2, Side::Ask, 14400, 10), (1, Side::Ask, 14410, 10)],
            incoming: gtc(2, Side::Bid, 14410, 20),
            expect: done(S::Expired, Some(R::SelfTradePrevention), &[], &[], &[(14400, 10), (14410, 10)]),
        },
        Case {
            name: "self_trade_reject_taker_keeps_earlier_fills",
            resting: vec![(1, Side::Ask, 14400, 10), (2, Side::Ask, 14410, 10)],
            incoming: gtc(2, Side::Bid, 14410, 20),
            expect: done(S::Expired, Some(R::SelfTradePrevention), &[(14400, 10, 1)], &[], &[(14410, 10)]),
        },
        Case {
            name: "self_trade_reject_maker_expires_the_resting_order_and_continues",
            resting: vec![(2, Side::Ask, 14400, 10), (1, Side::Ask, 14410, 10)],
            incoming: with_stp(gtc(2, Side::Bid, 14410, 20), SelfTradePrevention::RejectMaker),
            expect: done(S::PartiallyFilled, None, &[(14410, 10, 1)], &[(14410, 10)], &[]),
        },
        Case {
            name: "self_trade_reject_both_expires_both",
            resting: vec![(2, Side::Ask, 14400, 10), (1, Side::Ask, 14410, 10)],
            incoming: with_stp(gtc(2, Side::Bid, 14410, 20), SelfTradePrevention::RejectBoth),
            expect: done(S::Expired, Some(R::SelfTradePrevention), &[], &[], &[(14410, 10)]),
        },
        Case {
            name: "price_above_the_market_maximum_is_refused",
            resting: vec![],
            incoming: gtc(2, Side::Bid, 100_000_001, 1),
            expect: Expect::Refused(Reject::PriceOutOfBounds),
        },
        Case {
            name: "quantity_below_the_market_minimum_is_refused",
            resting: vec![],
            incoming: gtc(2, Side::Bid, 14300, 0),
            expect: Expect::Refused(Reject::QuantityOutOfBounds),
        },
        Case {
            name: "limit_beyond_the_balance_is_refused",
            resting: vec![],
            incoming: gtc(2, Side::Bid, 14300, 10_000_000),
            expect: Expect::Refused(Reject::InsufficientFunds),
        },
        Case {
            name: "sell_beyond_the_balance_is_refused",
            resting: vec![(1, Side::Bid, 14300, 10)],
            incoming: market(2, Side::Ask, 10_000_000),
            expect: Expect::Refused(Reject::InsufficientFunds),
        },
        Case {
            name: "order_from_an_unknown_account_is_refused",
            resting: vec![],
            incoming: gtc(99, Side::Bid, 14300, 1),
            expect: Expect::Refused(Reject::InsufficientFunds),
        },
    ]
}

#[test]
fn every_matching_rule_holds() {
    let mut failures = Vec::new();
    for case in cases() {
        if let Err(message) = run(&case) {
            failures.push(format!("{}: {message}", case.name));
        }
    }
    assert!(failures.is_empty(), "failing cases:\n{}", failures.join("\n"));
}

fn run(case: &Case) -> Result<(), String> {
    let mut h = Harness::new();
    for &(account, side, price, quantity) in &case.resting {
        h.ok(rucksack_types::Command::PlaceOrder(gtc(account, side, price, quantity)));
    }
    let holdings = |h: &Harness| {
        let total = |(available, locked): (i64, i64)| available + locked;
        (total(h.balance(case.incoming.account.0, SOL)), total(h.balance(case.incoming.account.0, USDC)))
    };
    let taker_before = holdings(&h);
    let hash_before = h.engine.content_hash();
    let result = h.apply(rucksack_types::Command::PlaceOrder(case.incoming));
    match (&case.expect, result) {
        (Expect::Refused(expected), Err(reject)) => {
            if &reject != expected {
                return Err(format!("refused with {reject:?}, expected {expected:?}"));
            }
            if h.engine.content_hash() != hash_before {
                return Err("a refused order changed the state".into());
            }
            Ok(())
        }
        (Expect::Refused(expected), Ok(events)) => Err(format!("accepted ({events:?}), expected refusal {expected:?}")),
        (Expect::Done { .. }, Err(reject)) => Err(format!("refused with {reject}")),
        (Expect::Done { status, reason, trades, bids, asks }, Ok(events)) => {
            let Some(Event::OrderAccepted { order: id, .. }) = events.first().copied() else {
                return Err("first event is not OrderAccepted".into());
            };
            let got_trades: Vec<(i64, i64, u64)> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Trade(t) => Some((t.price.0, t.quantity.0, t.maker_account.0)),
                    _ => None,
                })
                .collect();
            let final_state = events.iter().rev().find_map(|e| match *e {
                Event::OrderClosed { order, status, reason, .. } if order == id => Some((status, reason)),
                Event::OrderRested { order, executed, .. } if order == id => {
                    Some((if executed.is_zero() { OrderStatus::New } else { OrderStatus::PartiallyFilled }, None))
                }
                _ => None,
            });
            let depth = |side| -> Vec<(i64, i64)> {
                h.engine.depth(SOL_USDC, side).into_iter().map(|(p, q)| (p.0, q.0)).collect()
            };
            let mut problems = Vec::new();
            if final_state != Some((*status, *reason)) {
                problems.push(format!("final state {final_state:?}, expected {:?}", (status, reason)));
            }
            if &got_trades != trades {
                problems.push(format!("trades {got_trades:?}, expected {trades:?}"));
            }
            if &depth(Side::Bid) != bids || &depth(Side::Ask) != asks {
                problems.push(format!(
                    "book {:?} / {:?}, expected {bids:?} / {asks:?}",
                    depth(Side::Bid),
                    depth(Side::Ask)
                ));
            }
            let rested = events.iter().any(|e| matches!(e, Event::OrderRested { order, .. } if *order == id));
            let after = holdings(&h);
            if got_trades.is_empty() && !rested && after != taker_before {
                problems.push("an order that neither traded nor rested changed the taker's balances".into());
            }
            if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
        }
    }
}
