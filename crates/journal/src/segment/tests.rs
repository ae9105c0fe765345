use super::*;

fn seg(first_seq: u64) -> SegmentFile {
    SegmentFile { first_seq, path: PathBuf::from(segment_file_name(first_seq)) }
}

fn image(first_seq: u64, count: u64, total: usize) -> Vec<u8> {
    let mut buf = header_bytes().to_vec();
    for seq in first_seq..first_seq + count {
        frame::encode(&mut buf, seq, format!("payload {seq}").as_bytes());
    }
    buf.resize(total, 0);
    buf
}

#[test]
fn names_sort_like_seqs_and_parse_back() {
    assert_eq!(segment_file_name(42), "journal-00000000000000000042.seg");
    assert!(segment_file_name(9) < segment_file_name(10));
    assert_eq!(parse_segment_name(&segment_file_name(u64::MAX)), Some(u64::MAX));
    assert_eq!(parse_segment_name("journal-42.seg"), None);
    assert_eq!(parse_segment_name("journal-0000000000000000004x.seg"), None);
    assert_eq!(parse_segment_name("journal-00000000000000000042.seg.tmp"), None);
    assert_eq!(parse_segment_name("journal-99999999999999999999.seg"), None);
}

#[test]
fn clean_scan_counts_records() {
    let buf = image(5, 10, 4096);
    let scan = scan(&buf, &seg(5), false).unwrap();
    assert_eq!((scan.records, scan.next_seq, scan.tail), (10, 15, Tail::Clean));
    assert_eq!(scan.first_record, Some(5));
}

#[test]
fn bad_header_is_corrupt_at_zero() {
    let mut buf = image(1, 1, 256);
    buf[0] = b'X';
    let err = scan(&buf, &seg(1), true).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { offset: 0, .. }), "{err}");
}

#[test]
fn name_must_match_first_record() {
    let buf = image(5, 3, 1024);
    let err = scan(&buf, &seg(4), true).unwrap_err();
    assert!(err.to_string().contains("seq 5 where seq 4"), "{err}");
}

#[test]
fn torn_tail_only_in_last_segment() {
    let mut buf = image(1, 3, 1024);
    let end = scan(&buf, &seg(1), true).unwrap().end;
    buf[end - 1] ^= 0xFF;
    let scan_last = scan(&buf, &seg(1), true).unwrap();
    assert_eq!(scan_last.records, 2);
    assert!(matches!(scan_last.tail, Tail::Torn { zero_until, .. } if zero_until == end));
    let err = scan(&buf, &seg(1), false).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
}

#[test]
fn garbage_after_end_mark_in_last_segment_is_torn() {
    let mut buf = image(1, 2, 1024);
    let end = scan(&buf, &seg(1), true).unwrap().end;
    buf[end + 20] = 7;
    let s = scan(&buf, &seg(1), true).unwrap();
    assert_eq!(s.tail, Tail::Torn { defect: FrameDefect::GarbageAfterEnd, zero_until: end + 21 });
}
