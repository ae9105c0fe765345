//! The invariant state machine: random sequences of every command across several accounts and
//! markets: deposits, withdrawals, orders, cancels, lends, redeems, borrows, repays, price moves
//! and clock ticks, on spot and perpetual markets, with mark-price samples (and funding) and PnL
//! realization. After every command all invariants hold (per perpetual market long and short
//! sizes match, and the positions' values match what was settled and charged); a refused command
//! leaves the state (everything but the sequence number) unchanged; pool indices never fall; each
//! hour's interest is split to the unit; funding paid equals funding received to the unit;
//! realization changes no size, no account's net equity beyond rounding, and no exposure unless
//! it borrowed; no user action takes any account from within initial margin to beyond it; a
//! snapshot taken at any point restores to the same state hash and continues identically.

#[path = "state_machine/liquidation.rs"]
mod liquidation;
#[path = "state_machine/ops.rs"]
mod ops;

use proptest::prelude::*;
use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, BTC, BTC_USDC, BTC_USDC_PERP, SOL, SOL_USDC, SOL_USDC_PERP, USDC};
use rucksack_types::{AccountId, Amount, AssetId, BorrowLendAction, Command, Event, IndexPrice, Lots, Side, Ticks};

use ops::{ACCOUNTS, Op, command_at, elapsed_micros, is_user_action, op};

/// Per (account, perpetual market): funding received so far plus funding pending (fine units).
fn funding_ledger(engine: &Engine) -> std::collections::BTreeMap<(u64, u16), i128> {
    let mut ledger = std::collections::BTreeMap::new();
    for account in engine.account_ids() {
        for holding in engine.perp_holdings(account) {
            let cumulative = engine.perp_market(holding.market).map_or(0, |p| p.cumulative_funding);
            ledger.insert(
                (account.0, holding.market.0),
                holding.position.cumulative_funding - holding.pending_funding(cumulative),
            );
        }
    }
    ledger
}

/// Funding paid equals funding received, to the unit: across all positions (those closed by the
/// step counted as they were), what positions have received and are due changes by nothing.
fn funding_step_holds(
    before: &std::collections::BTreeMap<(u64, u16), i128>,
    after: &std::collections::BTreeMap<(u64, u16), i128>,
) -> Result<(), TestCaseError> {
    for market in [SOL_USDC_PERP.0, BTC_USDC_PERP.0] {
        let sum = |ledger: &std::collections::BTreeMap<(u64, u16), i128>, closed_too: bool| -> i128 {
            let mut total: i128 = ledger.iter().filter(|((_, m), _)| *m == market).map(|(_, v)| v).sum();
            if closed_too {
                total += before
                    .iter()
                    .filter(|(key, _)| key.1 == market && !after.contains_key(key))
                    .map(|(_, v)| v)
                    .sum::<i128>();
            }
            total
        };
        prop_assert_eq!(sum(after, true), sum(before, false), "market {}: funding does not sum to zero", market);
    }
    Ok(())
}

/// What realization may change: no size; and for an account it moved no pool money for, neither
/// its net equity (beyond a rounding unit per position) nor its exposure, so neither its margin
/// fraction.
fn realization_holds(before: &Engine, after: &Engine, events: &[Event]) -> Result<(), TestCaseError> {
    for account in before.account_ids() {
        let (b, a) = (before.margin_health(account), after.margin_health(account));
        let positions = before.perp_holdings(account).len() as i128;
        for holding in before.perp_holdings(account) {
            prop_assert_eq!(holding.position.size, after.perp_position(account, holding.market).size);
        }
        // Pool steps (the settlement waterfall, auto-lend and auto-repay afterwards) round in the
        // house's favour in the assets they move and charge entry fees; a settlement borrow's
        // entry fee also reaches the pool's lenders; the waterfall's collateral sales trade at
        // the book's prices. Their own checks cover those; here, accounts they touched are left
        // out.
        let pool_moved = events.iter().any(|e| match e {
            Event::BorrowLendExecuted { account: who, .. } => *who == account,
            // Selling collateral to settle trades at the book's prices and pays a fee.
            Event::Trade(trade) => trade.taker_account == account || trade.maker_account == account,
            _ => false,
        });
        // Another account's pool movement (a settlement borrow, an auto-lend afterwards) rounds
        // the pool's share prices in the pool's favour: the other lenders and borrowers see
        // their positions' values move by a unit or two.
        let in_pools =
            before.pool_positions(account).iter().any(|p| *p != rucksack_engine::lending::PoolPosition::None);
        let any_pool_movement = events.iter().any(|e| matches!(e, Event::BorrowLendExecuted { .. }));
        if pool_moved || (in_pools && any_pool_movement) {
            continue;
        }
        let drift = (a.net_equity().0 - b.net_equity().0).abs();
        prop_assert!(drift <= 2 * positions + 2, "account {}: realization moved equity {:?} -> {:?}", account, b, a);
        // With open orders the health is the worst of several cases, and a rounding unit can
        // change which case is worst; without them it is the account as it stands.
        let ordering = before.open_orders_of(account) > 0;
        if !ordering {
            prop_assert_eq!(a.exposure, b.exposure, "account {}: realization changed exposure", account);
        }
    }
    Ok(())
}

/// Per asset: (lent, lend shares, borrowed, borrow shares, house fee + dust incl. claims).
fn pool_totals(engine: &Engine) -> Vec<(i128, i128, i128, i128, i128)> {
    (0..3u16)
        .map(|asset| {
            let pool = engine.pool(AssetId(asset)).expect("listed");
            let house = i128::from(pool.fee_claim.0 + pool.dust_claim.0)
                + i128::from(engine.fee_balance(AssetId(asset)).0 + engine.dust_balance(AssetId(asset)).0);
            (i128::from(pool.lent.0), pool.lend_shares, i128::from(pool.borrowed.0), pool.borrow_shares, house)
        })
        .collect()
}

/// The money-market properties of one step: share prices (the indices) never fall, and a clock
/// tick moves exactly the interest it reports from borrowers to lenders and the house.
fn pool_step_holds(
    before: &[(i128, i128, i128, i128, i128)],
    after: &[(i128, i128, i128, i128, i128)],
    events: &[Event],
    tick: bool,
) -> Result<(), TestCaseError> {
    for (asset, (b, a)) in before.iter().zip(after).enumerate() {
        // lent/lend_shares and borrowed/borrow_shares never decrease (compared as fractions); a
        // bad debt written off against the lenders is the one exception.
        let written_off = events.iter().any(|e| matches!(e, Event::BadDebt(d) if usize::from(d.asset.0) == asset));
        if b.1 > 0 && a.1 > 0 && !written_off {
            prop_assert!(a.0 * b.1 >= b.0 * a.1, "asset {asset}: lend index fell {b:?} -> {a:?}");
        }
        if b.3 > 0 && a.3 > 0 {
            prop_assert!(a.2 * b.3 >= b.2 * a.3, "asset {asset}: borrow index fell {b:?} -> {a:?}");
        }
        if tick {
            let interest: i128 = events
                .iter()
                .filter_map(|e| match e {
                    Event::InterestCharged(rucksack_types::InterestCharge {
                        asset: id, interest, fee, dust, ..
                    }) if usize::from(id.0) == asset => {
                        assert!(fee.0 >= 0 && dust.0 >= 0 && fee.0 + dust.0 <= interest.0, "interest split {e:?}");
                        Some(i128::from(interest.0))
                    }
                    _ => None,
                })
                .sum();
            prop_assert_eq!(a.2 - b.2, interest, "asset {}: borrowers owe more by the interest charged", asset);
            prop_assert_eq!((a.0 - b.0) + (a.4 - b.4), interest, "asset {}: lenders and house earn it all", asset);
        }
    }
    Ok(())
}

fn venue() -> (Engine, Stamp) {
    let mut engine = Engine::new();
    let mut stamp = Stamp::default();
    let mut setup = fixtures::listings();
    setup.extend(fixtures::risk_settings());
    setup.extend(fixtures::perp_listings());
    setup.push(Command::UpdateMarkPrices);
    for account in 1..=ACCOUNTS {
        setup.push(fixtures::deposit(account, SOL, 20_000_000_000, 1_000 + account));
        setup.push(fixtures::deposit(account, USDC, 3_000_000_000, 2_000 + account));
        setup.push(fixtures::deposit(account, BTC, 50_000_000, 3_000 + account));
    }
    // Account 4 starts as a lender of every asset, so borrows find a pool.
    for (asset, amount) in [(SOL, 10_000_000_000), (USDC, 2_000_000_000), (BTC, 20_000_000)] {
        setup.push(Command::BorrowLend {
            account: AccountId(ACCOUNTS),
            asset,
            action: BorrowLendAction::Lend,
            amount: Amount(amount),
        });
    }
    for command in setup {
        engine.apply(&stamp.next(command)).expect("setup");
    }
    (engine, stamp)
}

/// The two ways the API reads a book agree: each level of `depth_top` is what `level_quantity`
/// says of its price, and a price between levels holds nothing.
fn depth_reads_agree(engine: &Engine) -> Result<(), TestCaseError> {
    for market in [SOL_USDC, BTC_USDC, SOL_USDC_PERP, BTC_USDC_PERP] {
        for side in [Side::Bid, Side::Ask] {
            for (price, quantity) in engine.depth_top(market, side, usize::MAX) {
                prop_assert_eq!(
                    engine.level_quantity(market, side, price),
                    quantity,
                    "{:?} {:?} at {}",
                    market,
                    side,
                    price
                );
                let between = Ticks(price.0 + 1);
                if !engine.depth_top(market, side, usize::MAX).iter().any(|(p, _)| *p == between) {
                    prop_assert_eq!(engine.level_quantity(market, side, between), Lots::ZERO);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_command(ops in proptest::collection::vec(op(), 1..160)) {
        let (mut engine, mut stamp) = venue();
        engine.set_invariant_checks(false);
        for (step, op) in ops.iter().enumerate() {
            let before = engine.content_hash();
            let pools_before = pool_totals(&engine);
            let within_before: Vec<bool> =
                (1..=ACCOUNTS).map(|account| engine.margin_health(AccountId(account)).within_initial_margin()).collect();
            let funding_before = funding_ledger(&engine);
            let realizing = matches!(op, Op::Realize).then(|| engine.clone());
            let liquidating = matches!(op, Op::Liquidate).then(|| engine.clone());
            stamp.advance(elapsed_micros(op));
            let sequenced = stamp.next(command_at(&engine, op));
            let result = engine.apply(&sequenced).map(<[Event]>::to_vec);
            if let Err(violation) = engine.check() {
                return Err(TestCaseError::fail(format!("step {step} {op:?}: {violation}")));
            }
            match &result {
                Err(_) => prop_assert_eq!(engine.content_hash(), before, "refused {:?} changed the state", op),
                Ok(events) => {
                    pool_step_holds(&pools_before, &pool_totals(&engine), events, matches!(op, Op::Tick { .. }))?;
                    funding_step_holds(&funding_before, &funding_ledger(&engine))?;
                    if let Some(before) = &realizing {
                        realization_holds(before, &engine, events)?;
                    }
                    if let Some(before) = &liquidating {
                        liquidation::sweep_holds(before, &engine, events)?;
                    }
                }
            }
            if is_user_action(op) {
                for (account, within) in (1..=ACCOUNTS).zip(&within_before) {
                    let health = engine.margin_health(AccountId(account));
                    prop_assert!(
                        !within || health.within_initial_margin(),
                        "step {}: {:?} took account {} beyond initial margin: {:?}",
                        step, op, account, health
                    );
                }
            }
            depth_reads_agree(&engine)?;
            if step % 40 == 39 {
                let restored = Engine::decode_snapshot(&engine.encode_snapshot()).expect("snapshot decodes");
                prop_assert_eq!(restored.state_hash(), engine.state_hash());
                restored.check().map_err(|v| TestCaseError::fail(format!("restored: {v}")))?;
            }
        }
    }

    #[test]
    fn a_restored_snapshot_continues_exactly_like_the_original(
        ops in proptest::collection::vec(op(), 2..120),
        cut in 0usize..120,
    ) {
        let (mut original, mut stamp) = venue();
        let cut = cut % ops.len();
        for op in &ops[..cut] {
            stamp.advance(elapsed_micros(op));
            let _ = original.apply(&stamp.next(command_at(&original, op)));
        }
        let mut restored = Engine::decode_snapshot(&original.encode_snapshot()).expect("snapshot decodes");
        for op in &ops[cut..] {
            stamp.advance(elapsed_micros(op));
            let sequenced = stamp.next(command_at(&original, op));
            let a = original.apply(&sequenced).map(<[_]>::to_vec);
            let b = restored.apply(&sequenced).map(<[_]>::to_vec);
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(original.state_hash(), restored.state_hash());
    }
}

/// The generated sequences reach every money-market path: each borrow-lend action succeeds
/// somewhere, and some clock ticks charge interest. Guards the properties above against
/// generators that only ever produce refusals.
#[test]
fn generated_sequences_exercise_the_money_market() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut accepted = [0usize; 4];
    let mut interest_charged = 0usize;
    let mut automatic = std::collections::BTreeMap::<&str, usize>::new();
    let mut perps = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..64 {
        let ops = proptest::collection::vec(op(), 160).new_tree(&mut runner).expect("ops").current();
        let (mut engine, mut stamp) = venue();
        let mut trigger_ids = std::collections::BTreeSet::new();
        for op in &ops {
            stamp.advance(elapsed_micros(op));
            let Ok(events) = engine.apply(&stamp.next(command_at(&engine, op))).map(<[Event]>::to_vec) else {
                continue;
            };
            let events = &events;
            let hedged = (1..=ACCOUNTS).map(AccountId).any(|account| {
                engine.perp_position(account, SOL_USDC_PERP).size < 0 && engine.balance(account, SOL).available.0 > 0
            });
            if hedged {
                *perps.entry("hedged pair").or_default() += 1;
            }
            interest_charged += events.iter().filter(|e| matches!(e, Event::InterestCharged(_))).count();
            for event in events {
                let key = match event {
                    Event::OrderModified { .. } => "reduce-only shrunk",
                    Event::TriggerPlaced { order, .. } => {
                        trigger_ids.insert(*order);
                        "trigger placed"
                    }
                    Event::OrderAccepted { order, .. } if trigger_ids.contains(order) => "trigger fired",
                    Event::OrderClosed { reason: Some(rucksack_types::ExpiryReason::PriceImpact), .. } => "price band",
                    Event::OrderRested { .. } if matches!(op, Op::Limit { reduce: true, .. }) => "reduce-only rested",
                    Event::PositionChanged { .. } => "perp fill",
                    Event::FundingPaid { per_lot, .. } if *per_lot != 0 => "funding",
                    Event::PnlRealized { realized, .. } if realized.0 > 0 => "profit realized",
                    Event::PnlRealized { realized, .. } if realized.0 < 0 => "loss realized",
                    Event::BorrowLendExecuted { source: rucksack_types::BorrowLendSource::Reconciliation, .. } => {
                        "settlement waterfall"
                    }
                    Event::Liquidation(step) => step.stage.as_str(),
                    Event::Bankrupt(_) => "bankrupt",
                    Event::BadDebt(_) => "bad debt",
                    Event::InsuranceFundChanged(change) => change.reason.as_str(),
                    _ => continue,
                };
                *perps.entry(key).or_default() += 1;
            }

            for event in events {
                if let Event::BorrowLendExecuted { source, action, .. } = event
                    && *source != rucksack_types::BorrowLendSource::Manual
                {
                    let key = match (source, action) {
                        (rucksack_types::BorrowLendSource::SpotMargin, BorrowLendAction::Borrow) => "order borrow",
                        (rucksack_types::BorrowLendSource::SpotMargin, _) => "order redeem",
                        (rucksack_types::BorrowLendSource::Withdrawal, _) => "withdrawal funding",
                        (rucksack_types::BorrowLendSource::Reconciliation, _) => continue,
                        (rucksack_types::BorrowLendSource::AutoLend, _) => "auto-lend",
                        _ => "auto-repay",
                    };
                    *automatic.entry(key).or_default() += 1;
                }
            }
            if let Op::Pool { action, .. } = op {
                accepted[usize::from(*action)] += 1;
            }
        }
    }
    assert!(accepted.iter().all(|&n| n > 0), "lend, redeem, borrow, repay accepted: {accepted:?}");
    assert!(interest_charged > 0, "no tick charged interest");
    eprintln!(
        "accepted lend/redeem/borrow/repay: {accepted:?}, interest charges: {interest_charged}, automatic: {automatic:?}"
    );
    for key in ["order borrow", "order redeem", "withdrawal funding", "auto-lend", "auto-repay"] {
        assert!(automatic.get(key).is_some_and(|n| *n > 0), "no {key} happened: {automatic:?}");
    }
    eprintln!("perpetuals: {perps:?}");
    for key in [
        "perp fill",
        "funding",
        "profit realized",
        "loss realized",
        "settlement waterfall",
        "hedged pair",
        "reduce-only rested",
    ] {
        assert!(perps.get(key).is_some_and(|n| *n > 0), "no {key} happened: {perps:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The initial margin fraction is never below the maintenance fraction, at any size.
    #[test]
    fn imf_is_never_below_mmf(micro_dollars in 0i128..1_000_000_000_000_000_000) {
        for market in [fixtures::sol_perp(), fixtures::btc_perp()] {
            let spec = market.kind.perp().copied().expect("a perpetual");
            let notional = rucksack_types::UsdValue(micro_dollars);
            prop_assert!(spec.imf.fraction(notional) >= spec.mmf.fraction(notional), "{} at {:?}", market.symbol, notional);
        }
    }

    /// Margin is monotone: more collateral never lowers an account's margin fraction, and a price
    /// move against a perpetual position never raises its net or free equity. (Not its margin
    /// fraction: an account holding more equity than exposure sees that fraction rise as a falling
    /// price shrinks its exposure faster than its equity.)
    #[test]
    fn margin_is_monotone(ops in proptest::collection::vec(op(), 1..120), extra in 1i64..10_000_000_000, percent in 1i64..40) {
        let (mut engine, mut stamp) = venue();
        engine.set_invariant_checks(false);
        for op in &ops {
            stamp.advance(elapsed_micros(op));
            let _ = engine.apply(&stamp.next(command_at(&engine, op)));
        }
        for account in (1..=ACCOUNTS).map(AccountId) {
            let before = engine.margin_health(account);
            let mut richer = engine.clone();
            let mut later = stamp.clone();
            richer.apply(&later.next(fixtures::deposit(account.0, USDC, extra, 9_999))).expect("deposit");
            let after = richer.margin_health(account);
            if let (Some(b), Some(a)) = (before.margin_fraction(), after.margin_fraction()) {
                prop_assert!(a >= b, "account {}: a deposit lowered the margin fraction {:?} -> {:?}", account, b, a);
            }
            // A price move against the account's SOL perpetual, for an account that holds no SOL
            // otherwise and has no open orders there.
            let size = engine.perp_position(account, SOL_USDC_PERP).size;
            let holds_sol = engine.balance(account, SOL) != Default::default()
                || engine.pool_positions(account).get(usize::from(SOL.0)).is_some_and(|p| *p != Default::default());
            let ordering = engine.perp_holdings(account).iter().any(|h| h.bids.lots + h.asks.lots > 0);
            if size == 0 || holds_sol || ordering {
                continue;
            }
            let index = engine.risk_state().prices[usize::from(SOL.0)].expect("SOL has a price").price.0;
            let moved = if size > 0 { index / 100 * (100 - percent) } else { index / 100 * (100 + percent) };
            let mut adverse = engine.clone();
            let mut later = stamp.clone();
            adverse.apply(&later.next(Command::SetIndexPrice { asset: SOL, price: IndexPrice(moved) })).expect("price");
            adverse.apply(&later.next(Command::UpdateMarkPrices)).expect("mark");
            let after = adverse.margin_health(account);
            prop_assert!(after.net_equity() <= before.net_equity(), "account {}: {:?} -> {:?}", account, before, after);
            prop_assert!(after.free_equity() <= before.free_equity(), "account {}: {:?} -> {:?}", account, before, after);
        }
    }
}
