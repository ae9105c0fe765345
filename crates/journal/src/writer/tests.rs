use super::*;

const SMALL: JournalConfig = JournalConfig { segment_bytes: 64 * 1024 };

#[test]
fn failed_sync_poisons_the_writer_and_reports_nothing_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    w.append(1, b"one").unwrap();
    assert_eq!(w.commit().unwrap(), 1);

    w.append(2, b"two").unwrap();
    w.fail_next_sync = true;
    let err = w.commit().unwrap_err();
    assert!(err.to_string().contains("injected fdatasync failure"), "{err}");
    assert!(w.is_poisoned());
    assert_eq!(w.durable_seq(), 1, "a batch whose sync failed is never reported durable");

    assert!(matches!(w.append(3, b"three"), Err(JournalError::Poisoned)));
    assert!(matches!(w.commit(), Err(JournalError::Poisoned)));
    assert!(matches!(w.remove_segments_before(2), Err(JournalError::Poisoned)));
}

#[test]
fn failed_sync_during_rollover_poisons() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let payload = [7u8; 1000];
    let mut seq = 0;
    while w.splits.len() < 2 {
        seq += 1;
        w.append(seq, &payload).unwrap();
    }
    w.fail_next_sync = true;
    assert!(w.commit().is_err());
    assert!(w.is_poisoned());
    assert_eq!(w.durable_seq(), 0);
}

#[test]
fn batch_is_split_only_where_a_record_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let per_segment = (SMALL.segment_bytes as usize - SEGMENT_HEADER_LEN) / frame::frame_len(100);
    for seq in 1..=(per_segment as u64 * 3) {
        w.append(seq, &[1u8; 100]).unwrap();
    }
    let firsts: Vec<u64> = w.splits.iter().map(|s| s.first_seq).collect();
    let n = per_segment as u64;
    assert_eq!(firsts, vec![1, n + 1, 2 * n + 1]);
    w.commit().unwrap();
    assert_eq!(w.segment_paths().count(), 3);
}
