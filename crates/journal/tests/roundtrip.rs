//! Writing, committing, rolling segments, reopening and reading back.

mod common;

use std::fs;

use common::*;
use rucksack_journal::{JournalConfig, JournalError, JournalReader, JournalWriter, MAX_PAYLOAD};

#[test]
fn many_batches_across_many_small_segments_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.last_seq, rec.records, rec.segments), (0, 0, 0));
    let mut seq = 0u64;
    for batch in 0..400u64 {
        for _ in 0..(batch % 97 + 1) {
            seq += 1;
            w.append(seq, &payload(seq, 40)).unwrap();
        }
        assert_eq!(w.durable_seq() + batch % 97 + 1, seq);
        assert_eq!(w.commit().unwrap(), seq);
        assert_eq!(w.durable_seq(), seq);
    }
    drop(w);

    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!(rec.last_seq, seq);
    assert_eq!(rec.first_seq, Some(1));
    assert_eq!(rec.records, seq);
    assert!(rec.segments >= 10, "only {} segments", rec.segments);
    assert_eq!(rec.truncated_tail, None);

    let segs = segments(dir.path());
    assert_eq!(segs.len(), rec.segments);
    for s in &segs {
        // Preallocated at full size; appends never grew them.
        assert_eq!(fs::metadata(s).unwrap().len(), SMALL.segment_bytes);
    }
    let all = read_all(dir.path(), 1);
    assert_eq!(all.len() as u64, seq);
    for (i, (s, p)) in all.iter().enumerate() {
        assert_eq!(*s, i as u64 + 1);
        assert_eq!(*p, payload(*s, 40));
    }
}

#[test]
fn reading_from_any_seq_yields_exactly_the_suffix() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=5000, 40, 128);
    let reader = JournalReader::open(dir.path()).unwrap();
    let boundaries: Vec<u64> =
        segments(dir.path()).iter().map(|p| p.file_stem().unwrap().to_str().unwrap()[8..].parse().unwrap()).collect();
    assert!(boundaries.len() > 3);
    assert_eq!(reader.first_seq(), Some(1));
    let mut froms = vec![0, 1, 2, 777, 4999, 5000, 5001, 9999];
    for b in &boundaries[1..] {
        froms.extend([b - 1, *b, b + 1]);
    }
    for from in froms {
        let got = read_all(dir.path(), from);
        let start = from.max(1);
        let want: Vec<u64> = (start..=5000).collect();
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), want, "from {from}");
        assert!(got.iter().all(|(s, p)| *p == payload(*s, 40)));
    }
}

#[test]
fn lending_iterator_and_for_each_agree() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=3000, 33, 50);
    let mut reader = JournalReader::open(dir.path()).unwrap();
    let mut records = reader.records(100);
    let mut expect = 100;
    while let Some(r) = records.next() {
        let r = r.unwrap();
        assert_eq!(r.seq, expect);
        assert_eq!(r.payload, payload(expect, 33));
        expect += 1;
    }
    assert_eq!(expect, 3001);
    assert!(records.next().is_none());
    let stats = reader.for_each(100, |_, _| {}).unwrap();
    assert_eq!((stats.records, stats.first_seq, stats.last_seq), (2901, Some(100), Some(3000)));
    assert_eq!(stats.torn_tail, None);
}

#[test]
fn reopen_continues_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut next = 1;
    for round in 0..5 {
        let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
        assert_eq!(rec.last_seq, next - 1);
        assert_eq!(w.last_seq(), next - 1);
        assert_eq!(w.durable_seq(), next - 1);
        if round > 0 {
            let err = w.append(next + 1, b"gap").unwrap_err();
            assert!(matches!(err, JournalError::OutOfOrder { expected, got } if expected == next && got == next + 1));
        }
        for _ in 0..700 {
            w.append(next, &payload(next, 60)).unwrap();
            next += 1;
        }
        w.commit().unwrap();
    }
    let all = read_all(dir.path(), 0);
    assert_eq!(all.len(), 3500);
    assert!(all.iter().enumerate().all(|(i, (s, p))| *s == i as u64 + 1 && *p == payload(*s, 60)));
}

#[test]
fn empty_journal_may_start_after_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    w.append(1001, b"first").unwrap();
    w.append(1002, b"second").unwrap();
    assert_eq!(w.commit().unwrap(), 1002);
    drop(w);
    let (w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.first_seq, rec.last_seq, rec.records), (Some(1001), 1002, 2));
    assert_eq!(w.last_seq(), 1002);
    let reader = JournalReader::open(dir.path()).unwrap();
    assert_eq!(reader.first_seq(), Some(1001));
    let all = read_all(dir.path(), 1);
    assert_eq!(all, vec![(1001, b"first".to_vec()), (1002, b"second".to_vec())]);
}

#[test]
fn invalid_appends_are_refused_without_poisoning() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert!(matches!(w.append(0, b"x"), Err(JournalError::ZeroSeq)));
    w.append(5, b"five").unwrap();
    assert!(matches!(w.append(5, b"dup"), Err(JournalError::OutOfOrder { expected: 6, got: 5 })));
    assert!(matches!(w.append(7, b"gap"), Err(JournalError::OutOfOrder { expected: 6, got: 7 })));
    assert!(matches!(w.append(6, b""), Err(JournalError::EmptyPayload { seq: 6 })));
    let big = vec![1u8; MAX_PAYLOAD + 1];
    assert!(matches!(w.append(6, &big), Err(JournalError::PayloadTooLarge { .. })));
    assert!(!w.is_poisoned());
    w.append(6, b"six").unwrap();
    assert_eq!(w.commit().unwrap(), 6);
    assert_eq!(w.commit().unwrap(), 6, "empty commit reports the durable seq");
    assert_eq!(read_all(dir.path(), 0).len(), 2);
}

#[test]
fn config_below_minimum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = JournalWriter::open(dir.path(), JournalConfig { segment_bytes: 100 }).unwrap_err();
    assert!(matches!(err, JournalError::Config(_)), "{err}");
    assert_eq!(JournalConfig::default().segment_bytes, 64 * 1024 * 1024);
}

#[test]
fn record_larger_than_a_segment_gets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    w.append(1, b"small").unwrap();
    let big = payload(2, 200 * 1024);
    w.append(2, &big).unwrap();
    w.append(3, b"after").unwrap();
    w.commit().unwrap();
    let max = payload(4, MAX_PAYLOAD);
    w.append(4, &max).unwrap();
    w.commit().unwrap();
    drop(w);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.last_seq, rec.segments), (4, 4));
    let all = read_all(dir.path(), 0);
    assert_eq!(all[1].1, big);
    assert_eq!(all[2].1, b"after");
    assert_eq!(all[3].1, max);
}

#[test]
fn second_writer_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let (_w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let err = JournalWriter::open(dir.path(), SMALL).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err}");
}

#[test]
fn creates_nested_directories() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/journal");
    let (mut w, _) = JournalWriter::open(&nested, SMALL).unwrap();
    w.append(1, b"x").unwrap();
    w.commit().unwrap();
    assert_eq!(read_all(&nested, 0).len(), 1);
    assert!(read_all(&dir.path().join("missing"), 0).is_empty());
}

#[test]
fn removing_old_segments_keeps_the_needed_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    for seq in 1..=6000 {
        w.append(seq, &payload(seq, 40)).unwrap();
    }
    w.commit().unwrap();
    let before = segments(dir.path()).len();
    let removed = w.remove_segments_before(3000).unwrap();
    assert!(removed > 0 && removed < before);
    assert_eq!(w.segment_paths().count(), before - removed);
    let reader = JournalReader::open(dir.path()).unwrap();
    let first = reader.first_seq().unwrap();
    assert!(first <= 3000 && first > 1, "first {first}");
    assert_eq!(w.remove_segments_before(u64::MAX).unwrap(), before - removed - 1);
    w.append(6001, b"more").unwrap();
    w.commit().unwrap();
    drop(w);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!(rec.segments, 1);
    assert_eq!(rec.last_seq, 6001);
    let all = read_all(dir.path(), 0);
    assert_eq!(all.last().unwrap().0, 6001);
    assert_eq!(all.first().unwrap().0, rec.first_seq.unwrap());
}

#[test]
fn appends_never_change_the_segment_size() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    w.append(1, b"x").unwrap();
    w.commit().unwrap();
    let seg = segments(dir.path()).pop().unwrap();
    let size = fs::metadata(&seg).unwrap().len();
    for seq in 2..200 {
        w.append(seq, &payload(seq, 100)).unwrap();
        w.commit().unwrap();
        assert_eq!(fs::metadata(&seg).unwrap().len(), size);
    }
    assert_eq!(size, SMALL.segment_bytes);
}

#[test]
fn segments_are_really_zero_filled_and_the_next_one_is_prepared_ahead() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    w.append(1, b"x").unwrap();
    w.commit().unwrap();
    let seg = segments(dir.path()).pop().unwrap();
    let meta = fs::metadata(&seg).unwrap();
    // Allocated blocks cover the whole length: not a sparse file.
    assert!(meta.blocks() * 512 >= meta.len(), "{} blocks for {} bytes", meta.blocks(), meta.len());

    let next = dir.path().join("segment.prealloc");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fs::metadata(&next).map(|m| m.len()).unwrap_or(0) < SMALL.segment_bytes {
        assert!(std::time::Instant::now() < deadline, "next segment never prepared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let meta = fs::metadata(&next).unwrap();
    assert!(meta.blocks() * 512 >= meta.len());
    drop(w);
    // Readers and recovery ignore it, and the writer cleans it up.
    assert!(!next.exists());
}
