//! A recorded engine run, stored and read back: every listing equals the fold of the same events
//! computed here, on SQLite and PostgreSQL alike.

mod common;

use common::{ACCOUNTS, Expected, MARKETS, apply_in_batches, dump, expected_dump, recorded_run};
use rucksack_store::{
    CandleInterval, FillQuery, HistoryStore, OrderQuery, Page, SortDirection, TransferKind, TransferQuery,
};
use rucksack_types::{AccountId, Event, OrderStatus, Timestamp};

cases!(
    a_run_is_stored_as_the_fold_of_its_events,
    candles_are_whole_and_sum_to_the_trades,
    pages_and_filters_select_rows
);

async fn a_run_is_stored_as_the_fold_of_its_events(store: HistoryStore) {
    let run = recorded_run(11, 3_000);
    let expected = Expected::of(&run);
    assert!(expected.trades.len() > 300, "the run must trade ({})", expected.trades.len());
    assert!(expected.orders.values().any(|o| o.status.is_open()), "some orders must stay open");
    let partly = expected.orders.values().filter(|o| o.status == OrderStatus::PartiallyFilled).count();
    assert!(partly > 0, "some orders must stay open partly filled");
    assert!(expected.orders.values().any(|o| o.expiry_reason.is_some()), "some orders must expire");
    assert!(expected.transfers.iter().any(|t| t.kind == TransferKind::Withdrawal));
    // Batches of every size, so orders rest in one batch and fill or close in a later one; open
    // orders are current after every batch.
    let mut stored_up_to = 0;
    for size in [1, 2, 7, 50, 333, 120, 1_000, usize::MAX] {
        let end = stored_up_to + size.min(run.len() - stored_up_to);
        store.apply(&run[stored_up_to..end]).await.unwrap();
        stored_up_to = end;
        assert_eq!(dump(&store).await.orders, expected_dump(&Expected::of(&run[..end])).orders, "after {end}");
    }
    assert_eq!(store.last_seq().await.unwrap(), run.last().unwrap().seq);

    let stored = dump(&store).await;
    let wanted = expected_dump(&expected);
    assert_eq!(stored.orders.len(), expected.orders.len(), "every accepted order has a row");
    for (got, want) in stored.orders.iter().zip(&wanted.orders) {
        assert_eq!(got, want);
    }
    let trades = run.iter().flat_map(|c| &c.events).filter(|e| matches!(e, Event::Trade(_))).count();
    assert_eq!(stored.fills.len(), 2 * trades, "two fills per trade");
    assert_eq!(stored.trades.len(), trades);
    assert_eq!(stored, wanted);
}

async fn candles_are_whole_and_sum_to_the_trades(store: HistoryStore) {
    let run = recorded_run(12, 2_500);
    let expected = Expected::of(&run);
    apply_in_batches(&store, &run, &[400]).await;
    let first = run[0].time.0 / 1_000_000;
    let last = run.last().unwrap().time.0 / 1_000_000;
    for market in MARKETS {
        let trades = expected.trades_of(market);
        let volume: i64 = trades.iter().map(|t| t.quantity.0).sum();
        let quote: i64 = trades.iter().map(|t| t.quote.0).sum();
        for interval in CandleInterval::ALL {
            let all = store.candles(market, interval, 0, None).await.unwrap();
            assert_eq!(all, expected.candles(market, interval, 0, None), "{interval}");
            assert_eq!(all.iter().map(|c| c.trades).sum::<u64>(), trades.len() as u64, "{interval}");
            assert_eq!(all.iter().map(|c| c.volume.0).sum::<i64>(), volume, "{interval}");
            assert_eq!(all.iter().map(|c| c.quote_volume.0).sum::<i64>(), quote, "{interval}");
            assert!(all.windows(2).all(|w| w[0].end_secs <= w[1].start_secs), "{interval} ascending");
            // Ranges that cut buckets: only candles starting inside are returned, whole.
            for (start, end) in [
                (first + 97, Some(first + (last - first) / 2 + 13)),
                (first + (last - first) / 3 + 1, None),
                (first + 61, Some(first + 62)),
            ] {
                let got = store.candles(market, interval, start, end).await.unwrap();
                assert_eq!(got, expected.candles(market, interval, start, end), "{interval} [{start}, {end:?})");
                assert!(got.iter().all(|c| c.start_secs >= start && end.is_none_or(|e| c.start_secs < e)));
            }
        }
        assert!(store.candles(market, CandleInterval::Hour1, 100, Some(100)).await.unwrap().is_empty());
    }
}

/// The page of `rows` (sorted ascending) that a query should return.
fn window<T: Clone>(rows: &[T], limit: usize, offset: usize, direction: SortDirection) -> Vec<T> {
    let mut rows = rows.to_vec();
    if direction == SortDirection::Desc {
        rows.reverse();
    }
    rows.into_iter().skip(offset).take(limit).collect()
}

async fn pages_and_filters_select_rows(store: HistoryStore) {
    let run = recorded_run(13, 2_000);
    let expected = Expected::of(&run);
    apply_in_batches(&store, &run, &[250]).await;
    let page = |limit, offset, direction| Page { limit, offset, direction };
    let pages = [(5, 0), (5, 3), (17, 40), (1_000, 0), (3, 100_000), (0, 0)];
    for account in (1..=ACCOUNTS).map(AccountId) {
        let orders = expected.orders_of(account);
        let fills = expected.fills_of(account);
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            for (limit, offset) in pages {
                let p = page(limit, offset, direction);
                let got = store.orders(&OrderQuery { account, market: None, order: None, page: p }).await.unwrap();
                assert_eq!(got, window(&orders, limit as usize, offset as usize, direction));
                let query = FillQuery { account, market: None, order: None, from: None, to: None, page: p };
                assert_eq!(
                    store.fills(&query).await.unwrap(),
                    window(&fills, limit as usize, offset as usize, direction)
                );
            }
        }
        let all = common::everything();
        for market in MARKETS {
            let want: Vec<_> = orders.iter().filter(|o| o.market == market).cloned().collect();
            let query = OrderQuery { account, market: Some(market), order: None, page: all };
            assert_eq!(store.orders(&query).await.unwrap(), want);
            let want: Vec<_> = fills.iter().filter(|f| f.market == market).cloned().collect();
            let query = FillQuery { account, market: Some(market), order: None, from: None, to: None, page: all };
            assert_eq!(store.fills(&query).await.unwrap(), want);
        }
        if let Some(fill) = fills.get(fills.len() / 2) {
            let want: Vec<_> = orders.iter().filter(|o| o.id == fill.order).cloned().collect();
            let query = OrderQuery { account, market: None, order: Some(fill.order), page: all };
            assert_eq!(store.orders(&query).await.unwrap(), want);
            let want: Vec<_> = fills.iter().filter(|f| f.order == fill.order).cloned().collect();
            let query = FillQuery { account, market: None, order: Some(fill.order), from: None, to: None, page: all };
            assert_eq!(store.fills(&query).await.unwrap(), want);
            // `from` and `to` are both inclusive.
            let (from, to) = (fills[fills.len() / 4].time, fill.time);
            let want: Vec<_> = fills.iter().filter(|f| f.time >= from && f.time <= to).cloned().collect();
            let query = FillQuery { account, market: None, order: None, from: Some(from), to: Some(to), page: all };
            assert_eq!(store.fills(&query).await.unwrap(), want);
        }
        for kind in [TransferKind::Deposit, TransferKind::Withdrawal] {
            let transfers = expected.transfers_of(account, kind);
            let query = TransferQuery { account, kind, from: None, to: None, page: page(2, 1, SortDirection::Desc) };
            assert_eq!(store.transfers(&query).await.unwrap(), window(&transfers, 2, 1, SortDirection::Desc));
            if let Some(middle) = transfers.get(transfers.len() / 2) {
                let want: Vec<_> = transfers.iter().filter(|t| t.time >= middle.time).cloned().collect();
                let query = TransferQuery { account, kind, from: Some(middle.time), to: None, page: all };
                assert_eq!(store.transfers(&query).await.unwrap(), want);
            }
        }
    }
    for market in MARKETS {
        let trades = expected.trades_of(market);
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            for (limit, offset) in pages {
                let got = store.trades(market, page(limit, offset, direction)).await.unwrap();
                assert_eq!(got, window(&trades, limit as usize, offset as usize, direction));
            }
        }
    }
    // Values beyond anything stored select nothing rather than failing.
    let account = AccountId(u64::MAX);
    let all = common::everything();
    assert!(store.orders(&OrderQuery { account, market: None, order: None, page: all }).await.unwrap().is_empty());
    let query = FillQuery {
        account: AccountId(1),
        market: None,
        order: None,
        from: Some(Timestamp(u64::MAX)),
        to: None,
        page: all,
    };
    assert!(store.fills(&query).await.unwrap().is_empty());
}
