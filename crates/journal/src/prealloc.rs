//! Zero-filled segment files prepared ahead of time on a background thread.
//!
//! Writing 64 MiB of zeros takes a noticeable fraction of a second; doing it inside `commit`
//! at a rollover would stall every caller waiting on that batch. The next segment is
//! therefore prepared as soon as the current one starts, under a name the journal ignores,
//! and only renamed into place when needed.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use crate::segment::header_bytes;

/// Name of the segment being prepared. It never matches the segment pattern, so readers and
/// recovery ignore it; recovery deletes a leftover one.
pub(crate) const PREALLOC_NAME: &str = "segment.prealloc";

const ZERO_CHUNK: usize = 1024 * 1024;

/// A fully written, synced, zero-filled segment file with its header.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub file: File,
    pub path: PathBuf,
    pub len: u64,
}

/// Creates `path` with a segment header and `len` bytes in total, all really written (not
/// sparse, not unwritten extents), then syncs it so later `fdatasync`s only flush data.
pub(crate) fn prepare(path: &Path, len: u64, cancel: &AtomicBool) -> io::Result<Prepared> {
    let result = write_zeroed(path, len, cancel);
    if result.is_err() {
        // Best effort: a half-written file is useless and would only be deleted at next open.
        let _ = fs::remove_file(path);
    }
    result
}

fn write_zeroed(path: &Path, len: u64, cancel: &AtomicBool) -> io::Result<Prepared> {
    let mut file = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
    let header = header_bytes();
    file.write_all(&header)?;
    let zeros = vec![0u8; ZERO_CHUNK];
    let mut written = header.len() as u64;
    while written < len {
        if cancel.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "preallocation cancelled"));
        }
        let n = (len - written).min(ZERO_CHUNK as u64) as usize;
        file.write_all(&zeros[..n])?;
        written += n as u64;
    }
    file.sync_all()?;
    Ok(Prepared { file, path: path.to_path_buf(), len: written })
}

/// Extends a prepared file with zeros so a record larger than a normal segment fits.
pub(crate) fn grow(prepared: &mut Prepared, len: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    if prepared.len >= len {
        return Ok(());
    }
    prepared.file.seek(SeekFrom::Start(prepared.len))?;
    let zeros = vec![0u8; ZERO_CHUNK];
    while prepared.len < len {
        let n = (len - prepared.len).min(ZERO_CHUNK as u64) as usize;
        prepared.file.write_all(&zeros[..n])?;
        prepared.len += n as u64;
    }
    prepared.file.sync_all()
}

/// Owns at most one background preparation at a time.
#[derive(Debug)]
pub(crate) struct Preallocator {
    path: PathBuf,
    len: u64,
    job: Option<JoinHandle<io::Result<Prepared>>>,
    cancel: Arc<AtomicBool>,
}

impl Preallocator {
    pub fn new(dir: &Path, len: u64) -> Self {
        Preallocator { path: dir.join(PREALLOC_NAME), len, job: None, cancel: Arc::new(AtomicBool::new(false)) }
    }

    /// Starts preparing the next segment in the background. If the thread cannot be spawned
    /// the segment is simply prepared synchronously at the next [`Preallocator::take`].
    pub fn start(&mut self) {
        if self.job.is_some() {
            return;
        }
        let path = self.path.clone();
        let len = self.len;
        let cancel = Arc::clone(&self.cancel);
        self.job =
            thread::Builder::new().name("journal-prealloc".into()).spawn(move || prepare(&path, len, &cancel)).ok();
    }

    /// Hands over the prepared segment, waiting for the background job if it is still
    /// running, or preparing one synchronously if there is none or it failed.
    pub fn take(&mut self) -> io::Result<Prepared> {
        if let Some(job) = self.job.take()
            && let Ok(Ok(prepared)) = job.join()
        {
            return Ok(prepared);
        }
        // A failed background attempt gets one synchronous retry, so a transient error (or a
        // panic in the thread) does not poison the writer.
        prepare(&self.path, self.len, &self.cancel)
    }
}

impl Drop for Preallocator {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Some(job) = self.job.take() {
            // Joining keeps the thread from creating files after the owner is gone (for
            // example after a test's temporary directory was removed).
            if let Ok(Ok(prepared)) = job.join() {
                drop(prepared.file);
                let _ = fs::remove_file(&prepared.path);
            }
        }
    }
}
