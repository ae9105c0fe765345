//! The state machine's liquidation part: a venue of thinly capitalised, highly leveraged
//! accounts driven through small moves, gaps of −50% and +100%, quotes near the mark, volatility
//! tiers and sweeps; and the properties of each sweep, checked against the engine as it was
//! before it.

use proptest::prelude::*;
use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, BTC_USDC_PERP, SOL_USDC_PERP, USDC};
use rucksack_types::{
    AccountId, Command, Event, LiquidationStage, Lots, MarketSize, NewOrder, OrderSpec, Side, Ticks, TimeInForce,
};

use super::ops::{ACCOUNTS, Op, command_at, elapsed_micros, op, resting_limit};
use super::venue;

/// The standard venue plus four thinly capitalised accounts (5 to 8) holding perpetual
/// positions about 35 times their equity (a leverage limit of 40) against accounts 1 to 4: long
/// and short SOL, long and short BTC. They never act; prices, shocks and sweeps decide what
/// happens to them.
fn leveraged_venue() -> (Engine, Stamp) {
    let (mut engine, mut stamp) = venue();
    let positions = [(SOL_USDC_PERP, Side::Bid, 12_200, 14_300), (SOL_USDC_PERP, Side::Ask, 12_200, 14_300)]
        .into_iter()
        .chain([(BTC_USDC_PERP, Side::Bid, 18_400, 950_000), (BTC_USDC_PERP, Side::Ask, 18_400, 950_000)]);
    for (k, (market, side, lots, price)) in positions.enumerate() {
        let (trader, counterparty) = (5 + k as u64, 1 + k as u64);
        let resting = resting_limit(AccountId(counterparty), market, side.opposite(), Lots(lots), Ticks(price));
        let taking = NewOrder {
            account: AccountId(trader),
            side,
            spec: OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc },
            ..resting
        };
        let leverage = rucksack_types::SettingsChange { leverage_limit: Some(40), ..Default::default() };
        for command in [
            fixtures::deposit(trader, USDC, 500_000_000, 4_000 + trader),
            Command::UpdateAccountSettings { account: AccountId(trader), change: leverage },
            Command::PlaceOrder(resting),
            Command::PlaceOrder(taking),
        ] {
            engine.apply(&stamp.next(command)).expect("leveraged setup");
        }
        assert_ne!(engine.perp_position(AccountId(trader), market).size, 0, "account {trader} holds its position");
    }
    (engine, stamp)
}

/// Ops for the leveraged venue: the usual ones, with more price moves, shocks, mark samples and
/// sweeps.
fn risk_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => op(),
        1 => (0u16..3, any::<bool>()).prop_map(|(asset, up)| Op::Shock { asset, up }),
        4 => (0u16..3, -8i64..8).prop_map(|(asset, permille)| Op::Nudge { asset, permille }),
        2 => (1..=ACCOUNTS, 0u16..2, any::<bool>(), -20i64..20, 1i64..2_000)
            .prop_map(|(account, market, side, permille, lots)| Op::Quote { account, market, side, permille, lots }),
        2 => (1u64..5).prop_map(|seconds| Op::MarkClock { seconds }),
        2 => Just(Op::Liquidate),
        1 => any::<bool>().prop_map(|on| Op::Volatility { on }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn liquidation_keeps_its_promises_through_shocks(ops in proptest::collection::vec(risk_op(), 1..120)) {
        let (mut engine, mut stamp) = leveraged_venue();
        engine.set_invariant_checks(false);
        for (step, op) in ops.iter().enumerate() {
            let before = engine.clone();
            stamp.advance(elapsed_micros(op));
            let result = engine.apply(&stamp.next(command_at(&engine, op))).map(<[Event]>::to_vec);
            if let Err(violation) = engine.check() {
                return Err(TestCaseError::fail(format!("step {step} {op:?}: {violation}")));
            }
            match &result {
                Err(_) => prop_assert_eq!(engine.content_hash(), before.content_hash(), "refused {:?} changed the state", op),
                Ok(events) if matches!(op, Op::Liquidate) => sweep_holds(&before, &engine, events)?,
                Ok(_) => {}
            }
        }
        let restored = Engine::decode_snapshot(&engine.encode_snapshot()).expect("snapshot decodes");
        prop_assert_eq!(restored.state_hash(), engine.state_hash());
    }

}

/// The leveraged venue's sequences reach every stage of the waterfall.
#[test]
fn generated_sequences_reach_every_liquidation_stage() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..48 {
        let ops = proptest::collection::vec(risk_op(), 120).new_tree(&mut runner).expect("ops").current();
        let (mut engine, mut stamp) = leveraged_venue();
        for op in &ops {
            stamp.advance(elapsed_micros(op));
            let Ok(events) = engine.apply(&stamp.next(command_at(&engine, op))).map(<[Event]>::to_vec) else {
                continue;
            };
            for event in &events {
                let key = match event {
                    Event::Liquidation(step) => step.stage.as_str(),
                    Event::Bankrupt(b) if b.from_fund.is_positive() => "deficit from the fund",
                    Event::Bankrupt(b) if b.from_adl.is_positive() => "deficit from deleveraged positions",
                    Event::Bankrupt(_) => "bankrupt",
                    Event::BadDebt(_) => "bad debt",
                    Event::InsuranceFundChanged(change) => change.reason.as_str(),
                    _ => continue,
                };
                *seen.entry(key).or_default() += 1;
            }
        }
    }
    eprintln!("liquidation: {seen:?}");
    for key in ["Unwind", "OnBook", "Backstop", "Adl", "LiquidationFee", "deficit from deleveraged positions"] {
        assert!(seen.get(key).is_some_and(|n| *n > 0), "no {key} happened: {seen:?}");
    }
}

/// What a `Liquidate` command may do:
/// - an account enters liquidation only at or below maintenance (or owing more than it holds);
///   one already in liquidation is the only kind stepped without that;
/// - the unwinding step (cancels and repays from matching balances) loses no equity beyond the
///   repays' rounding; every later step raises the account's margin fraction, or leaves no
///   exposure, and a step through the book raises it strictly; for an account owing more than
///   it holds (a negative fraction, which less exposure only makes more negative) each later
///   step raises its equity instead. The one exception: a backstop or deleveraging transfer of
///   a short hedged by the account's spot holding ends the pair's credit, which may cost more
///   than the exposure it removes;
/// - every account stepped ends the sweep with no negative equity, and every account that had
///   negative equity before it was stepped (or healed by an earlier step of the sweep);
/// - an account a position was transferred to by a backstop or deleveraging, or a deficit moved
///   to, is left with no negative equity if it had none (accounts that also traded in the sweep
///   are left out: a resting order filled at its own limit may lose against the mark).
pub fn sweep_holds(before: &Engine, after: &Engine, events: &[Event]) -> Result<(), TestCaseError> {
    // A repay rounds in the pool's favour: up to a unit or two of each asset, at its price.
    let repay_rounding: i128 = after
        .assets()
        .iter()
        .map(|asset| {
            let price = after.risk_state().prices[usize::from(asset.id.0)].map_or(0, |p| p.price.0);
            rucksack_types::IndexPrice(price)
                .value(rucksack_types::Amount(2), asset.decimals, rucksack_types::Rounding::Up)
                .0
        })
        .sum();
    let mut stepped = std::collections::BTreeSet::new();
    for event in events {
        let Event::Liquidation(step) = event else { continue };
        stepped.insert(step.account);
        if step.stage == LiquidationStage::Unwind {
            prop_assert!(!before.is_liquidating(step.account), "{:?} entered liquidation twice", step.account);
            // As the account stood at its turn (earlier steps of the sweep may have filled its
            // orders).
            let below = step.maintenance_fraction_before.is_some_and(|mmf| step.margin_fraction_before <= mmf);
            prop_assert!(
                below || step.net_equity_before.0 < 0,
                "{:?} liquidated above maintenance: {:?}",
                step.account,
                step
            );
        } else if !before.is_liquidating(step.account) {
            prop_assert!(
                events.iter().any(|e| matches!(e, Event::Liquidation(s)
                    if s.account == step.account && s.stage == LiquidationStage::Unwind)),
                "{:?} stepped without entering liquidation",
                step.account
            );
        }
        if step.stage == LiquidationStage::Unwind {
            prop_assert!(
                step.net_equity_after.0 >= step.net_equity_before.0 - repay_rounding,
                "unwinding lost equity: {:?}",
                step
            );
        } else if step.net_equity_before.0 < 0 {
            prop_assert!(step.net_equity_after >= step.net_equity_before, "a step lowered negative equity: {:?}", step);
        } else if let Some(fraction) = step.margin_fraction_after {
            let transfer = matches!(step.stage, LiquidationStage::Backstop | LiquidationStage::Adl);
            prop_assert!(
                fraction >= step.margin_fraction_before || (transfer && holds_hedged_pair(before, step.account)),
                "a step lowered the margin fraction: {:?}",
                step
            );
            if step.stage == LiquidationStage::OnBook {
                prop_assert!(fraction > step.margin_fraction_before, "an on-book step did not help: {:?}", step);
            }
        }
    }
    for account in after.account_ids() {
        let (was, is) = (before.health_now(account).net_equity(), after.health_now(account).net_equity());
        if stepped.contains(&account) {
            prop_assert!(is.0 >= 0, "{:?} left the sweep with negative equity {:?}", account, is);
        }
        // Unless an earlier step healed it (a resting order of its filled by a liquidation).
        if was.0 < 0 && !stepped.contains(&account) {
            prop_assert!(is.0 >= 0, "{:?} owed more than it held and was not liquidated: {:?}", account, is);
        }
    }
    // Accounts whose positions changed without trading: backstop providers and deleveraged
    // accounts, and those a deficit moved to.
    let traded: std::collections::BTreeSet<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(trade) => Some([trade.taker_account, trade.maker_account]),
            _ => None,
        })
        .flatten()
        .collect();
    for event in events {
        let Event::PositionChanged { account, .. } = event else { continue };
        if stepped.contains(account) || traded.contains(account) {
            continue;
        }
        let (was, is) = (before.health_now(*account).net_equity(), after.health_now(*account).net_equity());
        prop_assert!(
            was.0 < 0 || is.0 >= 0,
            "{:?} was pushed below zero by a forced fill: {:?} -> {:?}",
            account,
            was,
            is
        );
    }
    Ok(())
}

/// Whether the account holds a short perpetual and the market's base asset (a hedged pair, in
/// markets with basis terms).
fn holds_hedged_pair(engine: &Engine, account: AccountId) -> bool {
    engine.perp_holdings(account).iter().any(|holding| {
        let Some(perp) = engine.perp_market(holding.market) else { return false };
        let spot = engine.balance(account, perp.base).available.0 > 0
            || engine
                .pool_positions(account)
                .get(usize::from(perp.base.0))
                .is_some_and(|p| matches!(p, rucksack_engine::lending::PoolPosition::Lend(_)));
        perp.spec.basis.is_some() && holding.position.size < 0 && spot
    })
}
