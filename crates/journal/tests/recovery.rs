//! Torn tails are cut off and reported; corruption followed by valid data stops recovery.

mod common;

use std::fs;

use common::*;
use rucksack_journal::{FRAME_HEADER_LEN, FrameDefect, JournalError, JournalReader, JournalWriter};

const LEN: usize = 40;

fn expect_corrupt(err: JournalError, segment: &std::path::Path, offset: u64) {
    let shown = err.to_string();
    match err {
        JournalError::Corrupt { segment: s, offset: o, .. } => {
            assert_eq!((s.as_path(), o), (segment, offset), "{shown}");
            assert!(shown.contains(&segment.display().to_string()), "{shown}");
            assert!(shown.contains(&format!("offset {offset}")), "{shown}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

fn reader_error(dir: &std::path::Path) -> JournalError {
    let mut reader = JournalReader::open(dir).unwrap();
    reader.for_each(0, |_, _| {}).unwrap_err()
}

#[test]
fn any_damaged_byte_in_the_last_record_is_a_torn_tail() {
    // crc, len (low and high byte), seq, first and last payload byte.
    for (at, mask) in [(0u64, 0x01), (4, 0x01), (7, 0x80), (8, 0x04), (16, 0x10), (15 + LEN as u64, 0xFF)] {
        let dir = tempfile::tempdir().unwrap();
        write_records(dir.path(), SMALL, 1..=100, LEN, 10);
        let seg = segments(dir.path()).pop().unwrap();
        let last = record_offset(99, LEN);
        xor_byte(&seg, last + at, mask);

        let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
        let tail = rec.truncated_tail.clone().expect("torn tail reported");
        assert_eq!(tail.segment, seg);
        assert_eq!(tail.offset, last, "byte {at}");
        assert_eq!((rec.last_seq, rec.records), (99, 99));
        if at == 7 {
            assert!(matches!(tail.reason, FrameDefect::LengthTooLarge { .. }));
        } else {
            assert!(matches!(tail.reason, FrameDefect::CrcMismatch { .. }), "{:?}", tail.reason);
        }
        // The torn bytes are gone from disk.
        assert!(read_bytes(&seg, last, FRAME_HEADER_LEN + LEN).iter().all(|&b| b == 0));
        assert_eq!(read_all(dir.path(), 0).len(), 99);

        assert!(matches!(w.append(101, b"x"), Err(JournalError::OutOfOrder { expected: 100, .. })));
        w.append(100, b"replacement").unwrap();
        w.append(101, b"next").unwrap();
        assert_eq!(w.commit().unwrap(), 101);
        drop(w);

        let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
        assert_eq!(rec.truncated_tail, None);
        assert_eq!(rec.last_seq, 101);
        let all = read_all(dir.path(), 99);
        assert_eq!(all[0], (99, payload(99, LEN)));
        assert_eq!(all[1], (100, b"replacement".to_vec()));
        assert_eq!(all[2], (101, b"next".to_vec()));
    }
}

#[test]
fn torn_last_record_after_many_segments() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=5000, LEN, 100);
    let seg = segments(dir.path()).pop().unwrap();
    let index = (5000 - seg_first_seq(&seg)) as usize;
    let last = record_offset(index, LEN);
    xor_byte(&seg, last + 20, 0x40);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let tail = rec.truncated_tail.unwrap();
    assert_eq!((tail.segment, tail.offset), (seg, last));
    assert_eq!(rec.last_seq, 4999);
    assert_eq!(read_all(dir.path(), 0).len(), 4999);
}

#[test]
fn second_half_of_last_record_zeroed_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=50, LEN, 50);
    let seg = segments(dir.path()).pop().unwrap();
    let last = record_offset(49, LEN);
    let frame_len = FRAME_HEADER_LEN + LEN;
    zero_bytes(&seg, last + (frame_len / 2) as u64, frame_len / 2);

    // A reader sees the tear but does not repair it.
    let mut reader = JournalReader::open(dir.path()).unwrap();
    let stats = reader.for_each(0, |_, _| {}).unwrap();
    assert_eq!(stats.last_seq, Some(49));
    assert_eq!(stats.torn_tail.as_ref().map(|t| t.offset), Some(last));

    let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let tail = rec.truncated_tail.unwrap();
    assert_eq!(tail.offset, last);
    assert!(matches!(tail.reason, FrameDefect::CrcMismatch { .. }));
    assert_eq!(tail.discarded_bytes, (frame_len / 2) as u64);
    w.append(50, b"again").unwrap();
    w.commit().unwrap();
    drop(w);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.last_seq, rec.truncated_tail), (50, None));
}

#[test]
fn partially_written_batch_is_cut_at_the_first_torn_record() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=60, LEN, 60);
    let seg = segments(dir.path()).pop().unwrap();
    // The write of records 41..=60 stopped in the middle of record 41.
    let from = record_offset(40, LEN) + 10;
    let end = record_offset(60, LEN);
    zero_bytes(&seg, from, (end - from) as usize);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!(rec.truncated_tail.unwrap().offset, record_offset(40, LEN));
    assert_eq!(rec.last_seq, 40);
}

#[test]
fn file_truncated_mid_record_is_a_torn_tail_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=30, LEN, 7);
    let seg = segments(dir.path()).pop().unwrap();
    let cut = record_offset(29, LEN) + 20;
    fs::File::options().write(true).open(&seg).unwrap().set_len(cut).unwrap();
    let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let tail = rec.truncated_tail.unwrap();
    assert_eq!(tail.offset, record_offset(29, LEN));
    assert!(matches!(tail.reason, FrameDefect::PastSegmentEnd { .. }));
    // The shortened segment fills up quickly and the writer rolls to a new one.
    for seq in 30..=200 {
        w.append(seq, &payload(seq, LEN)).unwrap();
        w.commit().unwrap();
    }
    drop(w);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.last_seq, rec.segments, rec.truncated_tail), (200, 2, None));
    let all = read_all(dir.path(), 0);
    assert!(all.iter().enumerate().all(|(i, (s, p))| *s == i as u64 + 1 && *p == payload(*s, LEN)));
}

#[test]
fn garbage_after_the_end_mark_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=10, LEN, 10);
    let seg = segments(dir.path()).pop().unwrap();
    let end = record_offset(10, LEN);
    xor_byte(&seg, end + 100, 0x55);
    let (_, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    let tail = rec.truncated_tail.unwrap();
    assert_eq!((tail.offset, tail.reason, tail.discarded_bytes), (end, FrameDefect::GarbageAfterEnd, 101));
    assert_eq!(rec.last_seq, 10);
}

#[test]
fn damaged_middle_record_of_the_last_segment_is_corrupt() {
    for at in [0u64, 5, 9, 30] {
        let dir = tempfile::tempdir().unwrap();
        write_records(dir.path(), SMALL, 1..=100, LEN, 10);
        let seg = segments(dir.path()).pop().unwrap();
        let bad = record_offset(49, LEN);
        xor_byte(&seg, bad + at, 0x08);
        let before = fs::read(&seg).unwrap();

        expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), &seg, bad);
        // Nothing was "repaired" away.
        assert_eq!(fs::read(&seg).unwrap(), before);
        expect_corrupt(reader_error(dir.path()), &seg, bad);
    }
}

#[test]
fn length_zeroed_in_a_middle_record_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=20, LEN, 20);
    let seg = segments(dir.path()).pop().unwrap();
    let bad = record_offset(10, LEN);
    zero_bytes(&seg, bad + 4, 4);
    expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), &seg, bad);
    expect_corrupt(reader_error(dir.path()), &seg, bad);
}

#[test]
fn damage_in_an_earlier_segment_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=5000, LEN, 100);
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);

    // The very last record of the first segment: a "tail" there is still corruption.
    let first = &segs[0];
    let count = (seg_first_seq(&segs[1]) - 1) as usize;
    let bad = record_offset(count - 1, LEN);
    xor_byte(first, bad + 20, 0x01);
    expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), first, bad);
    expect_corrupt(reader_error(dir.path()), first, bad);
    xor_byte(first, bad + 20, 0x01);

    // A middle record of the second segment.
    let second = &segs[1];
    let bad = record_offset(17, LEN);
    xor_byte(second, bad + 3, 0x20);
    expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), second, bad);
    expect_corrupt(reader_error(dir.path()), second, bad);
    // Reading from a seq past the damaged segment does not touch it.
    let from = seg_first_seq(&segs[2]);
    assert_eq!(read_all(dir.path(), from).len() as u64, 5000 - from + 1);
}

#[test]
fn missing_segment_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=5000, LEN, 100);
    let segs = segments(dir.path());
    fs::remove_file(&segs[1]).unwrap();
    let err = JournalWriter::open(dir.path(), SMALL).unwrap_err();
    expect_corrupt(err, &segs[2], rucksack_journal::SEGMENT_HEADER_LEN as u64);
    let err = reader_error(dir.path());
    expect_corrupt(err, &segs[2], rucksack_journal::SEGMENT_HEADER_LEN as u64);
}

#[test]
fn duplicate_or_skipped_seq_is_corrupt_even_at_the_tail() {
    let cases: [(&[u64], usize); 3] = [(&[1, 2, 2, 3], 2), (&[1, 2, 4], 2), (&[1, 2, 3, 3], 3)];
    for (seqs, bad_index) in cases {
        let dir = tempfile::tempdir().unwrap();
        let frames: Vec<Vec<u8>> = seqs.iter().map(|&s| frame(s, &payload(s, LEN))).collect();
        let seg = write_segment(dir.path(), 1, &frames, 8192);
        let bad = record_offset(bad_index, LEN);
        expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), &seg, bad);
        expect_corrupt(reader_error(dir.path()), &seg, bad);
    }
}

#[test]
fn segment_name_must_match_its_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let frames = vec![frame(5, b"five"), frame(6, b"six")];
    let seg = write_segment(dir.path(), 4, &frames, 8192);
    expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), &seg, 16);
}

#[test]
fn bad_segment_header_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=10, LEN, 10);
    let seg = segments(dir.path()).pop().unwrap();
    xor_byte(&seg, 2, 0xFF);
    expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), &seg, 0);
    expect_corrupt(reader_error(dir.path()), &seg, 0);
}

#[test]
fn empty_only_segment_is_dropped_and_any_seq_may_start() {
    let dir = tempfile::tempdir().unwrap();
    let seg = write_segment(dir.path(), 77, &[], 8192);
    fs::write(dir.path().join("segment.prealloc"), b"half-written").unwrap();
    let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.last_seq, rec.records, rec.segments), (0, 0, 0));
    assert!(!seg.exists());
    w.append(5, b"five").unwrap();
    w.commit().unwrap();
    drop(w);
    assert_eq!(read_all(dir.path(), 0), vec![(5, b"five".to_vec())]);
}

#[test]
fn empty_last_segment_after_a_rollover_is_continued() {
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=3000, LEN, 100);
    let before = segments(dir.path()).len();
    // A crash right after the rollover renamed the next segment into place.
    let empty = write_segment(dir.path(), 3001, &[], SMALL.segment_bytes as usize);
    let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!((rec.last_seq, rec.segments, rec.truncated_tail), (3000, before + 1, None));
    w.append(3001, b"lands in the empty segment").unwrap();
    w.commit().unwrap();
    drop(w);
    assert_eq!(segments(dir.path()).len(), before + 1);
    assert_eq!(read_bytes(&empty, record_offset(0, 0) + 16, 4), b"land".to_vec());

    // An empty last segment whose name leaves a gap is corruption.
    let dir = tempfile::tempdir().unwrap();
    write_records(dir.path(), SMALL, 1..=10, LEN, 10);
    let gap = write_segment(dir.path(), 12, &[], 8192);
    expect_corrupt(JournalWriter::open(dir.path(), SMALL).unwrap_err(), &gap, 16);
}

#[test]
fn torn_first_record_of_a_fresh_journal_leaves_it_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut torn = frame(9, b"never acknowledged");
    let n = torn.len();
    torn[n - 1] ^= 1;
    let seg = write_segment(dir.path(), 9, &[torn], 8192);
    let (mut w, rec) = JournalWriter::open(dir.path(), SMALL).unwrap();
    assert_eq!(rec.truncated_tail.unwrap().segment, seg);
    assert_eq!((rec.last_seq, rec.records, rec.segments), (0, 0, 0));
    w.append(1, b"fresh start").unwrap();
    w.commit().unwrap();
    drop(w);
    assert_eq!(read_all(dir.path(), 0), vec![(1, b"fresh start".to_vec())]);
}
