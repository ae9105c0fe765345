//! Append-only, segmented, group-committed journal of opaque records, plus atomic snapshots.
//!
//! The journal stores byte payloads keyed by a contiguous `u64` sequence number. It knows
//! nothing about what a payload means: the sequencer encodes commands, this crate makes them
//! durable, and replay hands the same bytes back in the same order.
//!
//! # Pieces
//!
//! * [`JournalWriter`]: the single writer. [`JournalWriter::append`] buffers records in
//!   memory; [`JournalWriter::commit`] writes the whole buffer with one `pwrite` per segment and
//!   one `fdatasync`, and only then reports the batch durable (group commit). Any write or sync
//!   failure poisons the writer: after a failed `fsync` the state of the page cache is unknown,
//!   so the only safe continuation is a restart and recovery.
//! * [`JournalWriter::open`] validates every record of every segment and cuts off a torn tail
//!   (see [`Recovery`]); corruption that is followed by valid data is an error
//!   ([`JournalError::Corrupt`]), never a silent skip.
//! * [`JournalReader`]: fast replay from any sequence number, yielding borrowed payloads.
//! * [`SnapshotStore`]: whole-state snapshots written atomically (temp file, fsync, rename,
//!   directory fsync), with checksum verification and fallback to an older snapshot.
//!
//! # Directory layout
//!
//! ```text
//! <dir>/journal-<first_seq:020>.seg   segments; lexical order = sequence order
//! <dir>/segment.prealloc              next segment, being zero-filled in the background
//! <dir>/journal.lock                  advisory lock held by the one live writer
//! <snapshot dir>/snapshot-<seq:020>.snap
//! ```
//!
//! The snapshot directory is whatever is passed to [`SnapshotStore::open`]; the node uses
//! `<data>/snapshots`. The journal ignores files it does not recognise, so both may share a
//! directory.
//!
//! # Segment format (all integers little-endian)
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"RUCKJRNL"
//! 8       4     format version (1)
//! 12      4     reserved, zero
//! 16      ...   records, back to back, then zeros to the end of the file
//! ```
//!
//! A segment's first sequence number is in its file name. Segments are created at full size
//! and zero-filled by really writing zeros (then `fsync` of file and directory), so an append
//! never changes the file size and `fdatasync` never has to flush inode metadata.
//!
//! # Record frame
//!
//! ```text
//! offset  size  field
//! 0       4     crc    CRC-32 (IEEE, crc32fast) of bytes 4 .. 16+len, i.e. len, seq and payload
//! 4       4     len    payload length, 1 ..= 16 MiB; 0 marks the end of written data
//! 8       8     seq    sequence number
//! 16      len   payload
//! ```
//!
//! Records are packed without padding and never span segments: a record that does not fit in
//! the rest of a segment starts the next one (a record larger than a whole segment gets a
//! segment of its own, sized to fit).
//!
//! # Recovery rules
//!
//! * A defective record (CRC mismatch, impossible length, length running past the segment
//!   end, a partial header, or non-zero bytes after a zero length) in the **last** segment,
//!   with no valid later record after it, is a torn tail: it is reported in
//!   [`Recovery::truncated_tail`], zeroed on disk, synced, and never applied.
//! * Any other defect (in an earlier segment, or followed by a valid record with a later
//!   sequence number), and any sequence gap or duplicate, is [`JournalError::Corrupt`], naming
//!   the segment file and byte offset.
//!
//! # Durability, and its limits
//!
//! * A seq returned by `commit` is on disk: its bytes were written and `fdatasync` returned.
//!   A rollover syncs the old segment before the new one is renamed into place (and the
//!   directory synced), so only the last segment can ever hold a torn write.
//! * A `commit` that failed has an unknown outcome: its records may or may not be found after
//!   a restart. They were never acknowledged, so either is safe.
//! * The disk may persist the pages of one unacknowledged batch out of order; a power cut can
//!   then leave a hole followed by valid records of that same batch. By the rules above that
//!   is reported as `Corrupt` (it cannot be told apart from damage to acknowledged data), and
//!   an operator has to decide; it never happens after a process crash alone, where the page
//!   cache survives.

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod error;
mod frame;
mod prealloc;
mod reader;
mod recovery;
mod segment;
mod snapshot;
mod writer;

pub use error::JournalError;
pub use frame::{FRAME_HEADER_LEN, FrameDefect, MAX_PAYLOAD};
pub use reader::{JournalReader, Record, Records, ReplayStats};
pub use recovery::{Recovery, TruncatedTail};
pub use segment::{SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_VERSION, segment_file_name};
pub use snapshot::{LoadedSnapshot, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SnapshotStore};
pub use writer::{JournalConfig, JournalLock, JournalWriter, MIN_SEGMENT_BYTES};
