//! Startup validation of the whole journal and repair of a torn tail.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::frame::FrameDefect;
use crate::prealloc::PREALLOC_NAME;
use crate::segment::{self, SegmentFile, SegmentReader, Tail};

/// What [`JournalWriter::open`](crate::JournalWriter::open) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Seq of the last valid record, 0 if the journal is empty.
    pub last_seq: u64,
    /// Seq of the first record still in the journal.
    pub first_seq: Option<u64>,
    /// Valid records across all segments.
    pub records: u64,
    /// Segment files in use after recovery.
    pub segments: usize,
    /// The torn write that was cut off, if any.
    pub truncated_tail: Option<TruncatedTail>,
}

/// A torn or corrupt tail at the end of the last segment that recovery discarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    pub segment: PathBuf,
    /// Byte offset in `segment` of the first discarded byte (the defective record's start).
    pub offset: u64,
    pub reason: FrameDefect,
    /// Length of the discarded region from `offset` up to the last non-zero byte. Recovery
    /// overwrites it with zeros; the reader only reports it.
    pub discarded_bytes: u64,
}

/// The validated journal, ready for the writer to continue.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub segments: Vec<SegmentFile>,
    /// The last segment, opened for writing, and the offset after its last valid record.
    pub tail: Option<OpenTail>,
    pub recovery: Recovery,
}

#[derive(Debug)]
pub(crate) struct OpenTail {
    pub file: File,
    pub segment: SegmentFile,
    pub write_pos: u64,
    pub capacity: u64,
}

/// Validates every record of every segment in `dir`, zeroes a torn tail, and syncs the
/// survivors (records read back after a crash may still sit only in the page cache).
pub(crate) fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    let leftover = dir.join(PREALLOC_NAME);
    if leftover.exists() {
        fs::remove_file(&leftover).map_err(JournalError::io(&leftover))?;
    }

    let mut segments = segment::list_segments(dir)?;
    let mut reader = SegmentReader::default();
    let mut expected: Option<u64> = None;
    let mut first_seq = None;
    let mut records = 0u64;
    let mut truncated_tail = None;
    let mut last_end = 0usize;

    for (i, seg) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        segment::check_continuity(seg, expected)?;
        let scan = segment::scan_file(&mut reader, seg, is_last)?;
        records += scan.records;
        first_seq = first_seq.or(scan.first_record);
        expected = Some(scan.next_seq);
        last_end = scan.end;
        if let Tail::Torn { defect, zero_until } = scan.tail {
            zero_range(&seg.path, scan.end, zero_until)?;
            truncated_tail = Some(TruncatedTail {
                segment: seg.path.clone(),
                offset: scan.end as u64,
                reason: defect,
                discarded_bytes: (zero_until - scan.end) as u64,
            });
        }
        if segments.len() == 1 && records == 0 {
            // The only segment holds nothing (a crash between creating it and the first
            // durable record). Its name would pin the next seq, but an empty journal may
            // start anywhere, so drop it.
            fs::remove_file(&seg.path).map_err(JournalError::io(&seg.path))?;
            segment::sync_dir(dir)?;
            expected = None;
        }
    }
    if expected.is_none() {
        segments.clear();
    }

    let tail = match segments.last() {
        Some(seg) => {
            let file = File::options().read(true).write(true).open(&seg.path).map_err(JournalError::io(&seg.path))?;
            file.sync_data().map_err(JournalError::io(&seg.path))?;
            let capacity = file.metadata().map_err(JournalError::io(&seg.path))?.len();
            Some(OpenTail { file, segment: seg.clone(), write_pos: last_end as u64, capacity })
        }
        None => None,
    };
    if !segments.is_empty() {
        segment::sync_dir(dir)?;
    }

    let last_seq = expected.map_or(0, |next| next.saturating_sub(1));
    Ok(Recovered {
        recovery: Recovery { last_seq, first_seq, records, segments: segments.len(), truncated_tail },
        segments,
        tail,
    })
}

/// Overwrites `from .. to` of a segment with zeros and syncs, so the torn bytes can never be
/// mistaken for records later (for example once new records are written just before them).
fn zero_range(path: &Path, from: usize, to: usize) -> Result<(), JournalError> {
    if to <= from {
        return Ok(());
    }
    let file = File::options().write(true).open(path).map_err(JournalError::io(path))?;
    let zeros = vec![0u8; to - from];
    file.write_all_at(&zeros, from as u64).map_err(JournalError::io(path))?;
    file.sync_data().map_err(JournalError::io(path))
}
