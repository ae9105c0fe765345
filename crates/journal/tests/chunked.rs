//! Segments are read in 1 MiB chunks, not whole: records across a chunk boundary, data ending
//! exactly on one, and damage many chunks past the end of the data.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use rucksack_journal::{
    FRAME_HEADER_LEN, FrameDefect, JournalConfig, JournalError, JournalReader, JournalWriter, SEGMENT_HEADER_LEN,
};

/// The reader's read size.
const CHUNK: usize = 1024 * 1024;
const SEGMENT: usize = 8 * CHUNK;
const CONFIG: JournalConfig = JournalConfig { segment_bytes: SEGMENT as u64 };

/// Frames of records 1..=n whose payload lengths are `lens`.
fn frames(lens: &[usize]) -> Vec<Vec<u8>> {
    lens.iter().enumerate().map(|(i, &len)| frame(i as u64 + 1, &payload(i as u64 + 1, len))).collect()
}

/// Payload lengths, about 1000 bytes each, that make a segment's data end exactly at `end`.
fn lens_ending_at(end: usize) -> Vec<usize> {
    let mut lens = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    while end - pos > 3 * (FRAME_HEADER_LEN + 1000) {
        lens.push(1000);
        pos += FRAME_HEADER_LEN + 1000;
    }
    lens.push(end - pos - 2 * FRAME_HEADER_LEN - 1000);
    lens.push(1000);
    lens
}

fn reader_stats(dir: &Path) -> Result<rucksack_journal::ReplayStats, JournalError> {
    JournalReader::open(dir)?.for_each(0, |_, _| {})
}

fn check_all(dir: &Path, lens: &[usize]) {
    let all = read_all(dir, 0);
    assert_eq!(all.len(), lens.len());
    for (i, (seq, p)) in all.iter().enumerate() {
        assert_eq!((*seq, p.len()), (i as u64 + 1, lens[i]));
        assert_eq!(*p, payload(*seq, lens[i]), "seq {seq}");
    }
}

#[test]
fn records_straddling_chunk_boundaries_read_back() {
    // Put a chunk boundary inside the crc, the len, the seq and the payload of a record, and
    // let one record span a whole chunk.
    for into_frame in [0usize, 1, 3, 4, 6, 8, 12, 15, 16, 17, 500] {
        let dir = tempfile::tempdir().unwrap();
        let mut lens = lens_ending_at(CHUNK - into_frame);
        lens.push(1000);
        lens.push(CHUNK + 7);
        lens.push(33);
        write_segment(dir.path(), 1, &frames(&lens), SEGMENT);
        check_all(dir.path(), &lens);
        let (mut w, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
        assert_eq!((rec.last_seq, rec.truncated_tail), (lens.len() as u64, None), "boundary {into_frame} into a frame");
        w.append(lens.len() as u64 + 1, b"more").unwrap();
        w.commit().unwrap();
        drop(w);
        assert_eq!(read_all(dir.path(), 0).last().unwrap().1, b"more");
    }
}

#[test]
fn data_ending_exactly_at_a_chunk_boundary() {
    for end in [CHUNK, 2 * CHUNK] {
        let dir = tempfile::tempdir().unwrap();
        let lens = lens_ending_at(end);
        let seg = write_segment(dir.path(), 1, &frames(&lens), SEGMENT);
        let stats = reader_stats(dir.path()).unwrap();
        assert_eq!((stats.records, stats.torn_tail), (lens.len() as u64, None));
        let (w, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
        assert_eq!((rec.last_seq, rec.truncated_tail), (lens.len() as u64, None));
        drop(w);

        // The end mark starts the next chunk; a length there (a torn header) is a torn tail.
        xor_byte(&seg, end as u64 + 4, 0x01);
        let stats = reader_stats(dir.path()).unwrap();
        let tail = stats.torn_tail.unwrap();
        assert_eq!((tail.offset, tail.discarded_bytes), (end as u64, 5));
        let (_, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
        let tail = rec.truncated_tail.unwrap();
        assert_eq!((tail.offset, tail.discarded_bytes), (end as u64, 5));
        assert!(matches!(tail.reason, FrameDefect::CrcMismatch { .. }), "{tail:?}");
        check_all(dir.path(), &lens);
    }
}

#[test]
fn data_filling_the_file_exactly_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let lens = lens_ending_at(2 * CHUNK);
    write_segment(dir.path(), 1, &frames(&lens), 0);
    assert_eq!(fs::metadata(&segments(dir.path())[0]).unwrap().len(), 2 * CHUNK as u64);
    check_all(dir.path(), &lens);
    let (_, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
    assert_eq!((rec.last_seq, rec.truncated_tail), (lens.len() as u64, None));
}

#[test]
fn torn_record_across_a_chunk_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let mut lens = lens_ending_at(CHUNK - 100);
    lens.push(1000);
    let seg = write_segment(dir.path(), 1, &frames(&lens), SEGMENT);
    let last = (CHUNK - 100) as u64;
    xor_byte(&seg, last + 900, 0x02);
    let stats = reader_stats(dir.path()).unwrap();
    assert_eq!(stats.torn_tail.as_ref().map(|t| t.offset), Some(last));
    let (_, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
    let tail = rec.truncated_tail.unwrap();
    assert!(matches!(tail.reason, FrameDefect::CrcMismatch { .. }));
    assert_eq!((tail.offset, tail.discarded_bytes), (last, (FRAME_HEADER_LEN + 1000) as u64));
    assert_eq!(rec.last_seq, lens.len() as u64 - 1);
}

#[test]
fn garbage_far_into_the_zero_tail_is_found_by_open_and_replay() {
    let lens = vec![40; 100];
    let end = record_offset(lens.len(), 40);
    for far in [5 * CHUNK as u64 + 3, SEGMENT as u64 - 1] {
        let dir = tempfile::tempdir().unwrap();
        let seg = write_segment(dir.path(), 1, &frames(&lens), SEGMENT);
        xor_byte(&seg, far, 0x10);

        // Replay reports it without touching it.
        let stats = reader_stats(dir.path()).unwrap();
        assert_eq!(stats.records, 100);
        let tail = stats.torn_tail.unwrap();
        assert_eq!(
            (tail.offset, tail.reason, tail.discarded_bytes),
            (end, FrameDefect::GarbageAfterEnd, far + 1 - end)
        );
        assert_eq!(read_bytes(&seg, far, 1), vec![0x10]);

        let (w, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
        let tail = rec.truncated_tail.unwrap();
        assert_eq!(
            (tail.offset, tail.reason, tail.discarded_bytes),
            (end, FrameDefect::GarbageAfterEnd, far + 1 - end)
        );
        assert_eq!(read_bytes(&seg, far, 1), vec![0], "recovery zeroed it");
        drop(w);
        let (_, rec) = JournalWriter::open(dir.path(), CONFIG).unwrap();
        assert_eq!((rec.last_seq, rec.truncated_tail), (100, None));
    }
}

#[test]
fn valid_record_far_after_a_hole_is_corrupt() {
    let lens = vec![40; 100];
    let end = record_offset(lens.len(), 40);
    let dir = tempfile::tempdir().unwrap();
    let seg = write_segment(dir.path(), 1, &frames(&lens), SEGMENT);
    // Record 101 is missing (a hole of zeros); record 102 sits six chunks later.
    let late = frame(102, b"acknowledged, then its predecessor vanished");
    let f = fs::File::options().write(true).open(&seg).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &late, 6 * CHUNK as u64 + 5).unwrap();
    drop(f);
    let before = fs::read(&seg).unwrap();
    for err in [reader_stats(dir.path()).unwrap_err(), JournalWriter::open(dir.path(), CONFIG).unwrap_err()] {
        match err {
            JournalError::Corrupt { segment, offset, reason } => {
                assert_eq!((segment, offset), (seg.clone(), end));
                assert!(reason.contains("seq 102"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other}"),
        }
    }
    assert!(fs::read(&seg).unwrap() == before, "nothing was repaired away");
}

#[test]
fn garbage_far_into_the_tail_of_an_earlier_segment_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_segment(dir.path(), 1, &frames(&[40; 10]), SEGMENT);
    write_segment(dir.path(), 11, &[frame(11, b"eleven")], SEGMENT);
    xor_byte(&first, SEGMENT as u64 - 2, 0x01);
    let end = record_offset(10, 40);
    for err in [reader_stats(dir.path()).unwrap_err(), JournalWriter::open(dir.path(), CONFIG).unwrap_err()] {
        assert!(
            matches!(&err, JournalError::Corrupt { segment, offset, .. } if *segment == first && *offset == end),
            "{err}"
        );
    }
}

#[test]
fn one_reader_replays_many_times_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut lens = lens_ending_at(CHUNK + 3);
    let n = lens.len();
    write_segment(dir.path(), 1, &frames(&lens), 2 * CHUNK);
    let big = payload(n as u64 + 1, 3 * CHUNK);
    write_segment(dir.path(), n as u64 + 1, &[frame(n as u64 + 1, &big)], 4 * CHUNK);
    write_segment(dir.path(), n as u64 + 2, &[frame(n as u64 + 2, &payload(n as u64 + 2, 1))], SEGMENT);
    lens.extend([3 * CHUNK, 1]);
    let mut reader = JournalReader::open(dir.path()).unwrap();
    for from in [0, n as u64, 1, n as u64 + 2] {
        let mut got = Vec::new();
        reader.for_each(from, |seq, p| got.push((seq, p == payload(seq, lens[seq as usize - 1])))).unwrap();
        let first = from.max(1);
        assert_eq!(got.len() as u64, lens.len() as u64 - first + 1, "from {from}");
        assert_eq!(got[0].0, first);
        assert!(got.iter().enumerate().all(|(i, &(seq, same))| seq == first + i as u64 && same), "from {from}");
    }
}
