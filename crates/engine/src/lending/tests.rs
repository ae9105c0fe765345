//! Worked examples of the pool arithmetic.

use rucksack_types::{Fraction, RateCurve};

use super::*;

fn spec(fee: &str) -> LendingSpec {
    let f = |text| Fraction::parse(text).unwrap();
    LendingSpec {
        curve: RateCurve {
            rate_at_zero: f("0"),
            optimal_utilization: f("0.8"),
            rate_at_optimal: f("0.1"),
            max_rate: f("1"),
        },
        fee: f(fee),
        throttle_utilization: f("0.9"),
        max_utilization: f("0.95"),
    }
}

#[test]
fn an_hour_of_interest_is_split_to_the_unit() {
    // 1,000 USDC lent, 500 borrowed (U = 50%, rate 0.1 * 0.5 / 0.8 = 6.25% a year).
    let spec = spec("0.1");
    let mut pool = Pool::default();
    pool.lend(Amount(1_000_000_000)).unwrap();
    pool.borrow(Amount(500_000_000), Amount::ZERO, &spec).unwrap();
    let rate = spec.curve.borrow_rate(pool.utilization());
    assert_eq!(rate, Fraction::parse("0.0625").unwrap());
    // 500 USDC * 6.25% / 8760 = 0.00356735... USDC, rounded up to 0.003568.
    let split = pool.charge_hour(rate, &spec).unwrap();
    assert_eq!(split.interest, Amount(3_568));
    // Lenders 90% rounded down (3211.2 -> 3211 units), the exchange 10% down (356.8 -> 356),
    // one unit of dust.
    assert_eq!((split.lenders, split.fee, split.dust), (Amount(3_211), Amount(356), Amount(1)));
    assert_eq!(pool.borrowed, Amount(500_003_568));
    assert_eq!(pool.lent, Amount(1_000_003_211));
    // Cash is untouched by interest: 1,000 - 500 = 500 USDC still in the pool.
    assert_eq!(pool.cash(), 500_000_000);
    assert_eq!(pool.collect_claims(), (Amount(356), Amount(1)));
    assert_eq!(pool.cash(), 500_000_000 - 357);
}

#[test]
fn the_lender_gets_back_principal_plus_interest_and_the_borrower_owes_it() {
    let spec = spec("0");
    let mut pool = Pool::default();
    let lend = pool.lend(Amount(1_000)).unwrap();
    let borrow = pool.borrow(Amount(800), Amount::ZERO, &spec).unwrap();
    pool.charge_hour(Fraction::parse("87.6").unwrap(), &spec).unwrap(); // 1% an hour
    assert_eq!(pool.debt_value(borrow.shares), Amount(808));
    assert_eq!(pool.lend_value(lend.shares), Amount(1_008));
    // Repaying 808 clears the borrow exactly; the lender can then take everything.
    let repaid = pool.repay(borrow.shares, Amount(10_000)).unwrap();
    assert_eq!((repaid.amount, repaid.shares), (Amount(808), borrow.shares));
    let redeemed = pool.redeem(lend.shares, Amount(i64::MAX)).unwrap();
    assert_eq!(redeemed.amount, Amount(1_008));
    assert_eq!(pool, Pool::default());
}

#[test]
fn rounding_never_favours_the_account() {
    let spec = spec("0");
    let mut pool = Pool::default();
    let first = pool.lend(Amount(3)).unwrap();
    pool.borrow(Amount(1), Amount::ZERO, &spec).unwrap();
    pool.charge_hour(Fraction::parse("8760").unwrap(), &spec).unwrap(); // 100% an hour: debt 2
    assert_eq!(pool.lent, Amount(4));
    // A second lender of 2 units at a share price of 4/3 gets 1.5M shares, worth 2 exactly.
    let second = pool.lend(Amount(2)).unwrap();
    assert_eq!(second.shares, 1_500_000);
    assert_eq!(pool.lend_value(second.shares).checked_add(pool.lend_value(first.shares)), Ok(pool.lent));
    // Borrowing 1 more when the debt share price is 2: the debt rounds up to whole shares.
    let borrow = pool.borrow(Amount(1), Amount::ZERO, &spec).unwrap();
    assert!(pool.debt_value(borrow.shares) >= Amount(1));
    // A one-unit repay of a debt worth more buys whole shares only and never overpays.
    let part = pool.repay(borrow.shares, Amount(1)).unwrap();
    assert!(part.amount <= Amount(1));
}

#[test]
fn an_entry_fee_covers_the_time_to_the_next_charge() {
    // 1,000 USDC at 8.76% a year for half an hour: 1000 * 0.0876 / 8760 / 2 = 0.005 USDC.
    let fee = interest_for(Amount(1_000_000_000), Fraction::parse("0.0876").unwrap(), MICROS_PER_HOUR / 2);
    assert_eq!(fee, Ok(Amount(5_000)));
}
