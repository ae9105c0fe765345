//! The unified account's rules, one scenario each, through the engine with the invariants
//! checked after every command.

mod common;

use common::Harness;
use rucksack_engine::lending::PoolPosition;
use rucksack_testkit::fixtures::{self, BTC, SOL, USDC};
use rucksack_types::{
    AccountId, Amount, AssetId, BorrowLendAction, BorrowLendSource, Command, Event, Reject, SettingsChange,
};

const HOUR: u64 = 3_600_000_000;

/// The standard venue with its risk parameters and prices (SOL $143, BTC $95,000), and
/// account 4 lending 50,000 USDC and 500 SOL.
fn venue() -> Harness {
    let mut h = Harness::new();
    for command in fixtures::risk_settings() {
        h.ok(command);
    }
    h.ok(pool(4, USDC, BorrowLendAction::Lend, 50_000_000_000));
    h.ok(pool(4, SOL, BorrowLendAction::Lend, 500_000_000_000));
    h
}

fn pool(account: u64, asset: AssetId, action: BorrowLendAction, amount: i64) -> Command {
    Command::BorrowLend { account: AccountId(account), asset, action, amount: Amount(amount) }
}

fn price(asset: AssetId, text: &str) -> Command {
    Command::SetIndexPrice { asset, price: fixtures::index_price(text) }
}

fn index_price(h: &Harness, asset: AssetId) -> String {
    h.engine.risk_state().prices[usize::from(asset.0)].expect("a price").price.to_decimal_string()
}

#[test]
fn an_index_update_moves_at_most_by_its_multipliers() {
    let mut h = venue();
    h.ok(price(SOL, "1000"));
    assert_eq!(index_price(&h, SOL), "286", "doubling at most: 143 to 286");
    h.ok(price(SOL, "1"));
    assert_eq!(index_price(&h, SOL), "143", "halving at most: 286 to 143");
    h.ok(price(SOL, "150"));
    assert_eq!(index_price(&h, SOL), "150");
}

#[test]
fn a_stale_price_blocks_borrowing_the_asset_but_not_repaying() {
    let mut h = venue();
    h.ok(pool(1, SOL, BorrowLendAction::Borrow, 1_000_000_000));
    // SOL's price expires after an hour without an update.
    h.stamp.advance(2 * HOUR);
    assert_eq!(h.apply(pool(1, SOL, BorrowLendAction::Borrow, 1_000_000_000)), Err(Reject::PriceUnavailable));
    h.ok(pool(1, SOL, BorrowLendAction::Repay, 1_000_000_000));
    h.ok(price(SOL, "143"));
    h.ok(pool(1, SOL, BorrowLendAction::Borrow, 1_000_000_000));
}

#[test]
fn one_asset_is_never_lent_and_borrowed_at_once() {
    let mut h = venue();
    assert_eq!(h.apply(pool(4, USDC, BorrowLendAction::Borrow, 1_000_000)), Err(Reject::BorrowRequiresLendRedeem));
    h.ok(pool(1, USDC, BorrowLendAction::Borrow, 1_000_000));
    assert_eq!(h.apply(pool(1, USDC, BorrowLendAction::Lend, 1_000_000)), Err(Reject::LendRequiresBorrowRepay));
    assert_eq!(h.apply(pool(1, BTC, BorrowLendAction::Repay, 1)), Err(Reject::NoPosition));
}

#[test]
fn above_the_throttle_borrows_and_redeems_stop_and_repays_go_on() {
    let mut h = venue();
    // 50,000 USDC lent: a borrow taking utilization past 90% is refused, one below is not.
    assert_eq!(h.apply(pool(1, USDC, BorrowLendAction::Borrow, 45_500_000_000)), Err(Reject::BorrowLimit));
    h.ok(pool(1, USDC, BorrowLendAction::Borrow, 44_000_000_000));
    assert_eq!(h.apply(pool(4, USDC, BorrowLendAction::Redeem, 2_000_000_000)), Err(Reject::BorrowLimit));
    h.ok(pool(1, USDC, BorrowLendAction::Repay, 10_000_000_000));
    h.ok(pool(4, USDC, BorrowLendAction::Redeem, 2_000_000_000));
}

#[test]
fn a_borrow_pays_interest_to_the_next_hour_then_every_hour() {
    let mut h = venue();
    h.ok(Command::AccrueInterest);
    let events = h.ok(pool(1, USDC, BorrowLendAction::Borrow, 10_000_000_000));
    let Event::BorrowLendExecuted { entry_fee, source, .. } = events[0] else { panic!("{events:?}") };
    assert!(entry_fee.is_positive() && source == BorrowLendSource::Manual, "{events:?}");
    let owed = -h.engine.pool_position_value(AccountId(1), USDC);
    assert!(owed >= 10_000_000_000 + i128::from(entry_fee.0));
    h.stamp.advance(3 * HOUR);
    let charges = h.ok(Command::AccrueInterest);
    assert_eq!(charges.iter().filter(|e| matches!(e, Event::InterestCharged(c) if c.asset == USDC)).count(), 3);
    assert!(-h.engine.pool_position_value(AccountId(1), USDC) > owed);
}

#[test]
fn auto_lend_lends_what_arrives_and_auto_repay_repays_first() {
    let mut h = venue();
    let settings = |lend, repay| Command::UpdateAccountSettings {
        account: AccountId(2),
        change: SettingsChange { auto_lend: Some(lend), auto_repay_borrows: Some(repay), ..Default::default() },
    };
    // Turning auto-lend on lends everything available at once.
    h.ok(settings(true, false));
    assert_eq!(h.engine.balance(AccountId(2), USDC).available, Amount::ZERO);
    assert!(matches!(h.engine.pool_positions(AccountId(2))[usize::from(USDC.0)], PoolPosition::Lend(_)));
    // With a BTC borrow and auto-repay, arriving BTC repays the borrow before anything is lent.
    h.ok(settings(false, true));
    h.deposit(3, BTC, 100_000_000);
    h.ok(pool(3, BTC, BorrowLendAction::Lend, 100_000_000));
    h.ok(pool(2, BTC, BorrowLendAction::Borrow, 1_000_000));
    let debt = -h.engine.pool_position_value(AccountId(2), BTC);
    h.deposit(2, BTC, 3_000_000);
    assert_eq!(h.engine.pool_position_value(AccountId(2), BTC), 0, "the debt of {debt} was repaid");
    assert_eq!(h.engine.balance(AccountId(2), BTC).available.0, 4_000_000 - debt as i64);
}
