//! Snapshot store: atomic writes, verification, fallback, pruning.

use std::fs;

use rucksack_journal::{JournalError, SnapshotStore};

fn xor_at(path: &std::path::Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

#[test]
fn write_then_latest_returns_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(&dir.path().join("snapshots")).unwrap();
    assert_eq!(store.latest().unwrap(), None);
    let p1 = store.write(100, b"state at 100").unwrap();
    let p2 = store.write(250, b"state at 250").unwrap();
    assert_eq!(p1.file_name().unwrap(), "snapshot-00000000000000000100.snap");
    assert!(p2.exists());
    let latest = store.latest().unwrap().unwrap();
    assert_eq!((latest.seq, latest.body.as_slice()), (250, &b"state at 250"[..]));
    assert_eq!(latest.path, p2);
    assert!(latest.skipped.is_empty());
    assert_eq!(store.list().unwrap().iter().map(|s| s.0).collect::<Vec<_>>(), vec![100, 250]);
    // No temp files are left behind.
    assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 2);
}

#[test]
fn empty_body_and_rewrite_of_the_same_seq() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    store.write(1, b"").unwrap();
    assert_eq!(store.latest().unwrap().unwrap().body, b"");
    store.write(1, b"replaced").unwrap();
    assert_eq!(store.latest().unwrap().unwrap().body, b"replaced");
}

#[test]
fn corrupt_newest_falls_back_to_an_older_one_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    store.write(10, b"ten").unwrap();
    let good = store.write(20, b"twenty").unwrap();
    let body_bad = store.write(30, b"thirty").unwrap();
    let header_bad = store.write(40, b"forty").unwrap();
    let short = store.write(50, b"fifty").unwrap();
    xor_at(&body_bad, 42);
    xor_at(&header_bad, 17);
    fs::write(&short, &fs::read(&short).unwrap()[..44]).unwrap();

    let latest = store.latest().unwrap().unwrap();
    assert_eq!((latest.seq, latest.body.as_slice(), &latest.path), (20, &b"twenty"[..], &good));
    let skipped: Vec<_> = latest.skipped.iter().map(|(p, r)| (p.clone(), r.clone())).collect();
    assert_eq!(skipped.len(), 3);
    assert_eq!(skipped[0].0, short);
    assert!(skipped[0].1.contains("body bytes"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, header_bad);
    assert!(skipped[1].1.contains("header checksum"), "{}", skipped[1].1);
    assert_eq!(skipped[2].0, body_bad);
    assert!(skipped[2].1.contains("body checksum"), "{}", skipped[2].1);
}

#[test]
fn only_corrupt_snapshots_is_an_error_not_an_empty_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let p = store.write(7, b"seven").unwrap();
    xor_at(&p, 0);
    let err = store.latest().unwrap_err();
    assert!(matches!(&err, JournalError::NoValidSnapshot { skipped } if skipped.len() == 1), "{err}");
    assert!(err.to_string().contains("bad magic"), "{err}");
}

#[test]
fn renamed_snapshot_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let p = store.write(7, b"seven").unwrap();
    fs::rename(&p, dir.path().join("snapshot-00000000000000000008.snap")).unwrap();
    assert!(matches!(store.latest(), Err(JournalError::NoValidSnapshot { .. })));
}

#[test]
fn leftover_temp_file_is_ignored_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    store.write(5, b"five").unwrap();
    // A crash mid-write leaves a temp file, possibly complete-looking.
    let tmp_old = dir.path().join("snapshot-00000000000000000004.snap.tmp");
    let tmp_new = dir.path().join("snapshot-00000000000000000009.snap.tmp");
    fs::write(&tmp_old, b"partial").unwrap();
    fs::copy(store.list().unwrap()[0].1.clone(), &tmp_new).unwrap();
    let latest = store.latest().unwrap().unwrap();
    assert_eq!((latest.seq, latest.skipped.len()), (5, 0));
    assert_eq!(store.list().unwrap().len(), 1);
    store.prune(1).unwrap();
    assert!(!tmp_old.exists());
    // A temp file newer than every snapshot may be a write in progress: left alone.
    assert!(tmp_new.exists());
}

#[test]
fn prune_keeps_the_newest_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    for seq in [1, 2, 3, 4, 5] {
        store.write(seq, format!("s{seq}").as_bytes()).unwrap();
    }
    store.prune(3).unwrap();
    assert_eq!(store.list().unwrap().iter().map(|s| s.0).collect::<Vec<_>>(), vec![3, 4, 5]);

    // A damaged newest one does not count towards `keep`, so the valid one survives.
    let newest = store.list().unwrap().pop().unwrap().1;
    xor_at(&newest, 41);
    store.prune(1).unwrap();
    assert_eq!(store.list().unwrap().iter().map(|s| s.0).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(store.latest().unwrap().unwrap().seq, 4);

    store.prune(0).unwrap();
    assert!(store.list().unwrap().is_empty());
    assert_eq!(store.latest().unwrap(), None);
}

#[test]
fn prune_with_nothing_valid_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let p = store.write(3, b"x").unwrap();
    xor_at(&p, 40);
    store.prune(2).unwrap();
    assert!(p.exists());
}

#[test]
fn large_body_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    store.write(99, &body).unwrap();
    assert_eq!(store.latest().unwrap().unwrap().body, body);
}
