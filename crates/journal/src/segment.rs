//! Segment files: naming, header, listing, and the validation scan shared by recovery and
//! replay.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::frame::{self, Decoded, FrameDefect};

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
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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

/// Reads a whole file into `buf`, reusing its allocation across segments.
pub(crate) fn read_whole(path: &Path, buf: &mut Vec<u8>) -> Result<(), JournalError> {
    buf.clear();
    let mut file = File::open(path).map_err(JournalError::io(path))?;
    file.read_to_end(buf).map_err(JournalError::io(path))?;
    Ok(())
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

/// Decides what the end of a segment's records at `pos` means. `found` is what
/// [`frame::decode`] returned there (`End` or `Bad`), `last_seq` the last valid seq before it.
pub(crate) fn classify_tail(
    buf: &[u8],
    pos: usize,
    found: &Decoded,
    last_seq: u64,
    is_last: bool,
    path: &Path,
) -> Result<Tail, JournalError> {
    let rest = buf.get(pos..).unwrap_or_default();
    let Some(last_nonzero) = rest.iter().rposition(|&b| b != 0).map(|i| pos + i) else {
        return Ok(Tail::Clean);
    };
    let defect = match found {
        Decoded::Bad(defect) => *defect,
        _ => FrameDefect::GarbageAfterEnd,
    };
    if !is_last {
        return Err(JournalError::corrupt(path, pos, format!("{defect} in a segment that is not the last")));
    }
    if let Some((at, seq)) = frame::find_later_frame(buf, pos + 1, last_nonzero, last_seq) {
        return Err(JournalError::corrupt(
            path,
            pos,
            format!("{defect}, yet a valid record with seq {seq} follows at offset {at}"),
        ));
    }
    Ok(Tail::Torn { defect, zero_until: last_nonzero + 1 })
}

/// Result of validating one whole segment image.
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

/// Validates every record of a segment image: header, CRCs, contiguous seqs from the seq in
/// its name, and a clean (or, in the last segment, torn) end.
pub(crate) fn scan(buf: &[u8], seg: &SegmentFile, is_last: bool) -> Result<Scan, JournalError> {
    check_header(buf, &seg.path)?;
    check_name_seq(seg)?;
    let mut pos = SEGMENT_HEADER_LEN;
    let mut next_seq = seg.first_seq;
    let mut records = 0u64;
    loop {
        let found = frame::decode(buf, pos);
        match found {
            Decoded::Record { seq, next, .. } => {
                check_seq(&seg.path, pos, seq, next_seq)?;
                next_seq = next_seq
                    .checked_add(1)
                    .ok_or_else(|| JournalError::corrupt(&seg.path, pos, "sequence number overflow"))?;
                records += 1;
                pos = next;
            }
            Decoded::End | Decoded::Bad(_) => {
                let tail = classify_tail(buf, pos, &found, next_seq.wrapping_sub(1), is_last, &seg.path)?;
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
mod tests;
