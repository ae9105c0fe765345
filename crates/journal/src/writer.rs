//! The single journal writer: in-memory batching, group commit, segment rollover.

use std::fs::{self, File, TryLockError};
use std::mem;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::frame::{self, MAX_PAYLOAD};
use crate::prealloc::{self, Preallocator};
use crate::recovery::{self, Recovery};
use crate::segment::{self, SEGMENT_HEADER_LEN, SegmentFile, segment_file_name};

/// Smallest segment size accepted; anything smaller would hold almost no records.
pub const MIN_SEGMENT_BYTES: u64 = 4096;

const LOCK_NAME: &str = "journal.lock";

/// Tuning for [`JournalWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalConfig {
    /// Size of each preallocated segment file. A record too large for an empty segment of
    /// this size gets a segment of its own, sized to fit.
    pub segment_bytes: u64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig { segment_bytes: 64 * 1024 * 1024 }
    }
}

/// The segment currently written to.
#[derive(Debug)]
struct Active {
    file: File,
    path: PathBuf,
    /// Offset just past the last record written to the file.
    write_pos: u64,
    /// Records written since the last `sync_data`.
    dirty: bool,
}

/// Where, in the pending buffer, records for a new segment begin.
#[derive(Debug, Clone, Copy)]
struct Split {
    at: usize,
    first_seq: u64,
    capacity: u64,
}

/// Appends records and makes them durable in batches. One per directory (enforced with an
/// advisory lock on `journal.lock`).
///
/// Records appended but not yet committed live only in memory and are lost if the writer is
/// dropped; they were never reported durable, so nothing acknowledged is lost.
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    config: JournalConfig,
    segments: Vec<SegmentFile>,
    active: Option<Active>,
    /// Encoded frames not yet written.
    buf: Vec<u8>,
    splits: Vec<Split>,
    /// Where the end of `buf` will land in its segment, and that segment's size (0 = none).
    tail_pos: u64,
    tail_cap: u64,
    last_seq: u64,
    durable_seq: u64,
    poisoned: bool,
    prealloc: Preallocator,
    _lock: File,
    /// Test hook: make the next `sync_data` fail, as a dying disk would.
    #[cfg(test)]
    fail_next_sync: bool,
}

impl JournalWriter {
    /// Opens (creating the dir if needed), validates every record of every segment, repairs a
    /// torn tail, and returns the writer positioned after the last valid record.
    pub fn open(dir: &Path, config: JournalConfig) -> Result<(JournalWriter, Recovery), JournalError> {
        if config.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(JournalError::Config(format!(
                "segment_bytes {} is below the minimum {MIN_SEGMENT_BYTES}",
                config.segment_bytes
            )));
        }
        create_dir(dir)?;
        let lock = lock_dir(dir)?;
        let recovered = recovery::recover(dir)?;
        let last_seq = recovered.recovery.last_seq;
        let (active, tail_pos, tail_cap) = match recovered.tail {
            Some(tail) => (
                Some(Active { file: tail.file, path: tail.segment.path, write_pos: tail.write_pos, dirty: false }),
                tail.write_pos,
                tail.capacity,
            ),
            None => (None, 0, 0),
        };
        let mut prealloc = Preallocator::new(dir, config.segment_bytes);
        prealloc.start();
        let writer = JournalWriter {
            dir: dir.to_path_buf(),
            config,
            segments: recovered.segments,
            active,
            buf: Vec::with_capacity(64 * 1024),
            splits: Vec::new(),
            tail_pos,
            tail_cap,
            last_seq,
            durable_seq: last_seq,
            poisoned: false,
            prealloc,
            _lock: lock,
            #[cfg(test)]
            fail_next_sync: false,
        };
        Ok((writer, recovered.recovery))
    }

    /// Buffers one record in memory. `seq` must be exactly `last_seq() + 1`; the first record
    /// of an empty journal may carry any seq >= 1, so a journal can start after a snapshot.
    /// The payload must be non-empty and at most [`MAX_PAYLOAD`] bytes.
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if seq == 0 {
            return Err(JournalError::ZeroSeq);
        }
        if self.last_seq != 0 && seq != self.last_seq.wrapping_add(1) {
            return Err(JournalError::OutOfOrder { expected: self.last_seq.wrapping_add(1), got: seq });
        }
        if payload.is_empty() {
            return Err(JournalError::EmptyPayload { seq });
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(JournalError::PayloadTooLarge { seq, len: payload.len(), max: MAX_PAYLOAD });
        }
        let need = frame::frame_len(payload.len()) as u64;
        if self.tail_cap == 0 || self.tail_pos + need > self.tail_cap {
            let capacity = self.config.segment_bytes.max(SEGMENT_HEADER_LEN as u64 + need);
            self.splits.push(Split { at: self.buf.len(), first_seq: seq, capacity });
            self.tail_pos = SEGMENT_HEADER_LEN as u64;
            self.tail_cap = capacity;
        }
        frame::encode(&mut self.buf, seq, payload);
        self.tail_pos += need;
        self.last_seq = seq;
        Ok(())
    }

    /// Writes everything buffered (one `pwrite` per segment touched, normally one) and
    /// `fdatasync`s, and only then returns the highest durable seq. This is the group-commit
    /// point: append a whole batch, then commit once.
    ///
    /// On any I/O failure the writer is poisoned: after a failed write or sync the kernel may
    /// have dropped the dirty pages, so retrying could report lost data as durable.
    pub fn commit(&mut self) -> Result<u64, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if self.buf.is_empty() {
            return Ok(self.durable_seq);
        }
        let buf = mem::take(&mut self.buf);
        let splits = mem::take(&mut self.splits);
        let result = self.write_out(&buf, &splits);
        self.buf = buf;
        self.splits = splits;
        match result {
            Ok(()) => {
                self.buf.clear();
                self.splits.clear();
                self.durable_seq = self.last_seq;
                Ok(self.durable_seq)
            }
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    fn write_out(&mut self, buf: &[u8], splits: &[Split]) -> Result<(), JournalError> {
        let first_end = splits.first().map_or(buf.len(), |s| s.at);
        if first_end > 0 {
            self.write_active(&buf[..first_end])?;
        }
        for (i, split) in splits.iter().enumerate() {
            // The old segment must be durable before a newer one exists: recovery treats a
            // damaged segment that is not the last as corruption, not as a torn tail.
            self.sync_active()?;
            self.roll(split.first_seq, split.capacity)?;
            let end = splits.get(i + 1).map_or(buf.len(), |s| s.at);
            self.write_active(&buf[split.at..end])?;
        }
        self.sync_active()
    }

    fn write_active(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        let active = self.active.as_mut().ok_or_else(|| JournalError::Io {
            path: self.dir.clone(),
            source: std::io::Error::other("no active segment to write to"),
        })?;
        active.file.write_all_at(bytes, active.write_pos).map_err(JournalError::io(&active.path))?;
        active.write_pos += bytes.len() as u64;
        active.dirty = true;
        Ok(())
    }

    fn sync_active(&mut self) -> Result<(), JournalError> {
        if let Some(active) = self.active.as_mut()
            && active.dirty
        {
            #[cfg(test)]
            if mem::take(&mut self.fail_next_sync) {
                return Err(JournalError::io(&active.path)(std::io::Error::other("injected fdatasync failure")));
            }
            active.file.sync_data().map_err(JournalError::io(&active.path))?;
            active.dirty = false;
        }
        Ok(())
    }

    /// Moves the prepared zero-filled file into place as the segment starting at `first_seq`.
    fn roll(&mut self, first_seq: u64, capacity: u64) -> Result<(), JournalError> {
        let mut prepared = self.prealloc.take().map_err(JournalError::io(&self.dir))?;
        prealloc::grow(&mut prepared, capacity).map_err(JournalError::io(&prepared.path))?;
        let path = self.dir.join(segment_file_name(first_seq));
        if path.exists() {
            return Err(JournalError::Io { path, source: std::io::ErrorKind::AlreadyExists.into() });
        }
        fs::rename(&prepared.path, &path).map_err(JournalError::io(&path))?;
        segment::sync_dir(&self.dir)?;
        self.segments.push(SegmentFile { first_seq, path: path.clone() });
        self.active = Some(Active { file: prepared.file, path, write_pos: SEGMENT_HEADER_LEN as u64, dirty: false });
        self.prealloc.start();
        Ok(())
    }

    /// Deletes whole segments all of whose records have seq < `keep_from` (typically the seq
    /// after the newest durable snapshot). The segment being written is always kept.
    /// Returns how many segments were removed.
    pub fn remove_segments_before(&mut self, keep_from: u64) -> Result<usize, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        let removable = self.segments.windows(2).take_while(|pair| pair[1].first_seq <= keep_from).count();
        for seg in &self.segments[..removable] {
            fs::remove_file(&seg.path).map_err(JournalError::io(&seg.path))?;
        }
        self.segments.drain(..removable);
        if removable > 0 {
            segment::sync_dir(&self.dir)?;
        }
        Ok(removable)
    }

    /// Seq of the last appended record (0 if the journal is empty).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Seq of the last record known durable.
    pub fn durable_seq(&self) -> u64 {
        self.durable_seq
    }

    /// Whether an I/O failure has stopped this writer for good.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Bytes appended but not yet committed.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segment files on disk, oldest first.
    pub fn segment_paths(&self) -> impl Iterator<Item = &Path> {
        self.segments.iter().map(|s| s.path.as_path())
    }
}

fn create_dir(dir: &Path) -> Result<(), JournalError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(JournalError::io(dir))?;
    // The new directory entry itself must survive a crash, or the whole journal could vanish.
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    segment::sync_dir(parent)
}

/// Holds the journal directory's writer lock without writing: for tools that must not run while
/// a server does (a history rebuild, say). Released when dropped.
#[derive(Debug)]
pub struct JournalLock {
    _file: File,
}

impl JournalLock {
    pub fn acquire(dir: &Path) -> Result<JournalLock, JournalError> {
        lock_dir(dir).map(|file| JournalLock { _file: file })
    }
}

fn lock_dir(dir: &Path) -> Result<File, JournalError> {
    let path = dir.join(LOCK_NAME);
    let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(JournalError::io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::Locked { dir: dir.to_path_buf() }),
        Err(TryLockError::Error(e)) => Err(JournalError::io(&path)(e)),
    }
}

#[cfg(test)]
mod tests;
