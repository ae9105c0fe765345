//! The liquidation properties of one sweep, checked against the engine as it was before it.

use proptest::prelude::*;
use rucksack_engine::Engine;
use rucksack_types::{Event, LiquidationStage};

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
fn holds_hedged_pair(engine: &Engine, account: rucksack_types::AccountId) -> bool {
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
