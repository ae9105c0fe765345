//! Perpetual futures' history on SQLite and PostgreSQL: funding rates as the engine paid them,
//! settlements that add up to what realization moved into balances, funding payments that sum
//! to zero between longs and shorts, and position lifetimes through a partial close, a flip and
//! a full close.

mod common;

use common::{apply_in_batches, everything, gtc, take};
use rucksack_engine::Engine;
use rucksack_store::{
    Applied, FundingPaymentQuery, FundingRateRecord, HistoryStore, Page, PositionId, PositionQuery, PositionRecord,
    PositionState, SettlementQuery, SettlementSource, SortDirection,
};
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, BTC_USDC_PERP, SOL, SOL_USDC_PERP, USDC};
use rucksack_types::perp::FINE_PER_TICK;
use rucksack_types::{AccountId, Amount, Command, Event, PerpPosition, Seq, Sequenced, Side, Timestamp};

cases!(stored_at_once, stored_command_by_command);

const DEPOSIT: i64 = 100_000_000_000;

struct Scenario {
    engine: Engine,
    stamp: Stamp,
    run: Vec<Applied>,
}

/// The run and what the engine says at its end (the engine itself stays off the async tasks).
struct Outcome {
    run: Vec<Applied>,
    /// Accounts 1..=4's available USDC.
    usdc: [i64; 4],
    /// Accounts 1..=4's positions in SOL-PERP.
    now: [PerpPosition; 4],
    fine_per_quote_unit: i128,
}

impl Scenario {
    fn apply(&mut self, command: Command) {
        let sequenced: Sequenced = self.stamp.next(command);
        let events = self.engine.apply(&sequenced).unwrap_or_else(|r| panic!("{command:?}: {r}")).to_vec();
        if let Err(violation) = self.engine.check() {
            panic!("invariant violated after {command:?}: {violation}");
        }
        self.run.push(Applied { seq: sequenced.seq, time: sequenced.time, events });
    }

    /// Samples the clock at the end of the running funding interval, then realizes.
    fn fund_and_realize(&mut self) {
        let end = self.engine.perp_market(SOL_USDC_PERP).expect("a perp market").interval_end;
        self.stamp.advance(end.0 - self.engine.time().0);
        self.apply(Command::UpdateMarkPrices);
        self.apply(Command::RealizePnl);
    }
}

/// Account 1 buys 10 SOL-PERP from 2 at $150; quotes of 3 and 4 put the mark at $150.75 and a
/// first realization settles PnL and fees. Two funding intervals later, with a realization
/// after each, 1 sells 15 to 3 (a partial close, then a flip), 2 buys 10 back from 4 (closing),
/// and a third interval is funded and realized.
fn scenario() -> Outcome {
    let mut s = Scenario { engine: Engine::new(), stamp: Stamp::default(), run: Vec::new() };
    let mut setup = fixtures::listings();
    setup.extend(fixtures::risk_settings());
    setup.extend(fixtures::perp_listings());
    for account in 1..=4 {
        setup.push(fixtures::deposit(account, USDC, DEPOSIT, account));
    }
    setup.push(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("150") });
    setup.push(Command::UpdateMarkPrices);
    for command in setup {
        s.apply(command);
    }
    s.apply(gtc(1, Side::Bid, 15_000, 1_000));
    s.apply(take(2, Side::Ask, 1_000));
    s.apply(gtc(3, Side::Bid, 15_070, 100));
    s.apply(gtc(4, Side::Ask, 15_080, 100));
    s.stamp.advance(60_000_000);
    s.apply(Command::UpdateMarkPrices);
    s.apply(Command::RealizePnl);
    s.fund_and_realize();
    s.fund_and_realize();
    // Two hours on, SOL's index needs refreshing before orders that add risk.
    s.apply(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("150") });
    s.apply(gtc(3, Side::Bid, 15_000, 1_400));
    s.apply(take(1, Side::Ask, 1_500));
    s.apply(gtc(4, Side::Ask, 15_100, 900));
    s.apply(take(2, Side::Bid, 1_000));
    s.stamp.advance(5_000_000);
    s.apply(Command::UpdateMarkPrices);
    s.apply(Command::RealizePnl);
    s.fund_and_realize();
    let accounts = [1, 2, 3, 4].map(AccountId);
    Outcome {
        usdc: accounts.map(|a| s.engine.balance(a, USDC).available.0),
        now: accounts.map(|a| s.engine.perp_position(a, SOL_USDC_PERP)),
        fine_per_quote_unit: s.engine.perp_market(SOL_USDC_PERP).expect("a perp market").fine_per_quote_unit,
        run: s.run,
    }
}

async fn stored_at_once(store: HistoryStore) {
    let s = scenario();
    store.apply(&s.run).await.expect("stored");
    check(&store, &s).await;
    // Replaying what is stored changes nothing.
    apply_in_batches(&store, &s.run, &[7]).await;
    check(&store, &s).await;
}

async fn stored_command_by_command(store: HistoryStore) {
    let s = scenario();
    // Every fill in its own batch: open positions are loaded from the rows earlier batches wrote.
    apply_in_batches(&store, &s.run, &[1]).await;
    check(&store, &s).await;
    store.clear().await.expect("cleared");
    let page = everything();
    assert!(store.funding_rates(SOL_USDC_PERP, page).await.expect("rates").is_empty());
    for account in (1..=4).map(AccountId) {
        let query = PositionQuery { account, market: None, state: None, page };
        assert!(store.positions(&query).await.expect("positions").is_empty());
        let query = SettlementQuery { account, source: None, page };
        assert!(store.settlements(&query).await.expect("settlements").is_empty());
    }
    apply_in_batches(&store, &s.run, &[5, 2]).await;
    check(&store, &s).await;
}

async fn check(store: &HistoryStore, s: &Outcome) {
    let rates = check_funding_rates(store, s).await;
    check_settlements(store, s).await;
    check_funding_payments(store, s, &rates).await;
    check_positions(store, s).await;
}

fn events(run: &[Applied]) -> impl Iterator<Item = (&Applied, usize, &Event)> {
    run.iter().flat_map(|a| a.events.iter().enumerate().map(move |(i, e)| (a, i, e)))
}

async fn check_funding_rates(store: &HistoryStore, s: &Outcome) -> Vec<FundingRateRecord> {
    let paid: Vec<FundingRateRecord> = events(&s.run)
        .filter_map(|(applied, _, event)| match *event {
            Event::FundingPaid { market, interval_end, rate, mark, per_lot, cumulative } => {
                Some(FundingRateRecord { market, interval_end, rate, mark, per_lot, cumulative, seq: applied.seq })
            }
            _ => None,
        })
        .collect();
    let sol: Vec<_> = paid.iter().filter(|f| f.market == SOL_USDC_PERP).cloned().collect();
    assert_eq!(sol.len(), 3, "three intervals ended");
    let newest_first = Page { limit: 100, offset: 0, direction: SortDirection::Desc };
    let stored = store.funding_rates(SOL_USDC_PERP, newest_first).await.expect("rates");
    assert_eq!(stored, sol.iter().rev().cloned().collect::<Vec<_>>());
    let btc = store.funding_rates(BTC_USDC_PERP, newest_first).await.expect("rates");
    assert_eq!(btc, paid.iter().filter(|f| f.market == BTC_USDC_PERP).rev().cloned().collect::<Vec<_>>());
    let second_newest = Page { limit: 1, offset: 1, direction: SortDirection::Desc };
    assert_eq!(store.funding_rates(SOL_USDC_PERP, second_newest).await.expect("rates"), vec![sol[1].clone()]);

    // The latest funding at or before a command.
    let latest = |seq| store.latest_funding(SOL_USDC_PERP, Seq(seq));
    assert_eq!(latest(sol[0].seq.0 - 1).await.expect("latest"), None);
    assert_eq!(latest(sol[0].seq.0).await.expect("latest"), Some(sol[0].clone()));
    assert_eq!(latest(sol[1].seq.0 - 1).await.expect("latest"), Some(sol[0].clone()));
    assert_eq!(latest(u64::MAX).await.expect("latest"), sol.last().cloned());
    sol
}

/// Each realization's parts as the test reads them: trading PnL, fees and funding, non-zero.
async fn check_settlements(store: &HistoryStore, s: &Outcome) {
    let mut realizations = 0;
    for account in (1..=4).map(AccountId) {
        let mut expected = Vec::new();
        for (applied, index, event) in events(&s.run) {
            let Event::PnlRealized { account: a, market, realized, fees, funding, .. } = *event else { continue };
            if a != account {
                continue;
            }
            realizations += 1;
            let pnl = realized.0 - fees.0 - funding.0;
            // Sorted by source name within a realization.
            for (source, quantity) in [
                (SettlementSource::FundingPayment, funding.0),
                (SettlementSource::RealizePnl, pnl),
                (SettlementSource::TradingFees, fees.0),
            ] {
                if quantity != 0 {
                    expected.push((applied.seq, index as u64, market, source, quantity, applied.time));
                }
            }
        }
        let all = SettlementQuery { account, source: None, page: everything() };
        let stored = store.settlements(&all).await.expect("settlements");
        let got: Vec<_> =
            stored.iter().map(|r| (r.seq, r.position, r.market, r.source, r.quantity.0, r.time)).collect();
        assert_eq!(got, expected, "{account:?}");
        assert!(stored.iter().all(|r| r.account == account));
        // No other money moved: the settlements are the account's whole balance change.
        let settled: i64 = stored.iter().map(|r| r.quantity.0).sum();
        assert_eq!(DEPOSIT + settled, s.usdc[account.0 as usize - 1], "{account:?}");
        for source in SettlementSource::ALL {
            let query = SettlementQuery { account, source: Some(source), page: everything() };
            let want: Vec<_> = stored.iter().filter(|r| r.source == source).cloned().collect();
            assert_eq!(store.settlements(&query).await.expect("settlements"), want);
        }
        let newest = SettlementQuery {
            account,
            source: None,
            page: Page { limit: 2, offset: 1, direction: SortDirection::Desc },
        };
        let want: Vec<_> = stored.iter().rev().skip(1).take(2).cloned().collect();
        assert_eq!(store.settlements(&newest).await.expect("settlements"), want);
    }
    assert!(realizations >= 12, "every account realized ({realizations})");
    let sources = |account| async move {
        let query = SettlementQuery { account: AccountId(account), source: None, page: everything() };
        store.settlements(&query).await.expect("settlements").iter().map(|r| r.source).collect::<Vec<_>>()
    };
    let long = sources(1).await;
    for source in SettlementSource::ALL {
        assert!(long.contains(&source), "the long settled {source:?}");
    }
    let stranger = SettlementQuery { account: AccountId(u64::MAX), source: None, page: everything() };
    assert!(store.settlements(&stranger).await.expect("settlements").is_empty());
}

async fn check_funding_payments(store: &HistoryStore, s: &Outcome, rates: &[FundingRateRecord]) {
    let fine = s.fine_per_quote_unit;
    let mut all = Vec::new();
    for account in (1..=4).map(AccountId) {
        let query = FundingPaymentQuery { account, market: Some(SOL_USDC_PERP), page: everything() };
        let payments = store.funding_payments(&query).await.expect("payments");
        let settled = SettlementQuery { account, source: Some(SettlementSource::FundingPayment), page: everything() };
        let settled = store.settlements(&settled).await.expect("settlements");
        let got: Vec<_> = payments.iter().map(|p| (p.seq, p.position, p.market, p.quantity, p.time)).collect();
        let want: Vec<_> = settled.iter().map(|r| (r.seq, r.position, r.market, r.quantity, r.time)).collect();
        assert_eq!(got, want, "{account:?}: one payment per funding settlement");
        for payment in &payments {
            let rate = rates.iter().rfind(|r| r.seq <= payment.seq).expect("a funding before every payment");
            assert_eq!((payment.rate, payment.interval_end), (Some(rate.rate), Some(rate.interval_end)));
            assert_eq!(payment.account, account);
        }
        let newest = FundingPaymentQuery {
            account,
            market: None,
            page: Page { limit: 1, offset: 0, direction: SortDirection::Desc },
        };
        assert_eq!(
            store.funding_payments(&newest).await.expect("payments"),
            payments.last().cloned().into_iter().collect::<Vec<_>>()
        );
        let elsewhere = FundingPaymentQuery { account, market: Some(BTC_USDC_PERP), page: everything() };
        assert!(store.funding_payments(&elsewhere).await.expect("payments").is_empty());
        all.extend(payments);
    }
    // Realized right after each interval: each payment is the interval's funding of the
    // account's lots exactly, longs paying and shorts receiving; together they sum to zero.
    let lots = |account: u64, interval: usize| match (account, interval) {
        (1, 0..=1) => 1_000,
        (2, 0..=1) => -1_000,
        (1, 2) => -500,
        (3, 2) => 1_500,
        (4, 2) => -1_000,
        _ => 0,
    };
    for (interval, rate) in rates.iter().enumerate() {
        let paid: Vec<_> = all.iter().filter(|p| p.interval_end == Some(rate.interval_end)).collect();
        assert!(paid.len() >= 2, "a long and a short settled interval {interval}");
        assert_eq!(paid.iter().map(|p| p.quantity.0).sum::<i64>(), 0, "interval {interval} sums to zero");
        for payment in paid {
            let owed = rate.per_lot * i128::from(lots(payment.account.0, interval));
            assert_eq!(owed % fine, 0, "whole quote units");
            assert_eq!(i128::from(payment.quantity.0), -owed / fine, "{:?} in interval {interval}", payment.account);
        }
    }
    assert!(rates.iter().all(|r| r.rate.0 > 0), "longs paid");
}

async fn check_positions(store: &HistoryStore, s: &Outcome) {
    // Each account's fills in order: (seq, event index, time, fee).
    let fills = |account: u64| -> Vec<(Seq, u64, Timestamp, Amount)> {
        events(&s.run)
            .filter_map(|(applied, index, event)| match *event {
                Event::PositionChanged { account: a, fee, .. } if a == AccountId(account) => {
                    Some((applied.seq, index as u64, applied.time, fee))
                }
                _ => None,
            })
            .collect()
    };
    let id = |(seq, position, _, _): (Seq, u64, Timestamp, Amount)| PositionId { seq, position };
    let f = FINE_PER_TICK;
    let market = SOL_USDC_PERP;

    // The long: opened, partly closed at $150.70, flipped at $150.00 (900 of its 1,400 lots
    // closing), its short still open.
    let one = fills(1);
    assert_eq!(one.len(), 3);
    let flip_fee = one[2].3.0;
    let closing = flip_fee * 900 / 1_400;
    let closed = PositionRecord {
        id: id(one[0]),
        account: AccountId(1),
        market,
        size: 900,
        entry_value: 900 * 15_000 * f,
        realized_pnl: 100 * 70 * f,
        fees: Amount(one[0].3.0 + one[1].3.0 + closing),
        closed_volume: 1_000,
        liquidated: 0,
        liquidation_fees: Amount::ZERO,
        opened_at: one[0].2,
        closed_at: Some(one[2].2),
    };
    let short = PositionRecord {
        id: id(one[2]),
        account: AccountId(1),
        market,
        size: -500,
        entry_value: -500 * 15_000 * f,
        realized_pnl: 0,
        fees: Amount(flip_fee - closing),
        closed_volume: 0,
        liquidated: 0,
        liquidation_fees: Amount::ZERO,
        opened_at: one[2].2,
        closed_at: None,
    };
    assert!(flip_fee > 0 && closing > 0 && flip_fee - closing > 0);
    // The short: bought back at $150.80 and $151.00 against its entry at $150.00.
    let two = fills(2);
    let bought_back = PositionRecord {
        id: id(two[0]),
        account: AccountId(2),
        market,
        size: -900,
        entry_value: -900 * 15_000 * f,
        realized_pnl: -(100 * 80 + 900 * 100) * f,
        fees: Amount(two.iter().map(|fill| fill.3.0).sum()),
        closed_volume: 1_000,
        liquidated: 0,
        liquidation_fees: Amount::ZERO,
        opened_at: two[0].2,
        closed_at: Some(two[2].2),
    };
    let three = fills(3);
    let four = fills(4);
    let grown = |fills: &[(Seq, u64, Timestamp, Amount)], account, size, entry_value| PositionRecord {
        id: id(fills[0]),
        account: AccountId(account),
        market,
        size,
        entry_value,
        realized_pnl: 0,
        fees: Amount(fills.iter().map(|fill| fill.3.0).sum()),
        closed_volume: 0,
        liquidated: 0,
        liquidation_fees: Amount::ZERO,
        opened_at: fills[0].2,
        closed_at: None,
    };
    let expected = [
        (1, vec![closed.clone(), short.clone()]),
        (2, vec![bought_back]),
        (3, vec![grown(&three, 3, 1_500, (100 * 15_070 + 1_400 * 15_000) * f)]),
        (4, vec![grown(&four, 4, -1_000, -(100 * 15_080 + 900 * 15_100) * f)]),
    ];
    for (account, want) in expected {
        let query = PositionQuery { account: AccountId(account), market: None, state: None, page: everything() };
        let got = store.positions(&query).await.expect("positions");
        assert_eq!(got, want, "account {account}");
        // Open rows are the engine's positions now.
        for open in got.iter().filter(|p| p.state() == PositionState::Open) {
            let now = s.now[account as usize - 1];
            assert_eq!((open.size, open.entry_value), (now.size, now.entry_value));
        }
    }
    assert!(s.now[1].is_flat());

    let of = |state, direction| PositionQuery {
        account: AccountId(1),
        market: Some(market),
        state,
        page: Page { limit: 10, offset: 0, direction },
    };
    let positions = |query| async move { store.positions(&query).await.expect("positions") };
    assert_eq!(positions(of(Some(PositionState::Open), SortDirection::Asc)).await, vec![short.clone()]);
    assert_eq!(positions(of(Some(PositionState::Closed), SortDirection::Asc)).await, vec![closed.clone()]);
    assert_eq!(positions(of(None, SortDirection::Desc)).await, vec![short, closed]);
    let elsewhere = PositionQuery { market: Some(BTC_USDC_PERP), ..of(None, SortDirection::Asc) };
    assert!(positions(elsewhere).await.is_empty());
}
