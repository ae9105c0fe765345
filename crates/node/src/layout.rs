//! Where a node keeps its files inside its data directory.

use std::path::{Path, PathBuf};

/// `<data>/journal`: the command journal's segments.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// `<data>/snapshots`: engine snapshots, named by the sequence number they include.
pub fn snapshot_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("snapshots")
}
