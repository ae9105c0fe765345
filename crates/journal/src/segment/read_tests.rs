//! Reading a segment a chunk at a time must decide exactly what decoding the whole file at once
//! decides, wherever the chunk boundaries fall.

use proptest::prelude::*;

use super::*;

/// The whole-image scan, kept as the reference: every byte in memory, and a plain byte-wise
/// search for the last non-zero byte.
fn reference_scan(buf: &[u8], seg: &SegmentFile, is_last: bool) -> Result<(u64, u64, usize, Tail), JournalError> {
    check_header(buf, &seg.path)?;
    check_name_seq(seg)?;
    let mut pos = SEGMENT_HEADER_LEN;
    let mut next_seq = seg.first_seq;
    let mut records = 0u64;
    loop {
        let found = frame::decode(buf, pos);
        match found {
            Decoded::Record { seq, next, .. } => {
                check_seq(&seg.path, pos, seq, next_seq)?;
                next_seq = next_seq
                    .checked_add(1)
                    .ok_or_else(|| JournalError::corrupt(&seg.path, pos, "sequence number overflow"))?;
                records += 1;
                pos = next;
            }
            Decoded::End | Decoded::Bad(_) => {
                let rest = buf.get(pos..).unwrap_or_default();
                let Some(last) = rest.iter().rposition(|&b| b != 0).map(|i| pos + i) else {
                    return Ok((records, next_seq, pos, Tail::Clean));
                };
                let defect = match found {
                    Decoded::Bad(defect) => defect,
                    _ => FrameDefect::GarbageAfterEnd,
                };
                if !is_last {
                    return Err(JournalError::corrupt(
                        &seg.path,
                        pos,
                        format!("{defect} in a segment that is not the last"),
                    ));
                }
                if let Some((at, seq)) = frame::find_later_frame(buf, pos + 1, last, next_seq.wrapping_sub(1)) {
                    return Err(JournalError::corrupt(
                        &seg.path,
                        pos,
                        format!("{defect}, yet a valid record with seq {seq} follows at offset {at}"),
                    ));
                }
                return Ok((records, next_seq, pos, Tail::Torn { defect, zero_until: last + 1 }));
            }
        }
    }
}

fn summary(result: Result<(u64, u64, usize, Tail), JournalError>) -> String {
    match result {
        Ok(scan) => format!("{scan:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Scans `image` written to a file, through a reader with `chunk`-byte reads, and the same
/// image in memory; both must agree with the reference. The reader is reused across calls, as
/// replay and recovery reuse theirs.
fn check_agrees(image: &[u8], first_seq: u64, is_last: bool, chunks: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let seg = SegmentFile { first_seq, path: dir.path().join(segment_file_name(first_seq)) };
    fs::write(&seg.path, image).unwrap();
    let want = summary(reference_scan(image, &seg, is_last));
    let in_memory = scan(image, &seg, is_last).map(|s| (s.records, s.next_seq, s.end, s.tail));
    assert_eq!(summary(in_memory), want, "in memory");
    for &chunk in chunks {
        let mut reader = SegmentReader::with_chunk(chunk);
        for round in 0..2 {
            let got = scan_file(&mut reader, &seg, is_last).map(|s| (s.records, s.next_seq, s.end, s.tail));
            assert_eq!(summary(got), want, "chunk {chunk}, round {round}");
        }
    }
}

fn image(first_seq: u64, lens: &[usize], total: usize) -> Vec<u8> {
    let mut buf = header_bytes().to_vec();
    for (i, &len) in lens.iter().enumerate() {
        let seq = first_seq + i as u64;
        let payload: Vec<u8> = (0..len).map(|j| (seq as usize * 7 + j) as u8 | 1).collect();
        frame::encode(&mut buf, seq, &payload);
    }
    buf.resize(total.max(buf.len()), 0);
    buf
}

/// Every chunk size up to a few frames, so each boundary lands in each part of a frame.
fn all_small_chunks() -> Vec<usize> {
    (1..=120).chain([255, 256, 4096]).collect()
}

#[test]
fn clean_segments_agree_for_every_chunk_size() {
    let lens = [1, 40, 3, 200, 17, 64];
    let used = image(1, &lens, 0).len();
    for total in [used, used + 1, used + 15, used + 16, used + 300] {
        for is_last in [false, true] {
            check_agrees(&image(1, &lens, total), 1, is_last, &all_small_chunks());
        }
    }
}

#[test]
fn damaged_segments_agree_for_every_chunk_size() {
    let lens = [5, 40, 30, 70, 12, 40];
    let clean = image(3, &lens, 700);
    let end = image(3, &lens, 0).len();
    let mut cases = Vec::new();
    // A flipped byte in every position of the records and a little beyond.
    for at in (SEGMENT_HEADER_LEN..end + 40).step_by(7) {
        let mut img = clean.clone();
        img[at] ^= 0x40;
        cases.push(img);
    }
    // Garbage far after the end mark, including in the very last byte.
    for at in [end + 1, end + 200, clean.len() - 1] {
        let mut img = clean.clone();
        img[at] = 9;
        cases.push(img);
    }
    // A valid record after a hole.
    let mut hole = clean.clone();
    hole[end + 100..end + 100 + frame::frame_len(4)].copy_from_slice(&{
        let mut f = Vec::new();
        frame::encode(&mut f, 3 + lens.len() as u64, b"late");
        f
    });
    cases.push(hole);
    // Cut short inside the last record, and inside the header.
    cases.push(clean[..end - 3].to_vec());
    cases.push(clean[..10].to_vec());
    for img in &cases {
        for is_last in [false, true] {
            check_agrees(img, 3, is_last, &[1, 2, 5, 16, 17, 33, 56, 57, 100, 4096]);
        }
    }
}

#[test]
fn records_larger_than_a_chunk_grow_the_buffer_and_it_is_reused() {
    let img = image(1, &[10, 5000, 3, 20_000, 7], 40_000);
    check_agrees(&img, 1, true, &[1, 64, 1000, 4096]);
    let mut reader = SegmentReader::with_chunk(64);
    let dir = tempfile::tempdir().unwrap();
    let seg = SegmentFile { first_seq: 1, path: dir.path().join(segment_file_name(1)) };
    fs::write(&seg.path, &img).unwrap();
    let scan = scan_file(&mut reader, &seg, true).unwrap();
    assert_eq!((scan.records, scan.tail), (5, Tail::Clean));
    // The buffer grew to hold the largest record, and the zero tail was checked without
    // growing it further.
    assert!(reader.buf.len() >= frame::frame_len(20_000) && reader.buf.len() < 40_000, "{}", reader.buf.len());
}

#[test]
fn zero_checks_find_every_nonzero_byte() {
    for len in [0, 1, 7, 8, 255, 256, 257, 511, 512, 513, 1000] {
        let zeros = vec![0u8; len];
        assert!(is_zero(&zeros));
        assert_eq!(last_nonzero(&zeros), None);
        for at in 0..len {
            let mut bytes = zeros.clone();
            bytes[at] = 0x80;
            assert!(!is_zero(&bytes), "len {len}, at {at}");
            assert_eq!(last_nonzero(&bytes), Some(at), "len {len}");
            if at > 0 {
                bytes[at / 2] = 1;
                assert_eq!(last_nonzero(&bytes), Some(at), "len {len}");
            }
        }
    }
}

/// A writer appends after the reader decoded the end of the data, as a tailing reader may see.
fn append_after_end_was_seen(seen: &[u8], written: &[u8]) -> Tail {
    let dir = tempfile::tempdir().unwrap();
    let seg = SegmentFile { first_seq: 1, path: dir.path().join(segment_file_name(1)) };
    fs::write(&seg.path, seen).unwrap();
    let mut reader = SegmentReader::with_chunk(64);
    reader.open(&seg.path).unwrap();
    reader.check_header().unwrap();
    let mut pos = SEGMENT_HEADER_LEN;
    while let Decoded::Record { next, .. } = reader.decode(pos).unwrap() {
        pos = next;
    }
    assert_eq!(pos, SEGMENT_HEADER_LEN + 2 * frame::frame_len(20));
    fs::write(&seg.path, written).unwrap();
    reader.finish(pos, 2, true).unwrap()
}

#[test]
fn records_appended_after_the_end_was_seen_are_not_corruption() {
    let before = image(1, &[20, 20], 2000);
    let after = image(1, &[20, 20, 20, 20, 20, 20, 20, 20], 2000);
    // The end mark was read as zeros; the rest of the file, read later, holds the new records.
    assert_eq!(append_after_end_was_seen(&before, &after), Tail::Clean);
    // Part of the first new record was already visible, so it decoded as torn.
    let end = SEGMENT_HEADER_LEN + 2 * frame::frame_len(20);
    let mut torn = before.clone();
    torn[end..end + 10].copy_from_slice(&after[end..end + 10]);
    assert_eq!(append_after_end_was_seen(&torn, &after), Tail::Clean);
    // A static file with the same bytes is judged as before.
    check_agrees(&torn, 1, true, &[64]);
    check_agrees(&after, 1, true, &[64]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn chunked_scan_agrees_with_the_whole_image(
        parts in prop::collection::vec((0u8..8, 1u64..12, prop::collection::vec(any::<u8>(), 1..90)), 0..20),
        zero_tail in 0usize..400,
        is_last in any::<bool>(),
        chunk in 1usize..200,
    ) {
        let mut img = header_bytes().to_vec();
        let mut next_seq = 1;
        for (kind, seq, bytes) in &parts {
            match kind {
                // Mostly records in sequence, so the scan gets past the first few.
                0..=4 => {
                    frame::encode(&mut img, next_seq, bytes);
                    next_seq += 1;
                }
                5 => frame::encode(&mut img, *seq, bytes),
                6 => img.extend_from_slice(&bytes[..bytes.len() / 3]),
                _ => img.resize(img.len() + bytes.len() * 4, 0),
            }
        }
        img.resize(img.len() + zero_tail, 0);
        check_agrees(&img, 1, is_last, &[chunk]);
    }
}
