//! Arbitrary bytes and random damage never panic; recovery either refuses with `Corrupt` or
//! yields an exact prefix of what was written.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use proptest::prelude::*;
use rucksack_journal::{
    JournalConfig, JournalError, JournalReader, JournalWriter, SEGMENT_HEADER_LEN, SnapshotStore, segment_file_name,
};

const TINY: JournalConfig = JournalConfig { segment_bytes: 4096 };

fn header() -> Vec<u8> {
    let mut h = rucksack_journal::SEGMENT_MAGIC.to_vec();
    h.extend_from_slice(&rucksack_journal::SEGMENT_VERSION.to_le_bytes());
    h.extend_from_slice(&[0; 4]);
    h
}

/// Opens and reads `dir` both ways; neither may panic.
fn open_and_read(dir: &Path) -> Result<Vec<(u64, Vec<u8>)>, JournalError> {
    let mut read = Vec::new();
    let mut reader = JournalReader::open(dir)?;
    let reader_result = reader.for_each(0, |seq, p| read.push((seq, p.to_vec())));
    let (writer, recovery) = JournalWriter::open(dir, TINY)?;
    // Recovery accepted the journal, so the reader (which saw it before repair) must have too,
    // and both must agree on the records.
    let stats = reader_result.map_err(|e| panic!("reader failed where recovery succeeded: {e}"))?;
    assert_eq!(stats.last_seq.unwrap_or(0), recovery.last_seq);
    assert_eq!(read.len() as u64, recovery.records);
    drop(writer);
    let after = read_all(dir, 0);
    assert_eq!(after, read, "repair changed valid records");
    Ok(after)
}

#[derive(Debug, Clone)]
enum Damage {
    Xor { segment: usize, at: usize, mask: u8 },
    Zero { segment: usize, at: usize, len: usize },
    Truncate { segment: usize, at: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>(), 1u8..).prop_map(|(segment, at, mask)| Damage::Xor { segment, at, mask }),
        2 => (any::<usize>(), any::<usize>(), 1usize..200).prop_map(|(segment, at, len)| Damage::Zero { segment, at, len }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(segment, at)| Damage::Truncate { segment, at }),
    ]
}

fn apply(dir: &Path, d: &Damage) {
    let segs = segments(dir);
    if segs.is_empty() {
        return;
    }
    let pick = |i: usize| &segs[i % segs.len()];
    match *d {
        Damage::Xor { segment, at, mask } => {
            let path = pick(segment);
            let mut bytes = fs::read(path).unwrap();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
                fs::write(path, bytes).unwrap();
            }
        }
        Damage::Zero { segment, at, len } => {
            let path = pick(segment);
            let mut bytes = fs::read(path).unwrap();
            if !bytes.is_empty() {
                let from = at % bytes.len();
                let to = (from + len).min(bytes.len());
                bytes[from..to].fill(0);
                fs::write(path, bytes).unwrap();
            }
        }
        Damage::Truncate { segment, at } => {
            let path = pick(segment);
            let len = fs::metadata(path).unwrap().len();
            fs::File::options().write(true).open(path).unwrap().set_len(at as u64 % (len + 1)).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_as_a_segment_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        with_header in any::<bool>(),
        first_seq in 0u64..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut file = if with_header { header() } else { Vec::new() };
        file.extend_from_slice(&bytes);
        fs::write(dir.path().join(segment_file_name(first_seq)), &file).unwrap();
        let _ = open_and_read(dir.path());
    }

    #[test]
    fn random_frames_and_noise_never_panic(
        parts in prop::collection::vec(
            prop_oneof![
                (1u64..12, prop::collection::vec(any::<u8>(), 1..60)).prop_map(|(s, p)| frame(s, &p)),
                prop::collection::vec(any::<u8>(), 0..40),
                (0usize..40).prop_map(|n| vec![0u8; n]),
            ],
            0..30,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut file = header();
        for p in &parts {
            file.extend_from_slice(p);
        }
        fs::write(dir.path().join(segment_file_name(1)), &file).unwrap();
        if let Ok(records) = open_and_read(dir.path()) {
            for (i, (seq, _)) in records.iter().enumerate() {
                prop_assert_eq!(*seq, i as u64 + 1);
            }
        }
    }

    #[test]
    fn damage_yields_corrupt_or_an_exact_prefix(
        lens in prop::collection::vec(1usize..120, 1..150),
        batch in 1usize..20,
        damages in prop::collection::vec(damage(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = JournalWriter::open(dir.path(), TINY).unwrap();
        let written: Vec<(u64, Vec<u8>)> =
            lens.iter().enumerate().map(|(i, &len)| (i as u64 + 1, payload(i as u64 + 1, len))).collect();
        for (i, (seq, p)) in written.iter().enumerate() {
            w.append(*seq, p).unwrap();
            if (i + 1) % batch == 0 {
                w.commit().unwrap();
            }
        }
        w.commit().unwrap();
        drop(w);
        for d in &damages {
            apply(dir.path(), d);
        }
        match open_and_read(dir.path()) {
            Ok(records) => prop_assert_eq!(&records[..], &written[..records.len()]),
            Err(JournalError::Corrupt { offset, segment, .. }) => {
                prop_assert!(segment.starts_with(dir.path()));
                let len = fs::metadata(&segment).map(|m| m.len()).unwrap_or(0);
                prop_assert!(offset <= len.max(SEGMENT_HEADER_LEN as u64));
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn random_snapshot_files_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        keep_valid in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path()).unwrap();
        if keep_valid {
            store.write(1, b"valid").unwrap();
        }
        fs::write(dir.path().join("snapshot-00000000000000000002.snap"), &bytes).unwrap();
        match store.latest() {
            Ok(Some(s)) => prop_assert!(s.seq == 1 || s.seq == 2),
            Ok(None) => prop_assert!(false, "a snapshot file exists"),
            Err(e) => prop_assert!(!keep_valid, "{e}"),
        }
        store.prune(1).unwrap();
    }
}
