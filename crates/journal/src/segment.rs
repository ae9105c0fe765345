//! Segment files: naming, header, listing, and the validation scan shared by recovery and
//! replay.

use std::fmt;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::frame::{self, Decoded, FRAME_HEADER_LEN, FrameDefect, MAX_PAYLOAD};

/// First eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"RUCKJRNL";
/// On-disk format version written in every segment header.
pub const SEGMENT_VERSION: u32 = 1;
/// Bytes before the first record of a segment.
pub const SEGMENT_HEADER_LEN: usize = 16;

const PREFIX: &str = "journal-";
const SUFFIX: &str = ".seg";
const DIGITS: usize = 20;

/// File name of the segment whose first record is `first_seq`. Zero-padding makes lexical
/// order equal sequence order, so `ls` shows the log in order.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{PREFIX}{first_seq:020}{SUFFIX}")
}

/// Inverse of [`segment_file_name`]; anything else is not a segment.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(crate) fn header_bytes() -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h
}

/// A segment file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentFile {
    pub first_seq: u64,
    pub path: PathBuf,
}

/// All segments in `dir`, in sequence order. A missing directory has none.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>, JournalError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io(dir)(e)),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.map_err(JournalError::io(dir))?;
        let name = entry.file_name();
        if let Some(first_seq) = name.to_str().and_then(parse_segment_name) {
            segments.push(SegmentFile { first_seq, path: entry.path() });
        }
    }
    segments.sort_by_key(|s| s.first_seq);
    Ok(segments)
}

/// Makes renames, creations and deletions in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(JournalError::io(dir))
}

pub(crate) fn check_header(buf: &[u8], path: &Path) -> Result<(), JournalError> {
    let Some(header) = buf.get(..SEGMENT_HEADER_LEN) else {
        return Err(JournalError::corrupt(
            path,
            0,
            format!("file of {} bytes is shorter than the segment header", buf.len()),
        ));
    };
    if header[..8] != SEGMENT_MAGIC {
        return Err(JournalError::corrupt(path, 0, "bad segment magic"));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != SEGMENT_VERSION {
        return Err(JournalError::corrupt(path, 8, format!("unsupported segment version {version}")));
    }
    Ok(())
}

/// Checks that a segment's name continues the sequence left by the segment before it.
pub(crate) fn check_continuity(seg: &SegmentFile, expected: Option<u64>) -> Result<(), JournalError> {
    match expected {
        Some(next) if next != seg.first_seq => Err(JournalError::corrupt(
            &seg.path,
            SEGMENT_HEADER_LEN,
            format!(
                "segment starts at seq {} but the previous segment ends at seq {}",
                seg.first_seq,
                next.wrapping_sub(1)
            ),
        )),
        _ => Ok(()),
    }
}

/// Seq 0 means "nothing yet", so no segment can start there.
pub(crate) fn check_name_seq(seg: &SegmentFile) -> Result<(), JournalError> {
    if seg.first_seq == 0 {
        Err(JournalError::corrupt(&seg.path, 0, "segment named with the reserved seq 0"))
    } else {
        Ok(())
    }
}

pub(crate) fn check_seq(path: &Path, pos: usize, seq: u64, expected: u64) -> Result<(), JournalError> {
    if seq == expected {
        Ok(())
    } else {
        let what = if seq < expected { "duplicate or earlier" } else { "gap:" };
        Err(JournalError::corrupt(path, pos, format!("{what} seq {seq} where seq {expected} was expected")))
    }
}

/// How the written data of a segment ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// An end mark (or the exact end of the file) followed only by zeros.
    Clean,
    /// A defect in the last segment with nothing valid after it: bytes `pos .. zero_until`
    /// are a torn write to be discarded.
    Torn { defect: FrameDefect, zero_until: usize },
}

/// Decides what the end of a segment's records means. `rest` holds the segment from the end of
/// its records (file offset `pos`) to the end of the file; `found` is what [`frame::decode`]
/// returned there (`End` or `Bad`), `last_seq` the last valid seq before it.
fn classify_tail(
    rest: &[u8],
    pos: usize,
    found: &Decoded,
    last_seq: u64,
    is_last: bool,
    path: &Path,
) -> Result<Tail, JournalError> {
    let Some(last_nonzero) = last_nonzero(rest) else {
        return Ok(Tail::Clean);
    };
    let defect = match found {
        Decoded::Bad(defect) => *defect,
        _ => FrameDefect::GarbageAfterEnd,
    };
    if !is_last {
        return Err(JournalError::corrupt(path, pos, format!("{defect} in a segment that is not the last")));
    }
    if let Some((at, seq)) = frame::find_later_frame(rest, 1, last_nonzero, last_seq) {
        return Err(JournalError::corrupt(
            path,
            pos,
            format!("{defect}, yet a valid record with seq {seq} follows at offset {}", pos + at),
        ));
    }
    Ok(Tail::Torn { defect, zero_until: pos + last_nonzero + 1 })
}

/// Bytes compared per step by [`is_zero`] and [`last_nonzero`].
const ZERO_BLOCK: usize = 256;

/// Whether every byte is zero. There is no early exit inside a block, so the compiler
/// vectorises the comparison; it runs over the whole unused part of a segment.
fn is_zero(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(ZERO_BLOCK);
    blocks.all(|block| block.iter().fold(0u8, |acc, &b| acc | b) == 0) && blocks.remainder().iter().all(|&b| b == 0)
}

/// Index of the last non-zero byte, searching backwards a block at a time.
fn last_nonzero(bytes: &[u8]) -> Option<usize> {
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(ZERO_BLOCK);
        let block = bytes.get(start..end).unwrap_or_default();
        if !is_zero(block) {
            return block.iter().rposition(|&b| b != 0).map(|i| start + i);
        }
        end = start;
    }
    None
}

/// Bytes asked for per `pread` when reading a segment: large enough that syscalls cost
/// nothing, small enough that the buffer stays in cache while its records are decoded.
pub(crate) const READ_CHUNK: usize = 1024 * 1024;

/// Reads one segment at a time, sequentially, through a buffer reused across segments.
///
/// Only a window of the file is in memory: the records being decoded, read a chunk at a time.
/// A record that straddles a chunk boundary is moved to the front of the buffer and completed
/// by the next read (the buffer grows if a record is larger than a chunk). Past the end mark
/// the rest of the file is only checked to be zero, chunk by chunk, and is read in full only
/// if something non-zero turns up there (a torn tail or corruption, which is rare).
pub(crate) struct SegmentReader {
    /// Always initialised storage; `buf[..filled]` holds file bytes from offset `base`.
    buf: Vec<u8>,
    filled: usize,
    base: usize,
    /// `buf[..filled]` reaches the end of the file.
    eof: bool,
    /// `None` for an in-memory image (whole in `buf`) or before the first `open`.
    file: Option<File>,
    path: PathBuf,
    chunk: usize,
}

impl fmt::Debug for SegmentReader {
    // The buffer holds megabytes of records; show where the window is instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentReader")
            .field("path", &self.path)
            .field("base", &self.base)
            .field("filled", &self.filled)
            .field("eof", &self.eof)
            .field("capacity", &self.buf.len())
            .finish()
    }
}

impl Default for SegmentReader {
    fn default() -> Self {
        SegmentReader::with_chunk(READ_CHUNK)
    }
}

impl SegmentReader {
    /// A reader that asks for `chunk` bytes per read (tests use tiny chunks).
    pub(crate) fn with_chunk(chunk: usize) -> Self {
        SegmentReader {
            buf: Vec::new(),
            filled: 0,
            base: 0,
            eof: true,
            file: None,
            path: PathBuf::new(),
            chunk: chunk.max(1),
        }
    }

    /// A reader over a segment image already in memory.
    #[cfg(test)]
    pub(crate) fn from_image(image: &[u8], path: &Path) -> Self {
        SegmentReader { buf: image.to_vec(), filled: image.len(), path: path.to_path_buf(), ..Default::default() }
    }

    /// Starts reading `path` from its beginning. The buffer is kept.
    pub(crate) fn open(&mut self, path: &Path) -> Result<(), JournalError> {
        let file = File::open(path).map_err(JournalError::io(path))?;
        self.file = Some(file);
        self.path = path.to_path_buf();
        self.base = 0;
        self.filled = 0;
        self.eof = false;
        Ok(())
    }

    /// Checks the segment header.
    pub(crate) fn check_header(&mut self) -> Result<(), JournalError> {
        self.fill(0, SEGMENT_HEADER_LEN)?;
        check_header(self.window(), &self.path)
    }

    /// Decodes the frame at file offset `pos`, which must not lie before the previous one.
    /// Offsets in the result are file offsets. It decides exactly as [`frame::decode`] over
    /// the whole file would: the window holds the whole frame, or reaches the end of the file.
    #[inline]
    pub(crate) fn decode(&mut self, pos: usize) -> Result<Decoded, JournalError> {
        self.fill(pos, FRAME_HEADER_LEN)?;
        let at = pos - self.base;
        if let Some(len) = self.window().get(at + 4..at + 8).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
            && len != 0
            && len as usize <= MAX_PAYLOAD
        {
            self.fill(pos, frame::frame_len(len as usize))?;
        }
        let base = self.base;
        Ok(match frame::decode(self.window(), pos - base) {
            Decoded::Record { seq, payload_start, next } => {
                Decoded::Record { seq, payload_start: base + payload_start, next: base + next }
            }
            other => other,
        })
    }

    /// File bytes `start .. end` of the record [`SegmentReader::decode`] just returned.
    pub(crate) fn bytes(&self, start: usize, end: usize) -> &[u8] {
        self.window().get(start.saturating_sub(self.base)..end.saturating_sub(self.base)).unwrap_or_default()
    }

    /// Decides what the end of records at file offset `pos` (where [`SegmentReader::decode`]
    /// found no record) means, as [`classify_tail`] over the rest of the file does.
    pub(crate) fn finish(&mut self, pos: usize, last_seq: u64, is_last: bool) -> Result<Tail, JournalError> {
        if self.zeros_from(pos)? {
            return Ok(Tail::Clean);
        }
        self.load_rest(pos)?;
        let rest = self.window().get(pos - self.base..).unwrap_or_default();
        // Judge from this one read of the rest, not from bytes at `pos` read a chunk earlier: a
        // writer appending meanwhile must not look like a record after a hole. If `pos` now
        // holds a record, it was appended after the end was seen there, and the end stands.
        let found = frame::decode(rest, 0);
        if let Decoded::Record { .. } = found {
            return Ok(Tail::Clean);
        }
        classify_tail(rest, pos, &found, last_seq, is_last, &self.path)
    }

    fn window(&self) -> &[u8] {
        self.buf.get(..self.filled).unwrap_or_default()
    }

    /// Makes the window hold file bytes `pos .. pos + need`, or up to the end of the file if
    /// that comes first. `pos` must lie within the window (or at its end).
    #[inline]
    fn fill(&mut self, pos: usize, need: usize) -> Result<(), JournalError> {
        debug_assert!(pos >= self.base && pos <= self.base + self.filled, "fill({pos}) outside the window");
        if self.eof || pos + need <= self.base + self.filled {
            return Ok(());
        }
        self.refill(pos, need)
    }

    /// The slow side of [`SegmentReader::fill`], once per chunk.
    #[inline(never)]
    fn refill(&mut self, pos: usize, need: usize) -> Result<(), JournalError> {
        // What lies before `pos` is done with; what follows it is at most part of one record.
        let keep = pos - self.base;
        self.buf.copy_within(keep..self.filled, 0);
        self.filled -= keep;
        self.base = pos;
        let upto = need.max(self.chunk);
        if self.buf.len() < upto {
            self.buf.resize(upto, 0);
        }
        self.read_until(need, upto)
    }

    /// Reads into `buf[filled..upto]` until at least `need` bytes are held or the file ends.
    fn read_until(&mut self, need: usize, upto: usize) -> Result<(), JournalError> {
        let Some(file) = &self.file else {
            self.eof = true;
            return Ok(());
        };
        while self.filled < need {
            let Some(free) = self.buf.get_mut(self.filled..upto) else { break };
            match file.read_at(free, (self.base + self.filled) as u64) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(JournalError::io(&self.path)(e)),
            }
        }
        Ok(())
    }

    /// Whether everything from file offset `pos` to the end of the file is zero. Reads the
    /// rest a chunk at a time, discarding each chunk once checked.
    fn zeros_from(&mut self, pos: usize) -> Result<bool, JournalError> {
        let mut from = pos - self.base;
        loop {
            if !is_zero(self.window().get(from..).unwrap_or_default()) {
                return Ok(false);
            }
            if self.eof {
                return Ok(true);
            }
            self.base += self.filled;
            self.filled = 0;
            from = 0;
            if self.buf.len() < self.chunk {
                self.buf.resize(self.chunk, 0);
            }
            self.read_until(self.chunk, self.chunk)?;
        }
    }

    /// Loads everything from file offset `pos` to the end of the file into the window.
    fn load_rest(&mut self, pos: usize) -> Result<(), JournalError> {
        if self.file.is_none() {
            // An in-memory image is whole already.
            return Ok(());
        }
        self.base = pos;
        self.filled = 0;
        self.eof = false;
        while !self.eof {
            if self.filled == self.buf.len() {
                self.buf.resize((self.buf.len() * 2).max(self.chunk), 0);
            }
            let upto = self.buf.len();
            self.read_until(upto, upto)?;
        }
        Ok(())
    }
}

/// Result of validating one segment.
#[derive(Debug)]
pub(crate) struct Scan {
    pub records: u64,
    pub first_record: Option<u64>,
    /// The seq the next record must carry.
    pub next_seq: u64,
    /// Offset just past the last valid record: where the writer continues.
    pub end: usize,
    pub tail: Tail,
}

/// Validates every record of a segment image held in memory; see [`scan_file`].
#[cfg(test)]
pub(crate) fn scan(buf: &[u8], seg: &SegmentFile, is_last: bool) -> Result<Scan, JournalError> {
    scan_open(&mut SegmentReader::from_image(buf, &seg.path), seg, is_last)
}

/// Validates every record of a segment file, reading it through `reader`.
pub(crate) fn scan_file(reader: &mut SegmentReader, seg: &SegmentFile, is_last: bool) -> Result<Scan, JournalError> {
    reader.open(&seg.path)?;
    scan_open(reader, seg, is_last)
}

/// Validates every record of the segment `reader` has open: header, CRCs, contiguous seqs
/// from the seq in its name, and a clean (or, in the last segment, torn) end.
fn scan_open(reader: &mut SegmentReader, seg: &SegmentFile, is_last: bool) -> Result<Scan, JournalError> {
    reader.check_header()?;
    check_name_seq(seg)?;
    let mut pos = SEGMENT_HEADER_LEN;
    let mut next_seq = seg.first_seq;
    let mut records = 0u64;
    loop {
        match reader.decode(pos)? {
            Decoded::Record { seq, next, .. } => {
                check_seq(&seg.path, pos, seq, next_seq)?;
                next_seq = next_seq
                    .checked_add(1)
                    .ok_or_else(|| JournalError::corrupt(&seg.path, pos, "sequence number overflow"))?;
                records += 1;
                pos = next;
            }
            Decoded::End | Decoded::Bad(_) => {
                let tail = reader.finish(pos, next_seq.wrapping_sub(1), is_last)?;
                return Ok(Scan {
                    records,
                    first_record: (records > 0).then_some(seg.first_seq),
                    next_seq,
                    end: pos,
                    tail,
                });
            }
        }
    }
}

#[cfg(test)]
mod read_tests;
#[cfg(test)]
mod tests;
