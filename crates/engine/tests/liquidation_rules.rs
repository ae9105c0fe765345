//! The risk engine and the liquidation waterfall, one stage per scenario, through the engine
//! with the invariants checked after every command.
//!
//! The trader (account 5) deposits 200 USDC and buys 10 SOL-perp (1,000 lots) at $143 from
//! account 2, seven times leveraged. Its maintenance fraction is the market's 1.25%, so it is
//! liquidatable once the mark falls to about $124.6.

mod common;

use common::Harness;
use common::perp::{gtc, take};
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC_PERP, USDC};
use rucksack_types::{
    AccountId, Amount, BorrowLendAction, CancelScope, Command, Event, InsuranceReason, LiquidationStage,
    LiquidationStep, OrderStatus, Reject, Side, SystemOrderType,
};

const TRADER: u64 = 5;

/// The trader buys 1,000 lots at $143 from account `seller`'s resting ask.
fn leveraged_long(h: &mut Harness, seller: u64) {
    h.deposit(TRADER, USDC, 200_000_000);
    h.ok(gtc(seller, Side::Ask, 14_300, 1_000));
    h.ok(take(TRADER, Side::Bid, 1_000));
}

/// Accounts 3 and 4 quote `lots` at `bid` and `ask` (ticks), replacing their earlier quotes.
fn requote(h: &mut Harness, bid: i64, ask: i64, lots: i64) {
    for account in [3, 4] {
        h.ok(Command::CancelAll { account: AccountId(account), market: SOL_USDC_PERP, scope: CancelScope::All });
    }
    h.ok(gtc(3, Side::Bid, bid, lots));
    h.ok(gtc(4, Side::Ask, ask, lots));
}

/// SOL's index moves to `price` and the marks follow.
fn move_sol(h: &mut Harness, price: &str) {
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price(price) });
    h.ok(Command::UpdateMarkPrices);
}

fn size(h: &Harness, account: u64) -> i64 {
    h.engine.perp_position(AccountId(account), SOL_USDC_PERP).size
}

/// The positions moved outside the book: kind, to whom, lots (from the trader's side).
fn transfers(events: &[Event]) -> Vec<(SystemOrderType, AccountId, i64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PositionTransferred(t) => Some((t.kind, t.to, t.lots)),
            _ => None,
        })
        .collect()
}

fn bankruptcy(events: &[Event]) -> rucksack_types::Bankruptcy {
    events
        .iter()
        .find_map(|e| match e {
            Event::Bankrupt(b) => Some(*b),
            _ => None,
        })
        .expect("a bankruptcy")
}

fn steps(events: &[Event]) -> Vec<LiquidationStep> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Liquidation(step) => Some(*step),
            _ => None,
        })
        .collect()
}

#[test]
fn an_account_is_liquidatable_once_its_margin_fraction_reaches_its_maintenance_fraction() {
    let mut h = Harness::with_perps();
    leveraged_long(&mut h, 2);
    // An open order that would add to the position: the margin rule counts it, liquidation
    // (which starts by cancelling it) does not.
    let before = h.engine.health_now(AccountId(TRADER));
    h.ok(gtc(TRADER, Side::Bid, 12_000, 50));
    assert_eq!(h.engine.health_now(AccountId(TRADER)), before);

    requote(&mut h, 12_990, 13_010, 10_000);
    move_sol(&mut h, "130");
    assert!(h.engine.liquidatable_accounts().is_empty());
    assert!(steps(&h.ok(Command::Liquidate)).is_empty());

    requote(&mut h, 12_420, 12_440, 10_000);
    move_sol(&mut h, "124.3");
    let health = h.engine.health_now(AccountId(TRADER));
    assert!(health.below_maintenance());
    assert!(health.margin_fraction() <= health.mmf());
    // The counterparty and the quoting accounts are far from it.
    assert_eq!(h.engine.liquidatable_accounts(), vec![AccountId(TRADER)]);
}

#[test]
fn on_book_liquidation_cancels_orders_and_shrinks_the_position_step_by_step_until_the_buffer_is_restored() {
    let mut h = Harness::with_perps();
    leveraged_long(&mut h, 2);
    h.ok(gtc(TRADER, Side::Ask, 15_000, 100));
    requote(&mut h, 12_420, 12_440, 10_000);
    move_sol(&mut h, "124.3");

    let first = h.ok(Command::Liquidate);
    let taken = steps(&first);
    assert_eq!(taken[0].stage, LiquidationStage::Unwind);
    assert!(first.iter().any(|e| matches!(e, Event::OrderClosed { account, status: OrderStatus::Cancelled, .. }
        if *account == AccountId(TRADER))));
    assert_eq!(h.engine.open_orders_of(AccountId(TRADER)), 0);
    // The first on-book step sells a fifth of the position into account 3's bid, marked as the
    // exchange's order.
    assert_eq!(taken[1].stage, LiquidationStage::OnBook);
    assert_eq!(size(&h, TRADER), 800);
    assert!(first.iter().any(|e| matches!(e, Event::SystemOrderPlaced(o)
        if o.kind == SystemOrderType::LiquidatePositionOnBook && o.account == AccountId(TRADER))));
    assert!(h.engine.is_liquidating(AccountId(TRADER)));
    assert_eq!(h.apply(take(TRADER, Side::Ask, 10)), Err(Reject::AccountLiquidating));
    assert!(h.engine.insurance_fund(USDC).is_positive(), "the liquidation fee went to the fund");

    // Each sweep takes one more step, each raising the margin fraction, until the buffer is
    // restored; then the account is left alone.
    let mut last = taken[1];
    let mut sweeps = 1;
    while h.engine.is_liquidating(AccountId(TRADER)) {
        let before = size(&h, TRADER);
        let step = steps(&h.ok(Command::Liquidate));
        assert_eq!(step.len(), 1);
        assert_eq!(step[0].stage, LiquidationStage::OnBook);
        assert!(step[0].margin_fraction_after > Some(step[0].margin_fraction_before));
        assert!(step[0].margin_fraction_before >= last.margin_fraction_after.unwrap_or_default());
        assert!(size(&h, TRADER) < before && size(&h, TRADER) > 0);
        last = step[0];
        sweeps += 1;
        assert!(sweeps < 20, "liquidation does not converge");
    }
    assert!(last.finished && sweeps > 2, "{sweeps} sweeps");
    let health = h.engine.health_now(AccountId(TRADER));
    let spec = h.engine.liquidation_spec();
    assert!(health.margin_fraction().map(|f| f.0) >= health.mmf().map(|f| f.0 + spec.buffer.0));
    assert!(steps(&h.ok(Command::Liquidate)).is_empty());
    assert!(size(&h, TRADER) > 0, "only what was needed was sold");
    // The trader may trade again.
    h.ok(take(TRADER, Side::Ask, 10));
}

#[test]
fn borrows_are_repaid_from_balances_of_the_same_asset_first() {
    let mut h = Harness::with_perps();
    h.deposit(TRADER, USDC, 100_000_000);
    h.ok(Command::BorrowLend {
        account: AccountId(1),
        asset: SOL,
        action: BorrowLendAction::Lend,
        amount: Amount(100_000_000_000),
    });
    let borrow = Command::BorrowLend {
        account: AccountId(TRADER),
        asset: SOL,
        action: BorrowLendAction::Borrow,
        amount: Amount(2_000_000_000),
    };
    h.ok(borrow);
    // SOL doubles: the 2 SOL owed are worth $572, the account's equity no longer covers 10%.
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("286") });
    assert!(h.engine.health_now(AccountId(TRADER)).below_maintenance());
    let taken = steps(&h.ok(Command::Liquidate));
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].stage, taken[0].finished), (LiquidationStage::Unwind, true));
    assert!(taken[0].margin_fraction_after > Some(taken[0].margin_fraction_before));
    // What is left owed is the borrow's entry fee, which the borrowed units could not cover.
    let owed = -h.engine.pool_position_value(AccountId(TRADER), SOL);
    assert!(owed > 0 && owed < 20_000_000, "{owed}");
    assert!(!h.engine.is_liquidating(AccountId(TRADER)));
}

#[test]
fn with_a_thin_book_the_backstop_providers_take_the_position_pro_rata_to_their_capacity() {
    let mut h = Harness::with_perps();
    leveraged_long(&mut h, 2);
    // Accounts 3 and 4 back the market, 3 with twice 4's capacity; nobody bids.
    for (account, capacity) in [(3, 1_000_000_000), (4, 500_000_000)] {
        h.ok(Command::SetBackstopProvider { account: AccountId(account), capacity: Amount(capacity) });
    }
    move_sol(&mut h, "124.3");
    let events = h.ok(Command::Liquidate);
    let taken = steps(&events);
    assert_eq!(taken.last().map(|s| s.stage), Some(LiquidationStage::Backstop));
    let transfers = transfers(&events);
    let kind = SystemOrderType::LiquidatePositionOnBackstop;
    // The lot that rounding leaves goes to the provider with the most capacity.
    assert_eq!(transfers, vec![(kind, AccountId(3), -667), (kind, AccountId(4), -333)]);
    assert_eq!((size(&h, 3), size(&h, 4), size(&h, TRADER)), (667, 333, 0));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::InsuranceFundChanged(c) if c.reason == InsuranceReason::BackstopShare))
    );
    assert!(!h.engine.is_liquidating(AccountId(TRADER)));
    assert!(h.engine.health_now(AccountId(TRADER)).net_equity().0 >= 0);
}

/// Account 6 (short 500 lots, $100 of equity: highly leveraged) and account 2 (short 1,000
/// lots, $100,000: barely) both gain when SOL falls; account 7 is long 500 lots with plenty.
fn two_shorts_and_a_gap(h: &mut Harness) {
    h.deposit(6, USDC, 100_000_000);
    h.deposit(7, USDC, 10_000_000_000);
    leveraged_long(h, 2);
    h.ok(gtc(6, Side::Ask, 14_300, 500));
    h.ok(take(7, Side::Bid, 500));
    // SOL gaps to $110: the trader owes $130.7 more than its $199.3.
    move_sol(h, "110");
    assert!(h.engine.health_now(AccountId(TRADER)).net_equity().0 < 0);
}

#[test]
fn with_no_backstop_and_an_empty_fund_adl_hits_the_most_profitable_most_leveraged_opponent_first() {
    let mut h = Harness::with_perps();
    two_shorts_and_a_gap(&mut h);
    let equity_6 = h.engine.health_now(AccountId(6)).net_equity();
    let events = h.ok(Command::Liquidate);
    let transfers = transfers(&events);
    let adl = SystemOrderType::LiquidatePositionOnAdl;
    assert_eq!(transfers, vec![(adl, AccountId(6), -500), (adl, AccountId(2), -500)]);
    assert_eq!((size(&h, 6), size(&h, 2), size(&h, 7), size(&h, TRADER)), (0, -500, 500, 0));
    let bankrupt = bankruptcy(&events);
    assert_eq!(bankrupt.from_fund, Amount::ZERO);
    assert_eq!(bankrupt.written_off, Amount::ZERO);
    assert!(bankrupt.from_adl.is_positive());
    // The trader is left at zero; its two counterparties took the loss pro rata to the lots they
    // took (at the bankruptcy price), neither below zero.
    assert_eq!(h.engine.health_now(AccountId(TRADER)).net_equity().0, 0);
    let after_6 = h.engine.health_now(AccountId(6)).net_equity();
    assert!(after_6 < equity_6 && after_6.0 >= 0);
    assert!(!h.engine.is_liquidating(AccountId(TRADER)));
}

#[test]
fn the_insurance_fund_covers_a_deficit_before_anyone_is_deleveraged_at_a_loss() {
    let mut h = Harness::with_perps();
    two_shorts_and_a_gap(&mut h);
    h.ok(Command::FundInsurance { account: AccountId(1), asset: USDC, amount: Amount(1_000_000_000) });
    let equity_6 = h.engine.health_now(AccountId(6)).net_equity();
    let events = h.ok(Command::Liquidate);
    let bankrupt = bankruptcy(&events);
    // About $130.7 owed beyond the trader's $199.3; the fund pays all of it in whole units, the
    // deleveraged accounts only the fraction of a unit below.
    assert!(bankrupt.deficit.0 > 130_000_000 && bankrupt.deficit.0 < 132_000_000, "{bankrupt:?}");
    assert_eq!(bankrupt.from_fund.0 + bankrupt.from_adl.0, bankrupt.deficit.0);
    assert!(bankrupt.from_adl.0 <= 1);
    assert_eq!(h.engine.insurance_fund(USDC).0, 1_000_000_000 - bankrupt.from_fund.0);
    // The positions still had to go somewhere: deleveraged at the mark, which costs nothing.
    assert_eq!(size(&h, TRADER), 0);
    assert!(equity_6.0 - h.engine.health_now(AccountId(6)).net_equity().0 <= 1);
    assert_eq!(h.engine.health_now(AccountId(TRADER)).net_equity().0, 0);
}

/// The trader borrows 1 SOL against 150 USDC and sells it on the spot market: it owes SOL and
/// holds only USDC.
fn short_sol_on_margin(h: &mut Harness) {
    h.ok(Command::BorrowLend {
        account: AccountId(1),
        asset: SOL,
        action: BorrowLendAction::Lend,
        amount: Amount(100_000_000_000),
    });
    h.deposit(TRADER, USDC, 150_000_000);
    h.ok(Command::BorrowLend {
        account: AccountId(TRADER),
        asset: SOL,
        action: BorrowLendAction::Borrow,
        amount: Amount(1_000_000_000),
    });
    h.ok(Command::PlaceOrder(common::gtc(3, Side::Bid, 14_300, 100)));
    h.ok(Command::PlaceOrder(common::market(TRADER, Side::Ask, 100)));
    assert_eq!(h.balance(TRADER, SOL).0, 0);
}

#[test]
fn a_borrow_without_the_asset_to_repay_it_is_bought_back_on_the_spot_market() {
    let mut h = Harness::with_perps();
    short_sol_on_margin(&mut h);
    h.ok(Command::PlaceOrder(common::gtc(4, Side::Ask, 28_650, 1_000)));
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("286") });
    assert!(h.engine.health_now(AccountId(TRADER)).below_maintenance());
    let events = h.ok(Command::Liquidate);
    let taken = steps(&events);
    assert_eq!(taken.iter().map(|s| s.stage).collect::<Vec<_>>(), [LiquidationStage::Unwind, LiquidationStage::OnBook]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SystemOrderPlaced(o) if o.kind == SystemOrderType::CollateralConversion))
    );
    // The borrow is repaid but for its entry fee, which the USDC left could not buy a lot for.
    let owed = -h.engine.pool_position_value(AccountId(TRADER), SOL);
    assert!((0..10_000_000).contains(&owed), "{owed}");
    assert!(taken[1].finished);
    assert!(h.engine.health_now(AccountId(TRADER)).net_equity().0 > 0);
}

#[test]
fn a_debt_nothing_is_left_to_repay_is_written_off_against_the_lenders_whom_the_fund_pays_in_dollars() {
    let mut h = Harness::with_perps();
    short_sol_on_margin(&mut h);
    // SOL quadruples in two gaps, with nobody selling it: the trader's $293 cannot buy back the
    // $572 it owes.
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("286") });
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("572") });
    assert!(h.engine.health_now(AccountId(TRADER)).net_equity().0 < 0);
    let lent_before = h.engine.pool(SOL).expect("pool").lent;
    let usdc_of_lender = h.balance(1, USDC).0;
    let events = h.ok(Command::Liquidate);
    let bad_debt = events
        .iter()
        .find_map(|e| match e {
            Event::BadDebt(b) => Some(*b),
            _ => None,
        })
        .expect("bad debt");
    assert_eq!(bad_debt.from_fund, Amount::ZERO, "the fund holds no SOL");
    assert!(bad_debt.from_lenders.0 >= 1_000_000_000);
    assert_eq!(h.engine.pool(SOL).expect("pool").lent.0, lent_before.0 - bad_debt.from_lenders.0);
    // The fund took the $293 the trader still held, and paid it to SOL's only lender, account 1,
    // toward the $572 of SOL it lost: made whole in dollars as far as the fund could.
    assert!(bad_debt.lenders_compensated.0 > 290_000_000, "{bad_debt:?}");
    assert_eq!(h.balance(1, USDC).0, usdc_of_lender + bad_debt.lenders_compensated.0);
    let taken: i64 = events
        .iter()
        .filter_map(|e| match e {
            Event::InsuranceFundChanged(c) if c.reason == InsuranceReason::BankruptCollateral && c.asset == USDC => {
                Some(c.change.0)
            }
            _ => None,
        })
        .sum();
    assert!(taken > 290_000_000);
    assert_eq!(h.engine.insurance_fund(USDC).0, taken - bad_debt.lenders_compensated.0);
    assert_eq!(h.engine.health_now(AccountId(TRADER)).net_equity().0, 0);
    assert!(!h.engine.is_liquidating(AccountId(TRADER)));
}

#[test]
fn a_sweep_values_only_the_accounts_a_price_move_could_have_taken_to_maintenance() {
    let mut h = Harness::with_perps();
    leveraged_long(&mut h, 2);
    requote(&mut h, 14_290, 14_310, 10_000);
    h.ok(Command::Liquidate);
    assert_eq!(h.engine.accounts_to_value(), 0, "everyone valued and filed");
    // The trader, seven times leveraged, is safe within about 5% of SOL's price: a 0.1% move
    // lists nobody; a 6% fall lists it (and not its counterparty, short and flush).
    move_sol(&mut h, "142.86");
    assert_eq!(h.engine.accounts_to_value(), 0);
    h.ok(Command::Liquidate);
    requote(&mut h, 13_430, 13_450, 10_000);
    move_sol(&mut h, "134.4");
    assert_eq!(h.engine.accounts_to_value(), 1);
    assert!(h.engine.liquidatable_accounts().is_empty());
    h.ok(Command::Liquidate);
    // A fill touches the account: it is valued again at the next sweep.
    h.ok(take(TRADER, Side::Ask, 10));
    assert_eq!(h.engine.accounts_to_value(), 2, "the trader, and account 3 whose bid it hit");
}

#[test]
fn lent_collateral_is_redeemed_and_sold_to_repay_a_borrow() {
    let mut h = Harness::with_perps();
    let pool = |account: u64, asset, action, amount: i64| Command::BorrowLend {
        account: AccountId(account),
        asset,
        action,
        amount: Amount(amount),
    };
    h.ok(pool(1, USDC, BorrowLendAction::Lend, 50_000_000_000));
    // The trader lends its 10 SOL, borrows 1,000 USDC against them and takes the USDC out.
    h.deposit(TRADER, SOL, 10_000_000_000);
    h.ok(pool(TRADER, SOL, BorrowLendAction::Lend, 10_000_000_000));
    h.ok(pool(TRADER, USDC, BorrowLendAction::Borrow, 1_000_000_000));
    h.ok(Command::Withdraw {
        account: AccountId(TRADER),
        asset: USDC,
        amount: Amount(1_000_000_000),
        tx: fixtures::tx(9_001),
        margin: rucksack_types::MarginFlags::NONE,
    });
    h.ok(Command::PlaceOrder(common::gtc(3, Side::Bid, 11_590, 10_000)));
    // SOL at $116: $1,044 of collateral against $1,000 owed, short of the 5% maintenance.
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("116") });
    assert!(h.engine.health_now(AccountId(TRADER)).below_maintenance());
    let events = h.ok(Command::Liquidate);
    let taken = steps(&events);
    assert_eq!(taken.iter().map(|s| s.stage).collect::<Vec<_>>(), [LiquidationStage::Unwind, LiquidationStage::OnBook]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::BorrowLendExecuted {
            action: BorrowLendAction::Redeem,
            source: rucksack_types::BorrowLendSource::Liquidation,
            ..
        }
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SystemOrderPlaced(o) if o.kind == SystemOrderType::CollateralConversion))
    );
    assert!(h.engine.pool_position_value(AccountId(TRADER), USDC) >= 0, "the borrow is repaid");
    assert!(taken[1].finished && h.engine.balance(AccountId(TRADER), SOL).available.is_positive(), "some SOL is kept");
}

#[test]
fn a_lend_the_throttle_holds_back_is_deleveraged_against_the_borrowers_in_dollars() {
    let mut h = Harness::with_perps();
    let pool = |account: u64, asset, action, amount: i64| Command::BorrowLend {
        account: AccountId(account),
        asset,
        action,
        amount: Amount(amount),
    };
    h.ok(pool(1, USDC, BorrowLendAction::Lend, 50_000_000_000));
    h.ok(pool(1, SOL, BorrowLendAction::Lend, 100_000_000_000));
    // The trader lends 10 SOL and borrows 1,000 USDC against them; account 2 then borrows SOL up
    // to the pool's 90% throttle, so no lend of SOL can be redeemed.
    h.deposit(TRADER, SOL, 10_000_000_000);
    h.ok(pool(TRADER, SOL, BorrowLendAction::Lend, 10_000_000_000));
    h.ok(pool(TRADER, USDC, BorrowLendAction::Borrow, 1_000_000_000));
    h.ok(Command::Withdraw {
        account: AccountId(TRADER),
        asset: USDC,
        amount: Amount(1_000_000_000),
        tx: fixtures::tx(9_002),
        margin: rucksack_types::MarginFlags::NONE,
    });
    h.ok(pool(2, SOL, BorrowLendAction::Borrow, 98_900_000_000));
    let redeemable = |h: &Harness| {
        let pool = h.engine.pool(SOL).expect("pool");
        pool.max_redeemable(fixtures::asset_risk(SOL).lending.expect("lendable").throttle_utilization)
    };
    assert!(redeemable(&h).0 < 10_000_000_000, "the throttle holds the trader's lend: {:?}", redeemable(&h));
    let debt_before = -h.engine.pool_position_value(AccountId(2), SOL);
    let usdc_of_borrower = h.balance(2, USDC).0;
    h.ok(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("116") });
    assert!(h.engine.health_now(AccountId(TRADER)).below_maintenance());
    let events = h.ok(Command::Liquidate);
    // The borrower repaid what the trader could not redeem, and paid the trader its dollar value.
    let adl = events.iter().find_map(|e| match e {
        Event::BorrowLendExecuted {
            account, source: rucksack_types::BorrowLendSource::AdlProvider, amount, ..
        } if *account == AccountId(2) => Some(*amount),
        _ => None,
    });
    let units = adl.expect("account 2's borrow deleveraged");
    assert!(units.is_positive());
    assert_eq!(-h.engine.pool_position_value(AccountId(2), SOL), debt_before - i128::from(units.0));
    // 116 USDC per SOL, rounded down.
    let dollars = units.0 as i128 * 116 / 1_000;
    assert!((i128::from(usdc_of_borrower - h.balance(2, USDC).0) - dollars).abs() <= 1);
    // With the dollars the trader repaid its USDC borrow: liquidation is over.
    assert!(h.engine.pool_position_value(AccountId(TRADER), USDC) >= 0);
    assert!(!h.engine.is_liquidating(AccountId(TRADER)));
}
