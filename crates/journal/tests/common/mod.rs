//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rucksack_journal::{FRAME_HEADER_LEN, JournalConfig, JournalReader, JournalWriter, SEGMENT_HEADER_LEN};

pub const SMALL: JournalConfig = JournalConfig { segment_bytes: 64 * 1024 };

/// Deterministic payload for `seq`, `len` bytes long.
pub fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq.wrapping_mul(31).wrapping_add(i as u64 * 7) % 251) as u8 + 1).collect()
}

/// Appends `seqs` with fixed-size payloads, committing every `batch` records.
pub fn write_records(dir: &Path, config: JournalConfig, seqs: std::ops::RangeInclusive<u64>, len: usize, batch: usize) {
    let (mut w, _) = JournalWriter::open(dir, config).unwrap();
    for (i, seq) in seqs.enumerate() {
        w.append(seq, &payload(seq, len)).unwrap();
        if (i + 1) % batch == 0 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
}

/// All records, as (seq, payload).
pub fn read_all(dir: &Path, from: u64) -> Vec<(u64, Vec<u8>)> {
    let mut reader = JournalReader::open(dir).unwrap();
    let mut out = Vec::new();
    reader.for_each(from, |seq, p| out.push((seq, p.to_vec()))).unwrap();
    out
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

/// Offset of the `index`-th record (0-based) in a segment whose records all carry
/// `payload_len`-byte payloads.
pub fn record_offset(index: usize, payload_len: usize) -> u64 {
    (SEGMENT_HEADER_LEN + index * (FRAME_HEADER_LEN + payload_len)) as u64
}

pub fn xor_byte(path: &Path, offset: u64, mask: u8) {
    let f = File::options().read(true).write(true).open(path).unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= mask;
    f.write_all_at(&b, offset).unwrap();
    f.sync_data().unwrap();
}

pub fn zero_bytes(path: &Path, offset: u64, len: usize) {
    let f = File::options().write(true).open(path).unwrap();
    f.write_all_at(&vec![0u8; len], offset).unwrap();
    f.sync_data().unwrap();
}

pub fn read_bytes(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let f = File::open(path).unwrap();
    let mut b = vec![0u8; len];
    f.read_exact_at(&mut b, offset).unwrap();
    b
}

/// Encodes one frame the way the format documentation describes it, independently of the
/// crate's encoder.
pub fn frame(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 4];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(payload);
    let crc = crc32fast::hash(&v[4..]);
    v[..4].copy_from_slice(&crc.to_le_bytes());
    v
}

/// Writes a segment file by hand: header, the given frames, zeros up to `size`.
pub fn write_segment(dir: &Path, first_seq: u64, frames: &[Vec<u8>], size: usize) -> PathBuf {
    let mut bytes = rucksack_journal::SEGMENT_MAGIC.to_vec();
    bytes.extend_from_slice(&rucksack_journal::SEGMENT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    for f in frames {
        bytes.extend_from_slice(f);
    }
    bytes.resize(size.max(bytes.len()), 0);
    let path = dir.join(rucksack_journal::segment_file_name(first_seq));
    fs::write(&path, bytes).unwrap();
    path
}

pub fn seg_first_seq(path: &Path) -> u64 {
    path.file_stem().unwrap().to_str().unwrap()["journal-".len()..].parse().unwrap()
}
