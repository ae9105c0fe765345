//! Atomic, checksummed snapshots: `<dir>/snapshot-<seq:020>.snap`.
//!
//! File layout (little-endian):
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"RUCKSNAP"
//! 8       4     format version (1)
//! 12      4     reserved, zero
//! 16      8     seq: the last journal record the snapshot includes
//! 24      8     body length
//! 32      4     CRC-32 of the body
//! 36      4     CRC-32 of bytes 0..36
//! 40      ...   body
//! ```
//!
//! A snapshot is written to `<name>.tmp`, synced, renamed into place and the directory synced,
//! so a crash leaves either the old set of snapshots or the new one, plus at worst a stray
//! `.tmp` file that readers ignore.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::segment::sync_dir;

/// First eight bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"RUCKSNAP";
/// Snapshot file format version.
pub const SNAPSHOT_VERSION: u32 = 1;

const HEADER_LEN: usize = 40;
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";
const TMP_SUFFIX: &str = ".snap.tmp";

/// A snapshot that verified, plus the newer ones that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSnapshot {
    pub seq: u64,
    pub body: Vec<u8>,
    pub path: PathBuf,
    /// Newer snapshot files that failed verification, newest first, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// The snapshot files of one directory. One process should own the directory.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
}

fn snapshot_name(seq: u64) -> String {
    format!("{PREFIX}{seq:020}{SUFFIX}")
}

fn parse_name(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(suffix)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn encode_header(seq: u64, body: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&SNAPSHOT_MAGIC);
    h[8..12].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&seq.to_le_bytes());
    h[24..32].copy_from_slice(&(body.len() as u64).to_le_bytes());
    h[32..36].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
    let header_crc = crc32fast::hash(&h[..36]);
    h[36..40].copy_from_slice(&header_crc.to_le_bytes());
    h
}

fn field<const N: usize>(h: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&h[at..at + N]);
    out
}

impl SnapshotStore {
    /// Opens (creating if needed) the snapshot directory `dir`.
    pub fn open(dir: &Path) -> Result<SnapshotStore, JournalError> {
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(JournalError::io(dir))?;
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            sync_dir(parent)?;
        }
        Ok(SnapshotStore { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a snapshot of the state after record `seq`, atomically: temp file, fsync,
    /// rename, directory fsync. Returns the final path. Rewriting an existing seq replaces it.
    pub fn write(&self, seq: u64, body: &[u8]) -> Result<PathBuf, JournalError> {
        let path = self.dir.join(snapshot_name(seq));
        let tmp = self.dir.join(format!("{PREFIX}{seq:020}{TMP_SUFFIX}"));
        let mut file = File::create(&tmp).map_err(JournalError::io(&tmp))?;
        file.write_all(&encode_header(seq, body))
            .and_then(|()| file.write_all(body))
            .and_then(|()| file.sync_all())
            .map_err(JournalError::io(&tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(JournalError::io(&path))?;
        sync_dir(&self.dir)?;
        Ok(path)
    }

    /// Snapshot files (verified or not) as `(seq, path)`, oldest first. Temp files are not
    /// included.
    pub fn list(&self) -> Result<Vec<(u64, PathBuf)>, JournalError> {
        self.list_with(SUFFIX)
    }

    fn list_with(&self, suffix: &str) -> Result<Vec<(u64, PathBuf)>, JournalError> {
        let entries = fs::read_dir(&self.dir).map_err(JournalError::io(&self.dir))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(JournalError::io(&self.dir))?;
            if let Some(seq) = entry.file_name().to_str().and_then(|n| parse_name(n, suffix)) {
                out.push((seq, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The newest snapshot that verifies. Newer files that fail verification are skipped and
    /// listed in [`LoadedSnapshot::skipped`]. `Ok(None)` means there are no snapshot files at
    /// all; files that exist but none of which verifies are [`JournalError::NoValidSnapshot`],
    /// because silently starting from an empty state would lose everything they covered.
    pub fn latest(&self) -> Result<Option<LoadedSnapshot>, JournalError> {
        let mut skipped = Vec::new();
        for (seq, path) in self.list()?.into_iter().rev() {
            match load(&path, seq) {
                Ok(body) => {
                    return Ok(Some(LoadedSnapshot { seq, body, path, skipped }));
                }
                Err(reason) => skipped.push((path, reason)),
            }
        }
        if skipped.is_empty() { Ok(None) } else { Err(JournalError::NoValidSnapshot { skipped }) }
    }

    /// Keeps the `keep` newest snapshots that verify and deletes every snapshot older than the
    /// oldest of them, plus leftover temp files at or below the newest kept seq. Unverifiable
    /// snapshots never count towards `keep`, so pruning cannot leave only damaged ones; those
    /// newer than the oldest kept one are left for inspection. `keep == 0` deletes all.
    pub fn prune(&self, keep: usize) -> Result<(), JournalError> {
        let all = self.list()?;
        let mut kept = Vec::new();
        if keep > 0 {
            for (seq, path) in all.iter().rev() {
                if load(path, *seq).is_ok() {
                    kept.push(*seq);
                    if kept.len() == keep {
                        break;
                    }
                }
            }
        }
        let (oldest_kept, newest_kept) = match (kept.last(), kept.first()) {
            (Some(&oldest), Some(&newest)) => (oldest, Some(newest)),
            // Fewer than one valid snapshot to keep: delete nothing unless asked to (keep 0).
            _ if keep > 0 => return Ok(()),
            _ => (u64::MAX, None),
        };
        let mut removed = false;
        for (seq, path) in &all {
            if *seq < oldest_kept || keep == 0 {
                fs::remove_file(path).map_err(JournalError::io(path))?;
                removed = true;
            }
        }
        for (seq, path) in self.list_with(TMP_SUFFIX)? {
            if newest_kept.is_none_or(|newest| seq <= newest) {
                fs::remove_file(&path).map_err(JournalError::io(&path))?;
                removed = true;
            }
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Reads and verifies one snapshot file; the error is a human-readable reason.
fn load(path: &Path, name_seq: u64) -> Result<Vec<u8>, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let file_len = file.metadata().map_err(|e| format!("cannot stat: {e}"))?.len();
    let mut h = [0u8; HEADER_LEN];
    file.read_exact(&mut h).map_err(|_| format!("file of {file_len} bytes is shorter than the header"))?;
    if h[..8] != SNAPSHOT_MAGIC {
        return Err("bad magic".into());
    }
    let header_crc = u32::from_le_bytes(field(&h, 36));
    if crc32fast::hash(&h[..36]) != header_crc {
        return Err("header checksum mismatch".into());
    }
    let version = u32::from_le_bytes(field(&h, 8));
    if version != SNAPSHOT_VERSION {
        return Err(format!("unsupported version {version}"));
    }
    let seq = u64::from_le_bytes(field(&h, 16));
    if seq != name_seq {
        return Err(format!("header seq {seq} does not match the file name"));
    }
    let body_len = u64::from_le_bytes(field(&h, 24));
    // Checked against the real file size before allocating, so a damaged length cannot
    // trigger a huge allocation.
    if Some(body_len) != file_len.checked_sub(HEADER_LEN as u64) {
        return Err(format!(
            "header says {body_len} body bytes, file holds {}",
            file_len.saturating_sub(HEADER_LEN as u64)
        ));
    }
    let mut body = Vec::with_capacity(usize::try_from(body_len).map_err(|e| e.to_string())?);
    file.read_to_end(&mut body).map_err(|e| format!("read failed: {e}"))?;
    if body.len() as u64 != body_len {
        return Err("file changed size while being read".into());
    }
    let body_crc = u32::from_le_bytes(field(&h, 32));
    if crc32fast::hash(&body) != body_crc {
        return Err("body checksum mismatch".into());
    }
    Ok(body)
}
