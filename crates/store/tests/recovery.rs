//! Crash recovery and bad data: replaying what is already stored changes nothing, clearing
//! empties everything, and a batch that cannot be stored leaves no trace.

mod common;

use common::{Expected, apply_in_batches, dump, expected_dump, recorded_run};
use rucksack_store::{Applied, HistoryStore, StoreError};
use rucksack_types::{AccountId, Amount, AssetId, Event, OrderId, Seq, TxId};

cases!(
    replaying_overlapping_ranges_changes_nothing,
    clear_empties_everything,
    a_value_beyond_i64_fails_the_whole_batch,
    commands_out_of_order_are_refused,
);

async fn replaying_overlapping_ranges_changes_nothing(store: HistoryStore) {
    let run = recorded_run(21, 1_500);
    let wanted = expected_dump(&Expected::of(&run));
    let (third, half) = (run.len() / 3, run.len() / 2);
    assert_eq!(store.last_seq().await.unwrap(), Seq(0));
    store.apply(&run[..half]).await.unwrap();
    assert_eq!(store.last_seq().await.unwrap(), run[half - 1].seq);
    // The projector restarts from an older position: the overlap is skipped, the rest stored.
    apply_in_batches(&store, &run[third..], &[97]).await;
    assert_eq!(store.last_seq().await.unwrap(), run.last().unwrap().seq);
    assert_eq!(dump(&store).await, wanted);
    // The whole run again, at once and in pieces: nothing changes.
    store.apply(&run).await.unwrap();
    apply_in_batches(&store, &run, &[5, 600]).await;
    assert_eq!(store.last_seq().await.unwrap(), run.last().unwrap().seq);
    assert_eq!(dump(&store).await, wanted);
}

async fn clear_empties_everything(store: HistoryStore) {
    let run = recorded_run(22, 800);
    store.apply(&run).await.unwrap();
    store.clear().await.unwrap();
    assert_eq!(store.last_seq().await.unwrap(), Seq(0));
    let empty = dump(&store).await;
    assert_eq!(empty, expected_dump(&Expected::default()));
    assert!(empty.orders.is_empty() && empty.trades.is_empty() && empty.transfers.is_empty());
    // A rebuild after clearing stores the run afresh.
    apply_in_batches(&store, &run, &[300]).await;
    assert_eq!(dump(&store).await, expected_dump(&Expected::of(&run)));
}

async fn a_value_beyond_i64_fails_the_whole_batch(store: HistoryStore) {
    let run = recorded_run(23, 600);
    let half = run.len() / 2;
    store.apply(&run[..half]).await.unwrap();
    let before = dump(&store).await;
    let last = run.last().unwrap();
    let huge_deposit = Applied {
        seq: Seq(last.seq.0 + 1),
        time: last.time,
        events: vec![Event::Deposited {
            account: AccountId(u64::MAX),
            asset: AssetId(0),
            amount: Amount(1),
            tx: TxId([7; 32]),
        }],
    };
    let accepted = run.iter().flat_map(|c| &c.events).find(|e| matches!(e, Event::OrderAccepted { .. })).unwrap();
    let Event::OrderAccepted { new, .. } = *accepted else { unreachable!() };
    let huge_order = Applied {
        seq: Seq(last.seq.0 + 1),
        time: last.time,
        events: vec![Event::OrderAccepted { order: OrderId(1 << 63), new }],
    };
    for bad in [huge_deposit, huge_order] {
        let mut batch = run[half..].to_vec();
        batch.push(bad);
        let error = store.apply(&batch).await.unwrap_err();
        assert!(matches!(error, StoreError::OutOfRange { .. }), "{error}");
        assert_eq!(store.last_seq().await.unwrap(), run[half - 1].seq, "the position must not move");
        assert_eq!(dump(&store).await, before, "no row of the failed batch may remain");
    }
    store.apply(&run[half..]).await.unwrap();
    assert_eq!(dump(&store).await, expected_dump(&Expected::of(&run)));
}

async fn commands_out_of_order_are_refused(store: HistoryStore) {
    let run = recorded_run(24, 300);
    let mut shuffled = run[..20].to_vec();
    shuffled.swap(3, 4);
    assert!(matches!(store.apply(&shuffled).await, Err(StoreError::OutOfOrder { .. })));
    let repeated = [run[0].clone(), run[0].clone()];
    assert!(matches!(store.apply(&repeated).await, Err(StoreError::OutOfOrder { .. })));
    assert_eq!(store.last_seq().await.unwrap(), Seq(0));
    assert_eq!(dump(&store).await, expected_dump(&Expected::default()));
    store.apply(&[]).await.unwrap();
    assert_eq!(store.last_seq().await.unwrap(), Seq(0));
}

#[tokio::test]
async fn a_reopened_sqlite_store_keeps_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested-free.db").display());
    let run = recorded_run(25, 300);
    {
        let store = HistoryStore::open(&url).await.unwrap();
        store.apply(&run).await.unwrap();
    }
    let store = HistoryStore::open(&url).await.unwrap();
    assert_eq!(store.last_seq().await.unwrap(), run.last().unwrap().seq);
    assert_eq!(dump(&store).await, expected_dump(&Expected::of(&run)));
}

#[tokio::test]
async fn an_unknown_url_scheme_is_refused_without_echoing_the_url() {
    let error = HistoryStore::open("mysql://root:secret@localhost/db").await.unwrap_err();
    assert!(matches!(&error, StoreError::UnsupportedUrl(scheme) if scheme == "mysql"));
    assert!(!error.to_string().contains("secret"));
}
