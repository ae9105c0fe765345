//! Record framing: `crc u32 | len u32 | seq u64 | payload`, little-endian (see the crate docs).

use std::fmt;

/// Bytes in front of every payload: crc, len, seq.
pub const FRAME_HEADER_LEN: usize = 16;

/// Largest payload one record may carry (16 MiB).
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Why the bytes at some offset are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameDefect {
    /// Fewer than [`FRAME_HEADER_LEN`] bytes are left in the segment and they are not zero.
    PartialHeader,
    /// The length field exceeds [`MAX_PAYLOAD`].
    LengthTooLarge { len: u32 },
    /// The length field points past the end of the segment.
    PastSegmentEnd { len: u32 },
    /// The stored CRC does not match the bytes.
    CrcMismatch { stored: u32, computed: u32 },
    /// The length field is zero (end of data) but non-zero bytes follow.
    GarbageAfterEnd,
}

impl fmt::Display for FrameDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameDefect::PartialHeader => write!(f, "partial record header at segment end"),
            FrameDefect::LengthTooLarge { len } => {
                write!(f, "impossible length {len} (max {MAX_PAYLOAD})")
            }
            FrameDefect::PastSegmentEnd { len } => {
                write!(f, "length {len} runs past the segment end")
            }
            FrameDefect::CrcMismatch { stored, computed } => {
                write!(f, "CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
            FrameDefect::GarbageAfterEnd => write!(f, "non-zero bytes after the end-of-data mark"),
        }
    }
}

/// What [`decode`] found at an offset.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A valid record; its payload is `buf[payload_start .. next]`.
    Record {
        seq: u64,
        payload_start: usize,
        next: usize,
    },
    /// A zero length field, or the segment is exactly full: no more records here. The caller
    /// still has to check that nothing but zeros follows.
    End,
    Bad(FrameDefect),
}

/// Total bytes a record with `payload_len` bytes occupies.
pub(crate) const fn frame_len(payload_len: usize) -> usize {
    FRAME_HEADER_LEN + payload_len
}

/// Appends one encoded frame to `out`, computing the CRC in a single pass over the bytes.
pub(crate) fn encode(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let start = out.len();
    // The length was validated by the caller against MAX_PAYLOAD, which fits in u32.
    let len = payload.len() as u32;
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn read_u64(buf: &[u8], at: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Decodes the frame starting at `pos` in a whole segment image `buf`. Never panics.
#[inline]
pub(crate) fn decode(buf: &[u8], pos: usize) -> Decoded {
    let rest = buf.len().saturating_sub(pos);
    if rest < FRAME_HEADER_LEN {
        // A full segment may end with a few spare bytes; they must be zero.
        let tail = buf.get(pos..).unwrap_or_default();
        return if tail.iter().all(|&b| b == 0) { Decoded::End } else { Decoded::Bad(FrameDefect::PartialHeader) };
    }
    let (Some(stored), Some(len), Some(seq)) = (read_u32(buf, pos), read_u32(buf, pos + 4), read_u64(buf, pos + 8))
    else {
        return Decoded::Bad(FrameDefect::PartialHeader);
    };
    if len == 0 {
        return Decoded::End;
    }
    if len as usize > MAX_PAYLOAD {
        return Decoded::Bad(FrameDefect::LengthTooLarge { len });
    }
    let payload_start = pos + FRAME_HEADER_LEN;
    let next = payload_start + len as usize;
    let Some(covered) = buf.get(pos + 4..next) else {
        return Decoded::Bad(FrameDefect::PastSegmentEnd { len });
    };
    let computed = crc32fast::hash(covered);
    if computed != stored {
        return Decoded::Bad(FrameDefect::CrcMismatch { stored, computed });
    }
    Decoded::Record { seq, payload_start, next }
}

/// Looks for a valid frame starting anywhere in `from ..= last_start` whose seq lies in
/// `(after_seq, after_seq + n]`, where `n` bounds how many records could fit in the region.
/// Used to tell a torn tail (nothing valid follows) from mid-log corruption.
///
/// The seq window keeps this linear in practice: random bytes almost never pass it, so the CRC
/// is only computed for genuine candidates.
pub(crate) fn find_later_frame(buf: &[u8], from: usize, last_start: usize, after_seq: u64) -> Option<(usize, u64)> {
    let region = last_start.saturating_sub(from) + 1;
    let max_seq = after_seq.saturating_add((region / (FRAME_HEADER_LEN + 1)) as u64 + 1);
    let mut pos = from;
    while pos <= last_start {
        if let (Some(len), Some(seq)) = (read_u32(buf, pos + 4), read_u64(buf, pos + 8))
            && len != 0
            && seq > after_seq
            && seq <= max_seq
            && let Decoded::Record { seq, .. } = decode(buf, pos)
        {
            return Some((pos, seq));
        }
        pos += 1;
    }
    None
}

#[cfg(test)]
mod tests;
