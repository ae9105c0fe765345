//! Liquidations in the history, on SQLite and PostgreSQL, from real engine runs: the exchange's
//! orders and their fills carry their system order type, backstop and ADL transfers are fills
//! of both accounts at their exact price, the insurance fund keeps every change, and replaying
//! a run stores nothing twice.
//!
//! The trader (account 5) deposits 200 USDC and buys 10 SOL-perp (1,000 lots) at $143 from
//! account 2, seven times leveraged; at a SOL index of about $124.3 it is liquidated.

mod common;

use std::collections::BTreeSet;

use common::{apply_in_batches, everything, gtc, take};
use rucksack_engine::Engine;
use rucksack_store::{
    Applied, Fill, FillQuery, FillSource, HistoryStore, InsuranceQuery, InsuranceRecord, OrderQuery, OrderRecord, Page,
    PositionQuery, PositionTransferRecord, SortDirection,
};
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC, SOL_USDC_PERP, USDC};
use rucksack_types::perp::FINE_PER_TICK;
use rucksack_types::{
    AccountId, Amount, AssetId, CancelScope, Command, Event, InsuranceReason, Lots, OrderId, Side, SystemOrderType,
};

cases!(on_book_steps_are_system_orders, backstop_transfers_are_fills_of_both_accounts, deficits_and_the_fund, replays);

const TRADER: u64 = 5;
const BOOK: SystemOrderType = SystemOrderType::LiquidatePositionOnBook;
const BACKSTOP: SystemOrderType = SystemOrderType::LiquidatePositionOnBackstop;
const ADL: SystemOrderType = SystemOrderType::LiquidatePositionOnAdl;
const EVERY_KIND: &[SystemOrderType] = &[SystemOrderType::CollateralConversion, BOOK, BACKSTOP, ADL];

/// An engine run, recorded as the store is fed.
struct Scenario {
    engine: Engine,
    stamp: Stamp,
    run: Vec<Applied>,
}

impl Scenario {
    /// The standard venue with its perpetuals and risk settings (SOL $143), accounts 1..=4
    /// holding 1,000 SOL and 100,000 USDC each, and the trader long 1,000 lots bought from
    /// `seller`.
    fn leveraged_long(seller: u64) -> Scenario {
        let mut s = Scenario { engine: Engine::new(), stamp: Stamp::default(), run: Vec::new() };
        let mut setup = fixtures::listings();
        for account in 1..=4 {
            setup.push(fixtures::deposit(account, SOL, 1_000_000_000_000, account * 2));
            setup.push(fixtures::deposit(account, USDC, 100_000_000_000, account * 2 + 1));
        }
        setup.extend(fixtures::risk_settings());
        setup.extend(fixtures::perp_listings());
        setup.push(Command::UpdateMarkPrices);
        setup.push(fixtures::deposit(TRADER, USDC, 200_000_000, 100));
        for command in setup {
            s.apply(command);
        }
        s.apply(gtc(seller, Side::Ask, 14_300, 1_000));
        s.apply(take(TRADER, Side::Bid, 1_000));
        s
    }

    fn apply(&mut self, command: Command) -> Vec<Event> {
        let sequenced = self.stamp.next(command);
        let events = self.engine.apply(&sequenced).unwrap_or_else(|r| panic!("{command:?}: {r}")).to_vec();
        if let Err(violation) = self.engine.check() {
            panic!("invariant violated after {command:?}: {violation}");
        }
        self.run.push(Applied { seq: sequenced.seq, time: sequenced.time, events: events.clone() });
        events
    }

    /// Accounts 3 and 4 quote `lots` at `bid` and `ask` ticks.
    fn quote(&mut self, bid: i64, ask: i64, lots: i64) {
        for account in [3, 4] {
            let cancel =
                Command::CancelAll { account: AccountId(account), market: SOL_USDC_PERP, scope: CancelScope::All };
            self.apply(cancel);
        }
        self.apply(gtc(3, Side::Bid, bid, lots));
        self.apply(gtc(4, Side::Ask, ask, lots));
    }

    fn move_sol(&mut self, price: &str) {
        self.apply(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price(price) });
        self.apply(Command::UpdateMarkPrices);
    }

    /// Sweeps until the trader is out of liquidation.
    fn liquidate(&mut self) {
        self.apply(Command::Liquidate);
        for _ in 0..20 {
            if !self.engine.is_liquidating(AccountId(TRADER)) {
                return;
            }
            self.apply(Command::Liquidate);
        }
        panic!("liquidation does not converge");
    }
}

fn events(run: &[Applied]) -> impl Iterator<Item = (&Applied, usize, &Event)> {
    run.iter().flat_map(|a| a.events.iter().enumerate().map(move |(i, e)| (a, i, e)))
}

fn query(account: u64) -> FillQuery {
    FillQuery { account: AccountId(account), market: None, order: None, from: None, to: None, page: everything() }
}

async fn history(store: &HistoryStore, query: &FillQuery, source: FillSource) -> Vec<Fill> {
    store.fill_history(query, source).await.expect("fill history")
}

/// Both sides of every transfer, folded from the events.
fn transfers_of(run: &[Applied], account: u64) -> Vec<PositionTransferRecord> {
    let mut sides = Vec::new();
    for (applied, position, event) in events(run) {
        let Event::PositionTransferred(t) = *event else { continue };
        let from_side = if t.lots < 0 { Side::Ask } else { Side::Bid };
        for (owner, counterparty, side) in [(t.from, t.to, from_side), (t.to, t.from, from_side.opposite())] {
            if owner == AccountId(account) {
                sides.push(PositionTransferRecord {
                    trade: t.trade,
                    seq: applied.seq,
                    position: position as u64,
                    kind: t.kind,
                    account: owner,
                    counterparty,
                    market: t.market,
                    side,
                    quantity: Lots(t.lots.abs()),
                    price: t.price,
                    time: applied.time,
                });
            }
        }
    }
    sides
}

fn insurance_of(run: &[Applied]) -> Vec<InsuranceRecord> {
    events(run)
        .filter_map(|(applied, position, event)| match *event {
            Event::InsuranceFundChanged(c) => Some(InsuranceRecord {
                seq: applied.seq,
                position: position as u64,
                asset: c.asset,
                account: c.account,
                reason: c.reason,
                change: c.change,
                balance: c.balance,
                time: applied.time,
            }),
            _ => None,
        })
        .collect()
}

async fn every_change(store: &HistoryStore, asset: Option<AssetId>) -> Vec<InsuranceRecord> {
    store.insurance_history(&InsuranceQuery { asset, page: everything() }).await.expect("insurance history")
}

/// (closed, liquidated, liquidation fees) of each of the account's lifetimes, oldest first.
async fn closed_and_liquidated(store: &HistoryStore, account: u64) -> Vec<(i64, i64, Amount)> {
    let query = PositionQuery { account: AccountId(account), market: None, state: None, page: everything() };
    let positions = store.positions(&query).await.expect("positions");
    positions.iter().map(|p| (p.closed_volume, p.liquidated, p.liquidation_fees)).collect()
}

fn trades(fills: &[Fill]) -> Vec<&rucksack_store::FillRecord> {
    fills.iter().filter_map(|f| if let Fill::Trade(t) = f { Some(t) } else { None }).collect()
}

/// Quotes around the new price let the trader's position go through the book in steps, each an
/// order of the exchange's: the orders and their fills say so, and their counterparties' fills
/// stay the users' own.
async fn on_book_steps_are_system_orders(store: HistoryStore) {
    let mut s = Scenario::leveraged_long(2);
    s.quote(12_420, 12_440, 10_000);
    s.move_sol("124.3");
    s.liquidate();
    store.apply(&s.run).await.expect("stored");

    let system: BTreeSet<OrderId> = events(&s.run)
        .filter_map(|(_, _, e)| match e {
            Event::SystemOrderPlaced(o) if o.account == AccountId(TRADER) => Some(o.order),
            _ => None,
        })
        .collect();
    assert!(system.len() >= 2, "several on-book steps ({system:?})");
    let orders: Vec<OrderRecord> = store
        .orders(&OrderQuery { account: AccountId(TRADER), market: None, order: None, page: everything() })
        .await
        .expect("orders");
    for order in &orders {
        let want = system.contains(&order.id).then_some(BOOK);
        assert_eq!(order.system_order_type, want, "{order:?}");
    }
    assert_eq!(orders.iter().filter(|o| o.system_order_type.is_some()).count(), system.len());

    let all = history(&store, &query(TRADER), FillSource::All).await;
    let fills = trades(&all);
    assert_eq!(fills.len(), all.len(), "no transfers");
    let (book, own): (Vec<&&rucksack_store::FillRecord>, Vec<_>) =
        fills.iter().partition(|f| system.contains(&f.order));
    let sold: i64 = book.iter().map(|f| f.quantity.0).sum();
    assert!(book.iter().all(|f| f.system_order_type == Some(BOOK) && f.side == Side::Ask && !f.is_maker));
    assert_eq!(own.len(), 1, "the trader's own buy");
    assert_eq!(own[0].system_order_type, None);
    let listed = |fills: Vec<&&rucksack_store::FillRecord>| -> Vec<Fill> {
        fills.into_iter().map(|f| Fill::Trade((*f).clone())).collect()
    };
    assert_eq!(history(&store, &query(TRADER), FillSource::System(&[BOOK])).await, listed(book));
    assert_eq!(history(&store, &query(TRADER), FillSource::User).await, listed(own));
    assert!(history(&store, &query(TRADER), FillSource::System(&[BACKSTOP, ADL])).await.is_empty());
    assert!(history(&store, &query(TRADER), FillSource::System(&[])).await.is_empty());
    // The book listing holds the same trades.
    let on_book = store.fills(&query(TRADER)).await.expect("fills");
    assert_eq!(on_book.iter().map(|f| Fill::Trade(f.clone())).collect::<Vec<_>>(), all);

    // Account 3's bid took the exchange's sells: its fills are its own order's.
    let maker = history(&store, &query(3), FillSource::All).await;
    assert!(!maker.is_empty());
    assert!(trades(&maker).iter().all(|f| f.system_order_type.is_none() && f.is_maker));
    assert!(history(&store, &query(3), FillSource::System(EVERY_KIND)).await.is_empty());

    // Each step's liquidation fee went to the fund.
    let fees = every_change(&store, Some(USDC)).await;
    assert_eq!(fees, insurance_of(&s.run));
    assert!(fees.iter().all(|c| c.reason == InsuranceReason::LiquidationFee && c.account == AccountId(TRADER)));
    assert!(fees.len() >= 2 && fees.iter().all(|c| c.change.is_positive()));
    assert_eq!(fees.last().map(|c| c.balance), Some(s.engine.insurance_fund(USDC)));

    // The position's row: every lot the steps sold was liquidated, and their fees are its own.
    let paid = Amount(fees.iter().map(|c| c.change.0).sum());
    assert_eq!(closed_and_liquidated(&store, TRADER).await, [(sold, sold, paid)]);
    assert!(sold > 0 && sold < 1_000, "steps, not all of it");
    // The seller's short is not liquidated: it did not change.
    assert_eq!(closed_and_liquidated(&store, 2).await, [(0, 0, Amount::ZERO)]);
}

/// With nobody bidding, two backstop providers take the position pro rata to capacity: each
/// transfer is a fill of both accounts, at the transfer's exact price.
async fn backstop_transfers_are_fills_of_both_accounts(store: HistoryStore) {
    let mut s = Scenario::leveraged_long(2);
    for (account, capacity) in [(3, 1_000_000_000), (4, 500_000_000)] {
        s.apply(Command::SetBackstopProvider { account: AccountId(account), capacity: Amount(capacity) });
    }
    // Half a tick: the price is kept exactly, not rounded to the market's tick.
    s.move_sol("124.305");
    s.liquidate();
    apply_in_batches(&store, &s.run, &[3]).await;

    let transfers = transfers_of(&s.run, TRADER);
    let taken: Vec<_> = transfers.iter().map(|t| (t.counterparty, t.side, t.quantity, t.kind)).collect();
    let (three, four) = (AccountId(3), AccountId(4));
    assert_eq!(taken, [(three, Side::Ask, Lots(667), BACKSTOP), (four, Side::Ask, Lots(333), BACKSTOP)]);
    assert_ne!(transfers[0].price.0 % FINE_PER_TICK, 0, "{:?}", transfers[0].price);

    let all = history(&store, &query(TRADER), FillSource::All).await;
    let bought = trades(&all);
    assert_eq!(bought.len(), 1);
    let mut want = vec![Fill::Trade(bought[0].clone())];
    want.extend(transfers.iter().cloned().map(Fill::Transfer));
    assert_eq!(all, want, "the buy, then the transfers in event order");
    let backstopped: Vec<Fill> = transfers.iter().cloned().map(Fill::Transfer).collect();
    assert_eq!(history(&store, &query(TRADER), FillSource::System(&[BACKSTOP])).await, backstopped);
    assert_eq!(history(&store, &query(TRADER), FillSource::System(EVERY_KIND)).await, backstopped);
    assert!(history(&store, &query(TRADER), FillSource::System(&[ADL, BOOK])).await.is_empty());
    assert_eq!(history(&store, &query(TRADER), FillSource::User).await, want[..1]);

    // The providers' side: bought, from the trader.
    for (provider, lots) in [(3, 667), (4, 333)] {
        let got = history(&store, &query(provider), FillSource::All).await;
        let theirs = transfers_of(&s.run, provider);
        assert_eq!(got, theirs.iter().cloned().map(Fill::Transfer).collect::<Vec<_>>());
        assert_eq!((theirs[0].side, theirs[0].quantity, theirs[0].counterparty), (Side::Bid, Lots(lots), AccountId(5)));
        assert!(history(&store, &query(provider), FillSource::User).await.is_empty());
    }

    // Filters and pages apply to transfers as to trades.
    let second = Page { limit: 1, offset: 1, direction: SortDirection::Asc };
    assert_eq!(history(&store, &FillQuery { page: second, ..query(TRADER) }, FillSource::All).await, want[1..2]);
    let newest = Page { limit: 2, offset: 0, direction: SortDirection::Desc };
    let got = history(&store, &FillQuery { page: newest, ..query(TRADER) }, FillSource::All).await;
    assert_eq!(got, [want[2].clone(), want[1].clone()]);
    let in_perp = FillQuery { market: Some(SOL_USDC_PERP), ..query(TRADER) };
    assert_eq!(history(&store, &in_perp, FillSource::All).await, want);
    let in_spot = FillQuery { market: Some(SOL_USDC), ..query(TRADER) };
    assert!(history(&store, &in_spot, FillSource::All).await.is_empty());
    let of_the_buy = FillQuery { order: Some(bought[0].order), ..query(TRADER) };
    assert_eq!(history(&store, &of_the_buy, FillSource::All).await, want[..1], "a transfer has no order");
    let from_then = FillQuery { from: Some(transfers[0].time), ..query(TRADER) };
    assert_eq!(history(&store, &from_then, FillSource::All).await, want[1..]);
    let until_before = FillQuery { to: Some(rucksack_types::Timestamp(transfers[0].time.0 - 1)), ..query(TRADER) };
    assert_eq!(history(&store, &until_before, FillSource::All).await, want[..1]);

    let changes = every_change(&store, None).await;
    assert_eq!(changes, insurance_of(&s.run));
    assert!(changes.iter().any(|c| c.reason == InsuranceReason::BackstopShare && c.account == AccountId(TRADER)));

    // The trader's position went, all of it liquidated; the providers' new longs closed nothing.
    let [(closed, liquidated, _)] = closed_and_liquidated(&store, TRADER).await[..] else { panic!("one lifetime") };
    assert_eq!((closed, liquidated), (1_000, 1_000));
    for provider in [3, 4] {
        assert_eq!(closed_and_liquidated(&store, provider).await, [(0, 0, Amount::ZERO)]);
    }
}

/// Account 6 (short 500 lots, highly leveraged) and account 2 (short 1,000) gain as SOL gaps to
/// $110; account 7 is long 500 with plenty. The trader then owes more than it holds.
fn two_shorts_and_a_gap() -> Scenario {
    let mut s = Scenario::leveraged_long(2);
    s.apply(fixtures::deposit(6, USDC, 100_000_000, 200));
    s.apply(fixtures::deposit(7, USDC, 10_000_000_000, 201));
    s.apply(gtc(6, Side::Ask, 14_300, 500));
    s.apply(take(7, Side::Bid, 500));
    s.apply(Command::FundInsurance { account: AccountId(1), asset: USDC, amount: Amount(1_000_000_000) });
    s.move_sol("110");
    s.liquidate();
    s
}

/// The fund, seeded by an operator, covers the deficit the positions leave once they are
/// deleveraged onto the shorts; every change is kept with the balance after it.
async fn deficits_and_the_fund(store: HistoryStore) {
    let s = two_shorts_and_a_gap();
    store.apply(&s.run).await.expect("stored");

    let taken: Vec<_> = transfers_of(&s.run, TRADER).iter().map(|t| (t.kind, t.counterparty, t.quantity)).collect();
    assert_eq!(taken, [(ADL, AccountId(6), Lots(500)), (ADL, AccountId(2), Lots(500))]);
    for account in [6, 2] {
        let adl = history(&store, &query(account), FillSource::System(&[ADL])).await;
        assert_eq!(adl, transfers_of(&s.run, account).into_iter().map(Fill::Transfer).collect::<Vec<_>>());
        assert!(matches!(&adl[..], [Fill::Transfer(t)] if t.side == Side::Bid && t.quantity == Lots(500)));
    }

    // The trader's lots were liquidated; the shorts that took them were reduced, not liquidated.
    let [(closed, liquidated, _)] = closed_and_liquidated(&store, TRADER).await[..] else { panic!("one lifetime") };
    assert_eq!((closed, liquidated), (1_000, 1_000));
    for account in [6, 2] {
        assert_eq!(closed_and_liquidated(&store, account).await, [(500, 0, Amount::ZERO)], "account {account}");
    }

    let changes = every_change(&store, Some(USDC)).await;
    assert_eq!(changes, insurance_of(&s.run));
    let contribution = &changes[0];
    let seeded = (contribution.reason, contribution.account, contribution.change, contribution.balance);
    assert_eq!(seeded, (InsuranceReason::Contribution, AccountId(1), Amount(1_000_000_000), Amount(1_000_000_000)));
    let covered = changes.iter().find(|c| c.reason == InsuranceReason::DeficitCovered).expect("the fund paid");
    assert!(covered.change.0 < 0 && covered.account == AccountId(TRADER));
    // Each balance is the one before plus the change.
    for pair in changes.windows(2) {
        assert_eq!(pair[1].balance.0, pair[0].balance.0 + pair[1].change.0);
    }
    assert_eq!(changes.last().map(|c| c.balance), Some(s.engine.insurance_fund(USDC)));
    assert!(every_change(&store, Some(SOL)).await.is_empty());
    let newest = InsuranceQuery { asset: None, page: Page { limit: 1, offset: 0, direction: SortDirection::Desc } };
    assert_eq!(store.insurance_history(&newest).await.expect("insurance"), changes[changes.len() - 1..]);
    let second =
        InsuranceQuery { asset: Some(USDC), page: Page { limit: 1, offset: 1, direction: SortDirection::Asc } };
    assert_eq!(store.insurance_history(&second).await.expect("insurance"), changes[1..2]);
}

/// What the store holds about the liquidation run, for accounts 1..=7.
async fn liquidation_dump(store: &HistoryStore) -> (Vec<OrderRecord>, Vec<Fill>, Vec<InsuranceRecord>) {
    let (mut orders, mut fills) = (Vec::new(), Vec::new());
    for account in 1..=7 {
        let query = OrderQuery { account: AccountId(account), market: None, order: None, page: everything() };
        orders.extend(store.orders(&query).await.expect("orders"));
        fills.extend(history(store, &self::query(account), FillSource::All).await);
    }
    (orders, fills, every_change(store, None).await)
}

/// Fed again and again, in overlapping batches, the store holds each row once; fed command by
/// command, it holds what it holds when fed at once.
async fn replays(store: HistoryStore) {
    let mut s = two_shorts_and_a_gap();
    // A backstop and an on-book liquidation follow on the same store.
    s.apply(Command::SetBackstopProvider { account: AccountId(3), capacity: Amount(10_000_000_000) });
    s.apply(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("110") });
    s.apply(fixtures::deposit(TRADER, USDC, 200_000_000, 300));
    s.apply(gtc(4, Side::Ask, 11_000, 1_000));
    s.apply(take(TRADER, Side::Bid, 1_000));
    s.move_sol("91");
    s.liquidate();
    assert!(events(&s.run).any(|(_, _, e)| matches!(e, Event::PositionTransferred(t) if t.kind == BACKSTOP)));

    store.apply(&s.run).await.expect("stored");
    let once = liquidation_dump(&store).await;
    assert!(once.1.iter().any(|f| matches!(f, Fill::Transfer(t) if t.kind == ADL)));
    assert!(once.1.iter().any(|f| matches!(f, Fill::Transfer(t) if t.kind == BACKSTOP)));
    store.apply(&s.run).await.expect("stored again");
    apply_in_batches(&store, &s.run, &[4, 9, 1]).await;
    let tail = &s.run[s.run.len() - 6..];
    store.apply(tail).await.expect("the tail again");
    assert_eq!(liquidation_dump(&store).await, once);

    store.clear().await.expect("cleared");
    assert_eq!(liquidation_dump(&store).await, (vec![], vec![], vec![]));
    apply_in_batches(&store, &s.run, &[1]).await;
    assert_eq!(liquidation_dump(&store).await, once);
}
