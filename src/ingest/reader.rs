//! Reading: a file from its cursor (or stored raw bytes, for a rebuild) ->
//! batches of parsed lines with their compressed bytes. Runs on its own
//! thread; never reads a file whole (memory stays flat whatever its size).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use crate::store::raw::{Dict, Packed, Packer};
use crate::transcript::{self, Parsed};

/// Bytes of complete lines per batch.
pub const BATCH_BYTES: usize = 2 << 20;
/// How many leading bytes the file fingerprint covers.
pub const FINGERPRINT_BYTES: u64 = 4096;
/// How many of the last bytes before the cursor its tail digest covers.
pub const TAIL_BYTES: usize = 4096;

/// A last line without its newline that is not a complete JSON object is
/// held back until the file grows (Claude Code is writing it); once the
/// file has not changed for this long, it is stored as it is, a malformed
/// line (a session that stopped mid-line), so that it outlives the file.
pub const STALE_TAIL_NS: i64 = 3_600 * 1_000_000_000;

/// Whether a file last modified at `mtime_ns` has been still for
/// `STALE_TAIL_NS`.
pub fn is_stale(mtime_ns: i64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    now.saturating_sub(mtime_ns) >= STALE_TAIL_NS
}

/// Whether `buf` (holding a newline) has only blanks (space, tab, `\r`)
/// before its first newline: the rest of a line taken without its newline.
fn continues_blank(buf: &[u8]) -> bool {
    buf.iter()
        .take_while(|b| **b != b'\n')
        .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
        && buf.contains(&b'\n')
}

/// Why a cut last line stored as it is is malformed (a read and a rebuild
/// say it alike).
fn cut_line(error: &str) -> String {
    format!(
        "an incomplete last line, the file unchanged for over an hour (a session that stopped mid-line?): {error}"
    )
}

/// One non-blank line, classified.
#[derive(Debug)]
pub struct Item {
    pub line_no: u64,
    pub offset: u64,
    pub len: u64,
    pub parsed: Parsed,
}

/// Where a file's reading stands after a batch (committed with its rows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub read_offset: u64,
    pub line_count: u64,
    /// Bytes seen: read_offset plus any held-back tail.
    pub size: u64,
    pub mtime_ns: i64,
    pub dev: u64,
    pub ino: u64,
    pub fingerprint: u64,
    pub fingerprint_len: u64,
    pub held_back_bytes: u64,
    /// The last bytes before read_offset (TAIL_BYTES, or all of them in a
    /// shorter file): how many, and their FNV-1a 64; (0, 0) when the batch
    /// read none (the stored tail stays).
    pub tail_len: u64,
    pub tail_digest: u64,
}

#[derive(Debug)]
pub struct Batch {
    pub job: usize,
    pub start_offset: u64,
    pub first_line: u64,
    /// The bytes [start_offset, cursor.read_offset), compressed; None in a rebuild.
    pub raw: Option<Packed>,
    pub items: Vec<Item>,
    /// None in a rebuild (the cursor is already right).
    pub cursor: Option<Cursor>,
    /// Bytes of transcript read for this batch.
    pub bytes_read: u64,
    /// A final line without newline that is not yet a complete JSON object.
    pub held_back_line: Option<u64>,
}

#[derive(Debug)]
pub enum Msg {
    Batch(Box<Batch>),
    /// The file could not be (fully) read; rows sent before stay valid.
    Failed {
        job: usize,
        error: std::io::Error,
    },
    /// The file was rewritten or cut shorter while it was read: what was
    /// sent before stays (read before the change), the rest is not.
    Changed {
        job: usize,
    },
    /// The file holds a line too long to hold (see [`LineTooLong`], whose
    /// message this is): what was sent before stays, the rest is not read.
    TooLong {
        job: usize,
        message: String,
    },
}

/// The error a read stops with when its file changed under it (see
/// [`Msg::Changed`]).
#[derive(Debug)]
struct ChangedWhileRead;

impl std::fmt::Display for ChangedWhileRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("changed while it was read")
    }
}

impl std::error::Error for ChangedWhileRead {}

fn changed() -> std::io::Error {
    std::io::Error::other(ChangedWhileRead)
}

/// The longest line read. A longer one (a file of NULs a crash or a
/// preallocation left, with no newline; never a Claude Code line) would be
/// held in memory whole, and one past the memory there is aborted every
/// run, every file with it: the file is read no further (a
/// [`LineTooLong`] failure), its lines before it stay.
pub const MAX_LINE_BYTES: usize = 256 << 20;

/// A file's read stopped at a line longer than [`MAX_LINE_BYTES`].
#[derive(Debug)]
struct LineTooLong {
    line: u64,
    offset: u64,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} (from byte {}) is longer than {} MiB, the longest observatory reads: the file is read no further ({}if it is not a transcript, move it out of projects/)",
            self.line,
            self.offset,
            MAX_LINE_BYTES >> 20,
            if self.offset > 0 {
                "its lines before are stored; "
            } else {
                ""
            }
        )
    }
}

impl std::error::Error for LineTooLong {}

/// Whether the file a [`LineTooLong`] message (as stored: after the file's
/// path) names has lines before its long one: its "(from byte N)" is past 0.
pub fn cut_after_lines(message: &str) -> bool {
    const FROM: &str = "(from byte ";
    message.rfind(FROM).is_some_and(|i| {
        let digits = &message[i + FROM.len()..];
        let end = digits.find(')').unwrap_or(digits.len());
        digits[..end].parse::<u64>().is_ok_and(|n| n > 0)
    })
}

/// The least a read asks the OS for.
const MIN_READ: usize = 64 << 10;

/// What to read from one file.
#[derive(Debug, Clone)]
pub struct ReadJob {
    pub job: usize,
    pub path: PathBuf,
    pub start_offset: u64,
    /// Physical lines before start_offset.
    pub start_lines: u64,
    /// Read about this many bytes at most: whole lines, up to the last line
    /// end within the bound, stopping once within `MIN_READ` of it (one
    /// line longer than that is read whole). The cursor says where; the
    /// next run goes on from there.
    pub max_bytes: Option<u64>,
    /// The fingerprint (and its length) of the first bytes the file was
    /// planned with, when the read goes on from a cursor: a file rewritten
    /// since is not read on from there (see `Msg::Changed`).
    pub expect_head: Option<(u64, u64)>,
}

/// FNV-1a 64: a stable, dependency-free hash for the file fingerprint.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_more(FNV_START, bytes)
}

/// FNV-1a 64's starting state, and the state after more bytes: the hash of
/// bytes in pieces is that of the bytes at once.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
pub fn fnv1a_more(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Hash of the first `len` bytes of `file` (fewer if it is shorter).
pub fn fingerprint(file: &File, len: u64) -> std::io::Result<(u64, u64)> {
    let mut buf = Vec::new();
    read_head(file, len as usize, &mut buf)?;
    Ok((fnv1a(&buf), buf.len() as u64))
}

/// The first `len` bytes of `file` into `buf` (fewer if it is shorter).
fn read_head(file: &File, len: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.resize(len, 0);
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..], got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    buf.truncate(got);
    Ok(())
}

/// Split `buf` (whole lines, each ending in `\n`) into items.
/// Returns the number of physical lines.
pub fn split_lines(buf: &[u8], base_offset: u64, first_line: u64, out: &mut Vec<Item>) -> u64 {
    let mut line_no = first_line;
    let mut start = 0usize;
    for nl in memchr::memchr_iter(b'\n', buf) {
        push_line(&buf[start..nl], base_offset + start as u64, line_no, out);
        line_no += 1;
        start = nl + 1;
    }
    line_no - first_line
}

fn push_line(bytes: &[u8], offset: u64, line_no: u64, out: &mut Vec<Item>) {
    let parsed = transcript::parse_line_at(bytes, offset);
    if !matches!(parsed, Parsed::Blank) {
        out.push(Item {
            line_no,
            offset,
            // (without the line end: a CRLF line's `\r` is part of it)
            len: bytes.strip_suffix(b"\r").unwrap_or(bytes).len() as u64,
            parsed,
        });
    }
}

/// A thread that compresses a batch's bytes while the reader parses them
/// (zstd is about half of the reader's work, and the reader, not SQLite,
/// sets a cold ingest's pace).
pub struct Zip {
    /// a batch's buffer and how many of its bytes to compress
    tx: SyncSender<(Arc<Vec<u8>>, usize)>,
    rx: std::sync::mpsc::Receiver<std::io::Result<Packed>>,
    /// Compresses small batches in place; None with a dictionary (one
    /// context holds it: ~7 MB).
    here: Option<Packer>,
}

impl Zip {
    /// Below this many bytes a batch is compressed in place (without a
    /// dictionary): handing it over costs more than it saves.
    const MIN_BYTES: usize = 64 << 10;

    /// The contexts a Zip compresses with: the zip thread's (with `dict`,
    /// if any), and the one for small batches (none with a dictionary).
    pub fn packers(dict: Option<Dict>) -> std::io::Result<(Packer, Option<Packer>)> {
        let here = match dict {
            Some(_) => None,
            None => Some(Packer::new(None)?),
        };
        Ok((Packer::new(dict)?, here))
    }

    /// Start the zip thread in `scope`; it ends when the Zip is dropped.
    pub fn spawn<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        (mut there, here): (Packer, Option<Packer>),
    ) -> Zip {
        let (tx, jobs) = std::sync::mpsc::sync_channel::<(Arc<Vec<u8>>, usize)>(1);
        let (done, rx) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for (bytes, len) in jobs {
                let packed = there.pack(&bytes[..len]);
                drop(bytes); // before `finish` returns: the reader's buffer is its own again
                if done.send(packed).is_err() {
                    break;
                }
            }
        });
        Zip { tx, rx, here }
    }

    /// Compress the first `len` bytes of `buf`: hand them to the zip thread
    /// (true; `finish` gives them back), or compress them here when they are
    /// few and there is no dictionary (false, and `packed` holds them).
    fn start(
        &mut self,
        buf: &Arc<Vec<u8>>,
        len: usize,
        packed: &mut Option<Packed>,
    ) -> std::io::Result<bool> {
        if let Some(here) = self.here.as_mut().filter(|_| len < Self::MIN_BYTES) {
            *packed = Some(here.pack(&buf[..len])?);
            return Ok(false);
        }
        self.tx
            .send((Arc::clone(buf), len))
            .map_err(|_| Zip::gone())?;
        Ok(true)
    }

    /// The compressed bytes handed over by the last `start`.
    fn finish(&self) -> std::io::Result<Packed> {
        self.rx.recv().map_err(|_| Zip::gone())?
    }

    fn gone() -> std::io::Error {
        std::io::Error::other("the compression thread stopped")
    }
}

/// Bytes of batches read but not yet stored that the reader may run ahead
/// of the writer: two full batches, or many small ones. The slack used to
/// be two batches whatever their size, and most files are much smaller than
/// a batch: in a 1 GiB cold ingest the writer waited 1.6 s for batches and
/// the reader 4 s for room (median wall 12.1 -> 10.05 s with this bound; 6
/// or 8 MiB gained no more and cost 5-15 MB of peak memory with the 600 MB
/// file).
pub const IN_FLIGHT_BYTES: u64 = 2 * BATCH_BYTES as u64;

/// Batches the writer has stored, handed back to be freed on the reader
/// thread that allocated their rows (glibc frees from another thread cost
/// the writer, the pipeline's slow stage, several percent of its time), and
/// the count of bytes still in flight.
pub struct Spent {
    rx: std::sync::mpsc::Receiver<Box<Batch>>,
    in_flight: u64,
}

impl Spent {
    pub fn new(rx: std::sync::mpsc::Receiver<Box<Batch>>) -> Spent {
        Spent { rx, in_flight: 0 }
    }

    /// Free what came back, then wait until `bytes` more fit in
    /// IN_FLIGHT_BYTES (one batch always fits when nothing is in flight).
    fn make_room(&mut self, bytes: u64) {
        while let Ok(done) = self.rx.try_recv() {
            self.in_flight -= done.bytes_read;
        }
        while self.in_flight > 0 && self.in_flight + bytes > IN_FLIGHT_BYTES {
            match self.rx.recv() {
                Ok(done) => self.in_flight -= done.bytes_read,
                // (the writer is gone: sending tells the reader so)
                Err(_) => break,
            }
        }
        self.in_flight += bytes;
    }
}

/// Read one file from its cursor to its end, sending batches (and freeing
/// spent ones). Returns false if the receiver hung up.
pub fn read_file(job: &ReadJob, tx: &SyncSender<Msg>, spent: &mut Spent, zip: &mut Zip) -> bool {
    match read_file_inner(job, tx, spent, zip) {
        Ok(alive) => alive,
        Err(e) if e.get_ref().is_some_and(|e| e.is::<ChangedWhileRead>()) => {
            tx.send(Msg::Changed { job: job.job }).is_ok()
        }
        Err(e) if e.get_ref().is_some_and(|e| e.is::<LineTooLong>()) => tx
            .send(Msg::TooLong {
                job: job.job,
                message: e.to_string(),
            })
            .is_ok(),
        Err(e) => tx
            .send(Msg::Failed {
                job: job.job,
                error: e,
            })
            .is_ok(),
    }
}

fn read_file_inner(
    job: &ReadJob,
    tx: &SyncSender<Msg>,
    spent: &mut Spent,
    zip: &mut Zip,
) -> std::io::Result<bool> {
    let mut file = File::open(&job.path)?;
    let meta = file.metadata()?;
    // (the first bytes read once: the fingerprint, the plan's check, and
    // the bytes each later read is compared with)
    let mut head = Vec::new();
    read_head(&file, FINGERPRINT_BYTES as usize, &mut head)?;
    let (fp, fp_len) = (fnv1a(&head), head.len() as u64);
    if let Some((planned, len)) = job.expect_head
        && head.get(..len as usize).is_none_or(|h| fnv1a(h) != planned)
    {
        return Err(changed());
    }
    let mut again = Vec::with_capacity(head.len());
    let mut cursor = Cursor {
        read_offset: job.start_offset,
        line_count: job.start_lines,
        size: job.start_offset,
        mtime_ns: super::discover::mtime_ns(&meta),
        dev: meta.dev(),
        ino: meta.ino(),
        fingerprint: fp,
        fingerprint_len: fp_len,
        held_back_bytes: 0,
        tail_len: 0,
        tail_digest: 0,
    };
    // The last line read may have been taken without its newline (a
    // complete object at the end of the file): the newline that comes
    // later ends that line, it does not start a new one.
    // (a file cut shorter since it was planned reads none: not open)
    let mut last = [0u8; 1];
    let mut open_line = job.start_offset > 0
        && file.read_at(&mut last, job.start_offset - 1).ok() == Some(1)
        && last[0] != b'\n';
    file.seek(SeekFrom::Start(job.start_offset))?;
    // (read up to the size it had when opened: what is appended meanwhile
    // is the next run's, so a writer that keeps appending cannot keep a
    // run reading for as long as it writes)
    let mut unread = meta.len().saturating_sub(job.start_offset);
    let mut read_more = |buf: &mut Vec<u8>, want: u64| -> std::io::Result<usize> {
        let n = (&file).take(want.min(unread)).read_to_end(buf)?;
        unread -= n as u64;
        Ok(n)
    };
    let remaining = meta.len().saturating_sub(job.start_offset) as usize;
    // (shared with the zip thread while it compresses, not copied)
    let mut shared = Arc::new(Vec::with_capacity(remaining.min(BATCH_BYTES) + 65536));
    let mut eof = false;
    // (how much of the buffer's start holds no newline: a long line is
    // searched once, not again at each read that extends it)
    let mut searched = 0;
    loop {
        let buf = Arc::get_mut(&mut shared).ok_or_else(Zip::gone)?;
        // Fill up to a batch (more if one line is longer than that), or to
        // what is left of this read's bound (64 KiB at least).
        let left = job.max_bytes.map_or(usize::MAX, |m| {
            usize::try_from(m.saturating_sub(cursor.read_offset - job.start_offset))
                .unwrap_or(usize::MAX)
        });
        let fill = BATCH_BYTES.min(left.max(1));
        while !eof && buf.len() < fill {
            // read_to_end into spare capacity: no zero-filling of the buffer
            let want = (fill - buf.len()).max(MIN_READ) as u64;
            let n = read_more(buf, want)?;
            if n == 0 {
                eof = true;
            }
        }
        // The file still begins as it did when it was opened: rewritten in
        // place meanwhile (an editor, `cat >`, a sync tool), what was read
        // could be the old file's start and the new one's end, and the line
        // at the seam one nobody wrote. Not sent: the next ingest reads the
        // new file as a new generation. (An append leaves the start as it
        // was; a rewrite writes it first.)
        read_head(&file, head.len(), &mut again)?;
        if again != head {
            return Err(changed());
        }
        let complete = match memchr::memrchr(b'\n', &buf[searched..]) {
            Some(i) => searched + i + 1,
            None if eof => 0,
            None if buf.len() > MAX_LINE_BYTES => {
                return Err(std::io::Error::other(LineTooLong {
                    line: cursor.line_count + 1,
                    offset: cursor.read_offset,
                }));
            }
            None => {
                // A line longer than the buffer: keep reading.
                searched = buf.len();
                let n = read_more(buf, BATCH_BYTES as u64)?;
                if n == 0 {
                    eof = true;
                }
                continue;
            }
        };
        let mut items = Vec::new();
        let start_offset = cursor.read_offset;
        // (its first segment, empty or blanks, is numbered as that open
        // line)
        let was_open = std::mem::take(&mut open_line);
        let ends_open_line = was_open && complete > 0 && continues_blank(&buf[..complete]);
        let first_line = cursor.line_count + 1 - u64::from(ends_open_line);
        let mut consumed = complete;
        let mut held_back = false;
        let mut tail_item = None;
        let last = eof;
        if eof && complete < buf.len() {
            // A final line without a newline: ingest it if it is a complete
            // JSON object, else hold it back until the file grows, or store
            // it as it is once the file has been still for STALE_TAIL_NS
            // (looked at again now: it may have grown while being read).
            let tail = &buf[complete..];
            // (its length without a `\r` at its end, as push_line's)
            let tail_len = tail.strip_suffix(b"\r").unwrap_or(tail).len() as u64;
            let end = start_offset + buf.len() as u64;
            let still = || {
                file.metadata()
                    .is_ok_and(|m| m.len() == end && is_stale(super::discover::mtime_ns(&m)))
            };
            match transcript::parse_line_at(tail, start_offset + complete as u64) {
                Parsed::Record(r) => {
                    tail_item = Some((tail_len, Parsed::Record(r)));
                    consumed = buf.len();
                    cursor.line_count += 1;
                }
                Parsed::Blank if still() => {
                    consumed = buf.len();
                    // (blanks after an open line, no newline yet: more of
                    // that line, not one of their own)
                    if !(was_open && complete == 0) {
                        cursor.line_count += 1;
                    }
                }
                Parsed::Malformed(e) if still() => {
                    tail_item = Some((tail_len, Parsed::Malformed(cut_line(&e))));
                    consumed = buf.len();
                    cursor.line_count += 1;
                }
                Parsed::Blank => cursor.held_back_bytes = tail.len() as u64,
                Parsed::Malformed(_) => {
                    cursor.held_back_bytes = tail.len() as u64;
                    held_back = true;
                }
            }
        }
        // The last TAIL_BYTES before the new cursor: of this batch, and when
        // it read fewer (a line or two appended, or none: a line held back,
        // maybe where a cut line was read again from its start), the bytes
        // before it, read again from the file (they were checked unchanged
        // when this read was planned). Read before the zip thread is given
        // the batch: a read that fails once it has it would leave its
        // result for the next file's batch.
        let own = consumed.min(TAIL_BYTES);
        let before = ((TAIL_BYTES - own) as u64).min(start_offset) as usize;
        let mut earlier = vec![0u8; before];
        // (gone: the file was cut shorter since)
        file.read_exact_at(&mut earlier, start_offset - before as u64)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => changed(),
                _ => e,
            })?;
        // compress on the zip thread while this one parses
        let mut raw = None;
        let zipping = consumed > 0 && zip.start(&shared, consumed, &mut raw)?;
        let buf = &shared[..];
        let lines = split_lines(&buf[..complete], start_offset, first_line, &mut items);
        if let Some((len, parsed)) = tail_item {
            items.push(Item {
                line_no: first_line + lines,
                offset: start_offset + complete as u64,
                len,
                parsed,
            });
        }
        let held_back_line = held_back.then_some(first_line + lines);
        cursor.line_count += lines - u64::from(ends_open_line);
        cursor.read_offset = start_offset + consumed as u64;
        {
            let h = fnv1a_more(FNV_START, &earlier);
            cursor.tail_digest = fnv1a_more(h, &buf[consumed - own..consumed]);
            cursor.tail_len = (earlier.len() + own) as u64;
        }
        cursor.size = cursor.read_offset + cursor.held_back_bytes;
        if zipping {
            raw = Some(zip.finish()?);
        }
        let batch = Batch {
            job: job.job,
            start_offset,
            first_line,
            raw,
            items,
            cursor: Some(cursor),
            bytes_read: consumed as u64,
            held_back_line,
        };
        spent.make_room(batch.bytes_read);
        if tx.send(Msg::Batch(Box::new(batch))).is_err() {
            return Ok(false);
        }
        // (within MIN_READ of the bound is at it: the next read would pass it)
        if last
            || job
                .max_bytes
                .is_some_and(|m| cursor.read_offset - job.start_offset + MIN_READ as u64 > m)
        {
            return Ok(true);
        }
        // (finish got the zip thread's share back)
        Arc::get_mut(&mut shared)
            .ok_or_else(Zip::gone)?
            .drain(..consumed);
        searched = 0;
    }
}

/// Re-split stored raw bytes (a rebuild): one batch per chunk.
pub fn raw_chunk_batch(job: usize, start_offset: u64, first_line: u64, bytes: &[u8]) -> Batch {
    let mut items = Vec::new();
    let complete = memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1);
    let lines = split_lines(&bytes[..complete], start_offset, first_line, &mut items);
    if complete < bytes.len() {
        // a final line stored without its newline: a complete object, or
        // a cut line stored once its file was still for an hour
        push_line(
            &bytes[complete..],
            start_offset + complete as u64,
            first_line + lines,
            &mut items,
        );
        if let Some(Item {
            parsed: Parsed::Malformed(e),
            offset,
            ..
        }) = items.last_mut()
            && *offset == start_offset + complete as u64
        {
            *e = cut_line(e);
        }
    }
    Batch {
        job,
        start_offset,
        first_line,
        raw: None,
        items,
        cursor: None,
        bytes_read: 0,
        held_back_line: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(items: &[Item]) -> Vec<(u64, &'static str)> {
        items
            .iter()
            .map(|i| {
                (
                    i.line_no,
                    match i.parsed {
                        Parsed::Blank => "blank",
                        Parsed::Malformed(_) => "malformed",
                        Parsed::Record(_) => "record",
                    },
                )
            })
            .collect()
    }

    #[test]
    fn split_counts_blank_lines_but_keeps_no_item_for_them() {
        let mut out = Vec::new();
        let n = split_lines(
            b"{\"type\":\"x\"}\n \t\x0b\x0c\r\n}{\n\n{\"a\":1}\r\n",
            100,
            7,
            &mut out,
        );
        assert_eq!(n, 5);
        assert_eq!(
            kinds(&out),
            vec![(7, "record"), (9, "malformed"), (11, "record")]
        );
        assert_eq!(out[0].offset, 100);
        assert_eq!(out[1].offset, 100 + 13 + 6);
    }

    fn job(path: &std::path::Path, start: u64, lines: u64) -> ReadJob {
        ReadJob {
            job: 0,
            path: path.to_owned(),
            start_offset: start,
            start_lines: lines,
            max_bytes: None,
            expect_head: None,
        }
    }

    /// What reading `job` sends, in order.
    fn messages(job: &ReadJob) -> Vec<Msg> {
        let (tx, rx) = std::sync::mpsc::sync_channel(64);
        // (nothing is handed back: with the sender gone, the reader does
        // not wait for room)
        let (_, spent) = std::sync::mpsc::channel();
        let mut spent = Spent::new(spent);
        std::thread::scope(|scope| {
            let mut zip = Zip::spawn(scope, Zip::packers(None).unwrap());
            assert!(read_file(job, &tx, &mut spent, &mut zip));
        });
        drop(tx);
        rx.into_iter().collect()
    }

    fn run(path: &std::path::Path, start: u64, lines: u64) -> Vec<Batch> {
        messages(&job(path, start, lines))
            .into_iter()
            .map(|m| match m {
                Msg::Batch(b) => *b,
                Msg::Failed { error, .. } => panic!("{error}"),
                Msg::Changed { .. } => panic!("changed while read"),
                Msg::TooLong { message, .. } => panic!("{message}"),
            })
            .collect()
    }

    /// A file rewritten in place while it is read (`dd conv=notrunc`, an
    /// editor writing over it) is never sent as the old file's start and
    /// the new one's end, with a line at the seam that nobody wrote: every
    /// line sent is the old file's, at its place, and the read stops there.
    #[test]
    fn a_file_rewritten_while_it_is_read_sends_only_its_old_lines() {
        use std::io::Write as _;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.jsonl");
        let file = |c: char, width: usize| -> Vec<u8> {
            (0..(32 << 20) / width)
                .flat_map(|i| {
                    let head = format!("{{\"type\":\"user\",\"uuid\":\"{c}{i:08}\",\"x\":\"");
                    let pad = width - head.len() - 3;
                    format!("{head}{}\"}}\n", c.to_string().repeat(pad)).into_bytes()
                })
                .collect()
        };
        let (old, new) = (file('a', 600), file('b', 850));
        std::fs::write(&p, &old).unwrap();
        // (room for one batch: the reader waits, having read at most three,
        // until the file is all new, and reads the rest after it)
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let reading = job(&p, 0, 0);
        let (_, spent) = std::sync::mpsc::channel();
        let mut spent = Spent::new(spent);
        let mut sent = Vec::new();
        let mut changed = false;
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                std::thread::scope(|inner| {
                    let mut zip = Zip::spawn(inner, Zip::packers(None).unwrap());
                    read_file(&reading, &tx, &mut spent, &mut zip)
                })
            });
            // the first batch read, the file is written over from its start
            let mut first = Some(rx.recv().unwrap());
            let mut f = std::fs::File::options().write(true).open(&p).unwrap();
            for part in new.chunks(1 << 20) {
                f.write_all(part).unwrap();
            }
            // (until the reader ends, dropping its sender)
            for m in first.take().into_iter().chain(rx.iter()) {
                match m {
                    Msg::Batch(b) => sent.push(*b),
                    Msg::Changed { .. } => changed = true,
                    Msg::Failed { error, .. } => panic!("{error}"),
                    Msg::TooLong { message, .. } => panic!("{message}"),
                }
            }
            assert!(reader.join().unwrap());
        });
        let mut lines = 0;
        for item in sent.iter().flat_map(|b| &b.items) {
            let at = item.offset as usize;
            let bytes = &old[at..at + item.len as usize + 1];
            assert_eq!(
                (item.line_no, &bytes[bytes.len() - 1..]),
                (at as u64 / 600 + 1, &b"\n"[..]),
                "line {} at {at} is not the old file's line there ({:?})",
                item.line_no,
                String::from_utf8_lossy(&bytes[..80.min(bytes.len())])
            );
            assert!(matches!(item.parsed, Parsed::Record(_)));
            lines += 1;
        }
        assert!(lines >= 1);
        assert!(changed, "{lines} lines read, no change said");

        // one planned to be read on from a cursor, rewritten before it is
        // opened: not read on from there
        let planned = ReadJob {
            expect_head: Some(fingerprint(&std::fs::File::open(&p).unwrap(), 4096).unwrap()),
            ..job(&p, 600, 1)
        };
        std::fs::write(&p, &old).unwrap();
        let got: Vec<&str> = messages(&planned)
            .into_iter()
            .map(|m| match m {
                Msg::Batch(_) => "batch",
                Msg::Changed { .. } => "changed",
                Msg::Failed { .. } | Msg::TooLong { .. } => "failed",
            })
            .collect();
        assert_eq!(got, ["changed"]);
    }

    #[test]
    fn a_partial_last_line_is_held_back_and_a_complete_one_is_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.jsonl");
        std::fs::write(&p, b"{\"type\":\"user\"}\n{\"type\":\"assis").unwrap();
        let b = run(&p, 0, 0);
        let last = b.last().unwrap();
        let c = last.cursor.unwrap();
        assert_eq!(
            (c.read_offset, c.line_count, c.held_back_bytes),
            (16, 1, 14)
        );
        assert_eq!(last.held_back_line, Some(2));
        std::fs::write(&p, b"{\"type\":\"user\"}\n{\"type\":\"assistant\"}").unwrap();
        let b = run(&p, c.read_offset, c.line_count);
        let c2 = b.last().unwrap().cursor.unwrap();
        assert_eq!(
            (c2.read_offset, c2.line_count, c2.held_back_bytes),
            (36, 2, 0)
        );
        assert_eq!(kinds(&b[0].items), vec![(2, "record")]);
        // the stored raw bytes give the file back
        let raw = zstd::stream::decode_all(&b[0].raw.as_ref().unwrap().data[..]).unwrap();
        assert_eq!(raw, b"{\"type\":\"assistant\"}");
    }

    #[test]
    fn a_partial_last_line_of_a_file_still_for_an_hour_is_stored_as_malformed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.jsonl");
        // (written, then last changed an hour and a second ago)
        let write_still = |content: &[u8]| {
            std::fs::write(&p, content).unwrap();
            let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3_601);
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(old).unwrap();
        };
        let content = b"{\"type\":\"user\"}\n{\"type\":\"assis";
        write_still(content);
        let b = run(&p, 0, 0);
        let last = b.last().unwrap();
        let c = last.cursor.unwrap();
        assert_eq!(
            (c.read_offset, c.line_count, c.held_back_bytes),
            (content.len() as u64, 2, 0)
        );
        assert_eq!(last.held_back_line, None);
        assert_eq!(kinds(&last.items), vec![(1, "record"), (2, "malformed")]);
        let Parsed::Malformed(why) = &last.items[1].parsed else {
            unreachable!()
        };
        assert!(why.contains("unchanged for over an hour"), "{why}");
        let raw = zstd::stream::decode_all(&last.raw.as_ref().unwrap().data[..]).unwrap();
        assert_eq!(raw, content);
        // a blank tail is taken too (its bytes are the file's)
        write_still(b"{\"type\":\"user\"}\n  ");
        let c = run(&p, 0, 0).last().unwrap().cursor.unwrap();
        assert_eq!((c.read_offset, c.line_count, c.held_back_bytes), (18, 2, 0));
    }

    #[test]
    fn long_lines_span_buffers() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big.jsonl");
        let big = format!(
            "{{\"type\":\"user\",\"x\":\"{}\"}}\n",
            "a".repeat(BATCH_BYTES * 2 + 17)
        );
        let mut content = big.clone().into_bytes();
        content.extend_from_slice(b"{\"type\":\"system\"}\n");
        std::fs::write(&p, &content).unwrap();
        let batches = run(&p, 0, 0);
        let items: Vec<_> = batches.iter().flat_map(|b| kinds(&b.items)).collect();
        assert_eq!(items, vec![(1, "record"), (2, "record")]);
        let c = batches.last().unwrap().cursor.unwrap();
        assert_eq!(c.read_offset, content.len() as u64);
    }

    /// A line past MAX_LINE_BYTES (here a preallocated file of NULs with
    /// no newline, sparse) stops the file's read with a LineTooLong naming
    /// it, instead of growing the buffer until the process is aborted; the
    /// lines before it are sent.
    #[test]
    fn a_line_too_long_to_hold_stops_the_file_not_the_process() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.jsonl");
        std::fs::write(&p, b"{\"type\":\"user\"}\n").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_len(MAX_LINE_BYTES as u64 + (40 << 20)).unwrap();
        let mut items = Vec::new();
        let mut failed = None;
        for m in messages(&job(&p, 0, 0)) {
            match m {
                Msg::Batch(b) => items.extend(kinds(&b.items)),
                Msg::TooLong { message, .. } => failed = Some(message),
                Msg::Failed { error, .. } => panic!("{error}"),
                Msg::Changed { .. } => panic!("changed"),
            }
        }
        assert_eq!(items, vec![(1, "record")]);
        let why = failed.expect("the read stops with an error");
        assert!(
            why.starts_with("line 2 (from byte 16) is longer than 256 MiB"),
            "{why}"
        );
    }
}
