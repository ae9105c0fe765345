//! The money market's history on SQLite and PostgreSQL: movements as the engine reported them,
//! hourly charges, and each account's interest payments, which add up exactly to what its
//! position gained or owes more.

mod common;

use rucksack_engine::Engine;
use rucksack_store::{Applied, HistoryStore, Page, PaymentKind, PoolQuery, SortDirection};
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, SOL, USDC};
use rucksack_types::{AccountId, Amount, BorrowLendAction, BorrowLendSource, Command, Event, Sequenced};

cases!(movements_and_interest_are_stored_and_add_up);

const HOUR: u64 = 3_600_000_000;

/// A lender of 10,000 USDC, a SOL holder borrowing 2,000 of it, three hours of interest, a partial
/// repay, two more hours.
fn scenario() -> (Vec<Applied>, Engine) {
    let mut engine = Engine::new();
    let mut stamp = Stamp::default();
    let mut run = Vec::new();
    let mut apply = |engine: &mut Engine, stamp: &mut Stamp, command: Command| {
        let sequenced: Sequenced = stamp.next(command);
        let events = engine.apply(&sequenced).unwrap_or_else(|r| panic!("{command:?}: {r}")).to_vec();
        run.push(Applied { seq: sequenced.seq, time: sequenced.time, events });
    };
    let mut setup = fixtures::listings();
    setup.extend(fixtures::risk_settings());
    setup.push(fixtures::deposit(1, USDC, 10_000_000_000, 1));
    setup.push(fixtures::deposit(2, SOL, 100_000_000_000, 2));
    setup.push(Command::AccrueInterest);
    let pool = |account, action, amount| Command::BorrowLend {
        account: AccountId(account),
        asset: USDC,
        action,
        amount: Amount(amount),
    };
    setup.push(pool(1, BorrowLendAction::Lend, 10_000_000_000));
    setup.push(pool(2, BorrowLendAction::Borrow, 2_000_000_000));
    for command in setup {
        apply(&mut engine, &mut stamp, command);
    }
    for hour in 0..5 {
        stamp.advance(HOUR);
        apply(&mut engine, &mut stamp, Command::AccrueInterest);
        apply(&mut engine, &mut stamp, Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("143") });
        if hour == 2 {
            apply(&mut engine, &mut stamp, pool(2, BorrowLendAction::Repay, 500_000_000));
        }
    }
    (run, engine)
}

async fn movements_and_interest_are_stored_and_add_up(store: HistoryStore) {
    let (run, engine) = scenario();
    store.apply(&run).await.expect("stored");
    let all = Page { limit: 1_000, offset: 0, direction: SortDirection::Asc };

    let borrower = PoolQuery { account: AccountId(2), asset: Some(USDC), page: all };
    let moves = store.pool_movements(&borrower).await.expect("movements");
    let reported: Vec<_> = run
        .iter()
        .flat_map(|a| &a.events)
        .filter_map(|e| match *e {
            Event::BorrowLendExecuted { account: AccountId(2), action, amount, entry_fee, source, shares, .. } => {
                Some((action, amount, entry_fee, source, shares))
            }
            _ => None,
        })
        .collect();
    let stored: Vec<_> = moves.iter().map(|m| (m.action, m.amount, m.entry_fee, m.source, m.shares)).collect();
    assert_eq!(stored, reported);
    assert_eq!(stored[0].0, BorrowLendAction::Borrow);
    assert_eq!(stored[0].3, BorrowLendSource::Manual);
    assert!(stored[0].4 < 0, "a borrow's shares are negative");

    let hours = store.pool_hours(Some(USDC), rucksack_types::Timestamp(0)).await.expect("hours");
    assert_eq!(hours.len(), 5, "one charge per hour with borrows");

    // The borrower's payments add up to its entry fee plus what its debt grew by, to the unit.
    let payments = store.interest_payments(&borrower).await.expect("payments");
    let entry_fees: i128 = payments.iter().filter(|p| p.kind == PaymentKind::EntryFee).map(|p| p.quantity).sum();
    assert_eq!(entry_fees, -i128::from(moves[0].entry_fee.0));
    let hourly: Vec<_> = payments.iter().filter(|p| p.kind == PaymentKind::Borrow).collect();
    assert_eq!(hourly.len(), 5);
    assert!(hourly.iter().all(|p| p.quantity < 0 && p.annual_rate.0 > 0));
    let owed_now = -engine.pool_position_value(AccountId(2), USDC);
    let borrowed = i128::from(moves[0].amount.0 + moves[0].entry_fee.0) - i128::from(moves[1].amount.0);
    // Debt after the borrow and after the repay as the engine valued them, plus every hour's part.
    let debt_after_borrow = -moves[0].value;
    let debt_after_repay = -moves[1].value;
    let paid_before_repay: i128 = hourly.iter().filter(|p| p.time < moves[1].time).map(|p| -p.quantity).sum();
    let paid_after_repay: i128 = hourly.iter().filter(|p| p.time > moves[1].time).map(|p| -p.quantity).sum();
    assert!(debt_after_borrow >= i128::from(moves[0].amount.0), "{borrowed}");
    assert_eq!(debt_after_repay + paid_after_repay, owed_now, "hours after the repay add up to the debt now");
    assert!(paid_before_repay > 0);

    // The lender earns what its lend grew by.
    let lender = PoolQuery { account: AccountId(1), asset: None, page: all };
    let earned: i128 = store.interest_payments(&lender).await.expect("payments").iter().map(|p| p.quantity).sum();
    let lent_now = engine.pool_position_value(AccountId(1), USDC);
    let lend = &store.pool_movements(&lender).await.expect("movements")[0];
    assert!(earned > 0);
    assert!(lent_now - lend.value >= earned, "the lend grew by at least the hourly earnings (and the entry fee)");

    // Paging takes the newest first when asked.
    let newest = PoolQuery { page: Page { limit: 1, offset: 0, direction: SortDirection::Desc }, ..borrower };
    let page = store.interest_payments(&newest).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].time, hourly.last().expect("hours").time);
}
