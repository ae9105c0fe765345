//! Replay: fast sequential reading with CRC and continuity checks and no per-record
//! allocation.
//!
//! Segments are read a chunk at a time into one buffer, reused across segments and passes, and
//! frames are decoded in place; records are handed out as slices borrowed from that buffer,
//! through a lending iterator ([`Records::next`]) or a callback ([`JournalReader::for_each`]).
//!
//! Replay checks exactly what recovery checks, including that nothing but zeros follows the
//! end of the records in every segment, the last one too. That check covers the unused,
//! preallocated part of the last segment, tens of megabytes, but costs little: the zeros are
//! compared a block at a time as each chunk arrives and are never held whole. It is kept
//! because replay is also used on its own, without a writer opening the journal afterwards
//! (`rucksack replay`, `rucksack snapshot`): stopping at the end mark would let it accept a
//! journal whose last segment has valid records after a hole, which recovery rejects as
//! corrupt, and would report no torn tail where there is one.

use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::frame::Decoded;
use crate::recovery::TruncatedTail;
use crate::segment::{self, SEGMENT_HEADER_LEN, SegmentFile, SegmentReader, Tail};

/// One record, borrowing its payload from the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub seq: u64,
    pub payload: &'a [u8],
}

/// Summary of a [`JournalReader::for_each`] pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records handed to the callback.
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// A torn tail at the end of the last segment, which replay stopped at. Recovery
    /// ([`JournalWriter::open`](crate::JournalWriter::open)) would cut it off.
    pub torn_tail: Option<TruncatedTail>,
}

/// Reads a journal directory. Any number of readers may coexist with the writer.
///
/// A reader sees the segments that existed when it was opened (or last
/// [refreshed](JournalReader::refresh)). It reads what is in the files, which with a live
/// writer may include records written but not yet synced; replay for recovery runs before the
/// writer opens, and a tailing reader should stop at the writer's `durable_seq`.
#[derive(Debug)]
pub struct JournalReader {
    dir: PathBuf,
    segments: Vec<SegmentFile>,
    reader: SegmentReader,
}

impl JournalReader {
    /// Lists the segments in `dir`. A missing directory is an empty journal.
    pub fn open(dir: &Path) -> Result<JournalReader, JournalError> {
        Ok(JournalReader {
            dir: dir.to_path_buf(),
            segments: segment::list_segments(dir)?,
            reader: SegmentReader::default(),
        })
    }

    /// Lists the segments again, picking up ones created since opening.
    pub fn refresh(&mut self) -> Result<(), JournalError> {
        self.segments = segment::list_segments(&self.dir)?;
        Ok(())
    }

    /// Seq of the first record the journal can hold, from the oldest segment's name. Replay
    /// after a snapshot at seq `s` needs this to be at most `s + 1`.
    pub fn first_seq(&self) -> Option<u64> {
        self.segments.first().map(|s| s.first_seq)
    }

    /// Segment files, oldest first.
    pub fn segment_paths(&self) -> impl Iterator<Item = &Path> {
        self.segments.iter().map(|s| s.path.as_path())
    }

    /// Iterates records with seq >= `from`, in order, verifying CRCs and seq continuity.
    /// Starts at the segment holding `from`, so earlier segments are not even read.
    pub fn records(&mut self, from: u64) -> Records<'_> {
        let start = self.segments.partition_point(|s| s.first_seq <= from).saturating_sub(1);
        Records {
            segments: &self.segments,
            reader: &mut self.reader,
            idx: start,
            loaded: false,
            pos: 0,
            next_seq: None,
            from,
            done: false,
            torn_tail: None,
        }
    }

    /// Calls `f(seq, payload)` for every record with seq >= `from`, in order.
    pub fn for_each<F>(&mut self, from: u64, mut f: F) -> Result<ReplayStats, JournalError>
    where
        F: FnMut(u64, &[u8]),
    {
        let mut stats = ReplayStats::default();
        let mut records = self.records(from);
        while let Some(record) = records.next() {
            let record = record?;
            f(record.seq, record.payload);
            stats.records += 1;
            stats.first_seq.get_or_insert(record.seq);
            stats.last_seq = Some(record.seq);
        }
        stats.torn_tail = records.torn_tail().cloned();
        Ok(stats)
    }
}

/// Lending iterator over records; see [`JournalReader::records`].
///
/// After the first error it yields nothing more.
#[derive(Debug)]
pub struct Records<'r> {
    segments: &'r [SegmentFile],
    reader: &'r mut SegmentReader,
    idx: usize,
    loaded: bool,
    pos: usize,
    /// Seq the next decoded record must carry; `None` until the first segment is loaded.
    next_seq: Option<u64>,
    from: u64,
    done: bool,
    torn_tail: Option<TruncatedTail>,
}

impl Records<'_> {
    /// The next record, or `None` at the end of the written data.
    #[allow(clippy::should_implement_trait)] // lending: the item borrows from the iterator
    pub fn next(&mut self) -> Option<Result<Record<'_>, JournalError>> {
        match self.advance() {
            Ok(Some((seq, start, end))) => Some(Ok(Record { seq, payload: self.reader.bytes(start, end) })),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// The torn tail replay stopped at, once the iterator is exhausted.
    pub fn torn_tail(&self) -> Option<&TruncatedTail> {
        self.torn_tail.as_ref()
    }

    /// Steps to the next record at or after `from`; returns its seq and payload range.
    fn advance(&mut self) -> Result<Option<(u64, usize, usize)>, JournalError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let segments = self.segments;
            let Some(seg) = segments.get(self.idx) else {
                self.done = true;
                return Ok(None);
            };
            if !self.loaded {
                self.load(seg)?;
            }
            let expected = self.next_seq.unwrap_or(seg.first_seq);
            match self.reader.decode(self.pos)? {
                Decoded::Record { seq, payload_start, next } => {
                    if seq != expected {
                        segment::check_seq(&seg.path, self.pos, seq, expected)?;
                    }
                    self.next_seq = Some(
                        expected
                            .checked_add(1)
                            .ok_or_else(|| JournalError::corrupt(&seg.path, self.pos, "sequence number overflow"))?,
                    );
                    self.pos = next;
                    if seq >= self.from {
                        return Ok(Some((seq, payload_start, next)));
                    }
                }
                Decoded::End | Decoded::Bad(_) => {
                    let is_last = self.idx + 1 == segments.len();
                    let tail = self.reader.finish(self.pos, expected.wrapping_sub(1), is_last)?;
                    if let Tail::Torn { defect, zero_until } = tail {
                        self.torn_tail = Some(TruncatedTail {
                            segment: seg.path.clone(),
                            offset: self.pos as u64,
                            reason: defect,
                            discarded_bytes: zero_until.saturating_sub(self.pos) as u64,
                        });
                    }
                    self.idx += 1;
                    self.loaded = false;
                }
            }
        }
    }

    fn load(&mut self, seg: &SegmentFile) -> Result<(), JournalError> {
        self.reader.open(&seg.path)?;
        self.reader.check_header()?;
        segment::check_name_seq(seg)?;
        segment::check_continuity(seg, self.next_seq)?;
        self.next_seq = Some(seg.first_seq);
        self.pos = SEGMENT_HEADER_LEN;
        self.loaded = true;
        Ok(())
    }
}
