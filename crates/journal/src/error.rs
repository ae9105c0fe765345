//! The crate's one error type.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in the journal or the snapshot store.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system call failed on `path`.
    #[error("journal I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Committed data is damaged, or sequence numbers are not contiguous. Recovery refuses to
    /// continue because skipping the damage would silently lose acknowledged records.
    #[error("journal corrupt in segment {} at offset {offset}: {reason}", segment.display())]
    Corrupt { segment: PathBuf, offset: u64, reason: String },

    /// `append` was given a sequence number that does not follow the last one.
    #[error("sequence number {got} rejected: expected {expected}")]
    OutOfOrder { expected: u64, got: u64 },

    /// Sequence number 0 is reserved to mean "nothing yet".
    #[error("sequence number 0 is reserved")]
    ZeroSeq,

    /// Empty payloads are refused: a zero length marks the end of a segment's data.
    #[error("empty payload for seq {seq}")]
    EmptyPayload { seq: u64 },

    #[error("payload of {len} bytes for seq {seq} exceeds the {max}-byte limit")]
    PayloadTooLarge { seq: u64, len: usize, max: usize },

    /// An earlier write or sync failed, so what reached the disk is unknown. The writer refuses
    /// all further work; reopen the journal to recover.
    #[error("journal writer is poisoned by an earlier I/O failure; reopen to recover")]
    Poisoned,

    /// Another writer holds the journal directory.
    #[error("journal directory {} is locked by another writer", dir.display())]
    Locked { dir: PathBuf },

    #[error("invalid journal configuration: {0}")]
    Config(String),

    /// Snapshot files exist but none of them verifies.
    #[error("no snapshot verifies ({} skipped){}", skipped.len(), first_reason(skipped))]
    NoValidSnapshot { skipped: Vec<(PathBuf, String)> },
}

fn first_reason(skipped: &[(PathBuf, String)]) -> String {
    skipped.first().map(|(p, r)| format!(": {}: {r}", p.display())).unwrap_or_default()
}

impl JournalError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
        move |source| JournalError::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn corrupt(segment: &Path, offset: usize, reason: impl Into<String>) -> Self {
        JournalError::Corrupt { segment: segment.to_path_buf(), offset: offset as u64, reason: reason.into() }
    }
}
