//! The compression of the stored raw bytes (`raw_chunks`): zstd level 3,
//! with a dictionary made of the user's own transcript lines once there are
//! enough of them (`raw_dicts`, schema 10).
//!
//! A file's chunks are compressed on their own (they are read back one at a
//! time), so a chunk cannot borrow from the files around it: the tool
//! schemas, system reminders, file contents and phrasing that sessions
//! repeat. A dictionary gives every chunk that context. It is raw content,
//! not a trained zstd dictionary: whole lines from the middle of files
//! spread over what a run reads (64 KiB from each of 64 files, or a share
//! of 4 MiB from each of fewer). Measured on 200 files of the 1 GiB
//! benchmark corpus, each compressed alone (zstd 1.5.4's command line):
//! 14.86 MB plain; 14.29 MB with a 112 KB trained dictionary; 11.54 MB with
//! this sample; 10.89 / 10.12 MB with 4 / 8 MiB of consecutive lines
//! (memory decided against 8). On the public corpus of real transcripts,
//! with a dictionary sampled from it: 3.35 -> 2.53 MB; with one sampled
//! from other authors' repositories only, 1-8% less.
//!
//! A dictionary holds bytes of the files it was sampled from: forgetting
//! one of them replaces it with one sampled from the lines kept, and
//! re-compresses every chunk that used it (`retire`).

use std::collections::HashMap;
use std::io;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use zstd::dict::DecoderDictionary;
use zstd::zstd_safe::{CCtx, CParameter, DCtx, DictAttachPref};

/// zstd level. The compressor has a core's slack only while the writer is
/// the slower stage: level 3 runs at ~360 MB/s on this corpus, level 5 at
/// ~135 MB/s for 1.5% fewer bytes.
pub const LEVEL: i32 = 3;

/// The size of a dictionary: 4 MiB of lines (1 MiB of them saved 10% of
/// the compressed bytes, 2 MiB 16%, 4 MiB 22-27%, 8 MiB 32%).
pub const DICT_BYTES: usize = 4 << 20;

/// How much of each sampled file goes into a dictionary (from its middle,
/// whole lines), when there are 64 files or more.
const SAMPLE_BYTES: u64 = 64 << 10;

/// A run that reads this much into a database without a dictionary makes
/// one: stored compressed, it costs ~1 MB, which 32 MiB of lines repay
/// several times over.
pub const DICT_FROM_BYTES: u64 = 32 << 20;

/// A run that reads less than this compresses without the dictionary:
/// loading it (~1 MB to decompress and index) would cost more time than a
/// few small appended chunks save in bytes. Small trailing chunks are
/// merged later anyway.
pub const DICT_USE_BYTES: u64 = 4 << 20;

/// How many hash bits a compression with a dictionary uses. zstd indexes
/// only the last 2^(hash_log + 3) bytes of a dictionary (1 MiB at level 3's
/// 17): 19 covers all 4 MiB. On the 200 files: level 3 alone 0.2001 of the
/// bytes, with the dictionary at 17 bits 0.1791, at 19 bits 0.1415, at 20
/// bits 0.1403; compression time +13-21% at 19 bits (level 1 or 2 with the
/// dictionary is no faster).
const DICT_HASH_LOG: u32 = 19;

/// With a dictionary, zstd (level 3, double-fast) copies the dictionary's
/// index into the context at the start of every chunk larger than 16 KiB
/// and then searches the chunk and the dictionary as one "external"
/// window: at 2.3 MB of tables per chunk that copy was a tenth of the
/// compression, and the external-window search its slowest path. Attached
/// instead (searched in place), with the short table at 14 bits rather
/// than 16, the same 300 files of the 1 GiB benchmark corpus compress at
/// ~350 MB/s instead of ~280, to 0.1408 of their bytes instead of 0.1419
/// (`zstd_safe` 1.5.7; each file alone, in 2 MiB chunks, as ingest does);
/// cold ingests of the corpus ~0.5 s faster (3 pairs, attach alone).
const DICT_CHAIN_LOG: u32 = 14;

/// A dictionary's id and content.
pub struct Dict {
    pub id: i64,
    content: Vec<u8>,
}

/// Compressed bytes, and the dictionary they need.
#[derive(Debug)]
pub struct Packed {
    pub dict: Option<i64>,
    pub data: Vec<u8>,
}

fn zstd_error(code: usize) -> io::Error {
    io::Error::other(format!("zstd: {}", zstd::zstd_safe::get_error_name(code)))
}

/// One compression context (creating one per chunk costs more than
/// compressing a small file), with or without a dictionary. With one, the
/// context indexes it once (~10 ms, ~7 MB) and keeps it for every chunk.
pub struct Packer {
    dict: Option<i64>,
    cctx: CCtx<'static>,
    /// Where a chunk is compressed (room for the worst case); each Packed
    /// gets a copy of what it holds (~0.14 of it with a dictionary): at
    /// the worst case's size, the three or so chunks in flight of a load
    /// held ~6 MiB for ~1 MiB of bytes.
    out: Vec<u8>,
}

impl Packer {
    pub fn new(dict: Option<Dict>) -> io::Result<Packer> {
        let mut cctx = CCtx::create();
        cctx.set_parameter(CParameter::CompressionLevel(LEVEL))
            .map_err(zstd_error)?;
        // Each frame ends with its content's checksum (4 bytes of XXH64):
        // a byte changed in a stored chunk is damage when it is read (a
        // changed literal byte gave other bytes back without a word), and
        // a chunk that is healed must give it again (`checksum_of`).
        // (Cold ingests of 1 GiB, 3 alternating pairs: 7.26-7.91 s against
        // 7.47-9.72 s without, no difference above the noise; +16 KB.)
        cctx.set_parameter(CParameter::ChecksumFlag(true))
            .map_err(zstd_error)?;
        let id = match dict {
            None => None,
            Some(d) => {
                cctx.set_parameter(CParameter::HashLog(DICT_HASH_LOG))
                    .map_err(zstd_error)?;
                cctx.set_parameter(CParameter::ChainLog(DICT_CHAIN_LOG))
                    .map_err(zstd_error)?;
                cctx.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))
                    .map_err(zstd_error)?;
                cctx.load_dictionary(&d.content).map_err(zstd_error)?;
                Some(d.id)
            }
        };
        Ok(Packer {
            dict: id,
            cctx,
            out: Vec::new(),
        })
    }

    pub fn pack(&mut self, bytes: &[u8]) -> io::Result<Packed> {
        self.out.clear();
        self.out
            .reserve_exact(zstd::zstd_safe::compress_bound(bytes.len()));
        self.cctx
            .compress2(&mut self.out, bytes)
            .map_err(zstd_error)?;
        Ok(Packed {
            dict: self.dict,
            data: self.out.as_slice().to_vec(),
        })
    }
}

/// Decompresses stored chunks, loading each dictionary they name once.
pub struct Unpacker {
    dicts: HashMap<i64, DecoderDictionary<'static>>,
    dctx: DCtx<'static>,
}

/// Reads stored lines back from their chunks, keeping the last chunk
/// unpacked (a session's lines are mostly in a few).
#[derive(Default)]
pub struct LineReader {
    unpacker: Unpacker,
    // (chunk id, its bytes)
    chunk: Option<(i64, Vec<u8>)>,
}

impl LineReader {
    /// The stored bytes of line `line_id` (without its line end); None if
    /// no chunk holds them (forgotten).
    pub fn line(&mut self, conn: &Connection, line_id: i64) -> anyhow::Result<Option<Vec<u8>>> {
        let found: Option<(i64, u64, u64, u64)> = conn
            .prepare_cached(
                "SELECT c.id, c.start_offset, l.byte_offset, l.byte_len
                 FROM lines l JOIN raw_chunks c ON c.file_id = l.file_id
                   AND c.start_offset <= l.byte_offset AND l.byte_offset + l.byte_len <= c.end_offset
                 WHERE l.id = ?1 ORDER BY c.start_offset DESC LIMIT 1",
            )?
            .query_row([line_id], |r| {
                let n = |i| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
                Ok((r.get(0)?, n(1)?, n(2)?, n(3)?))
            })
            .optional()?;
        let Some((id, start, offset, len)) = found else {
            return Ok(None);
        };
        let plain = match &self.chunk {
            Some((cached, plain)) if *cached == id => plain,
            _ => {
                let plain = chunk(conn, &mut self.unpacker, id)?;
                &self.chunk.insert((id, plain)).1
            }
        };
        let at = (offset - start) as usize;
        Ok(plain.get(at..at + len as usize).map(<[u8]>::to_vec))
    }
}

impl Default for Unpacker {
    fn default() -> Self {
        Unpacker {
            dicts: HashMap::new(),
            dctx: DCtx::create(),
        }
    }
}

impl Unpacker {
    /// Load dictionary `id` now (an error is the dictionary's, not a
    /// chunk's).
    pub fn load_dictionary(&mut self, conn: &Connection, id: i64) -> io::Result<()> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.dicts.entry(id) {
            e.insert(DecoderDictionary::copy(&load(conn, id)?));
        }
        Ok(())
    }

    /// The `len` bytes of a stored chunk (`len` is end_offset - start_offset:
    /// a chunk that gives back more or fewer bytes is an error). Damage
    /// (the chunk's, or its dictionary's) is `ErrorKind::InvalidData`;
    /// SQLite failing to read the dictionary is not.
    pub fn unpack(
        &mut self,
        conn: &Connection,
        dict: Option<i64>,
        data: &[u8],
        len: usize,
    ) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(checked_size(data, len)?);
        match dict {
            None => self.dctx.decompress(&mut out, data),
            Some(id) => {
                let ddict = match self.dicts.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(DecoderDictionary::copy(&load(conn, id)?))
                    }
                };
                self.dctx
                    .decompress_using_ddict(&mut out, data, ddict.as_ddict())
            }
        }
        .map_err(|c| damage(zstd_error(c)))?;
        if out.len() != len {
            return Err(damage(format!(
                "the chunk gives back {} bytes, not {len}",
                out.len()
            )));
        }
        Ok(out)
    }
}

/// The checksum of a stored chunk's content, as its frame ends with it
/// (chunks stored before observatory wrote checksums have none, and a
/// frame whose header is damaged may claim one it does not have: a
/// mismatch then, never a false match, 1 in 2^32 aside).
pub fn stored_checksum(frame: &[u8]) -> Option<[u8; 4]> {
    const MAGIC: [u8; 4] = 0xFD2F_B528u32.to_le_bytes();
    let descriptor = *frame.get(4)?;
    let has = frame.starts_with(&MAGIC) && descriptor & 0x04 != 0 && frame.len() >= 9;
    has.then(|| frame[frame.len() - 4..].try_into().expect("4 bytes"))
}

/// A stored chunk's `data` as `Unpacker::unpack` takes it: a value that is
/// not a blob (text after a stray UPDATE, a damaged record) is no bytes,
/// which `unpack` then reports as damage, like a frame that does not
/// decompress.
pub fn stored_frame(data: rusqlite::types::ValueRef<'_>) -> &[u8] {
    data.as_blob().unwrap_or_default()
}

/// How many bytes a frame says it holds (None when it does not say, or is
/// not a frame).
pub fn frame_size(frame: &[u8]) -> Option<u64> {
    zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
}

/// The checksum a frame of `plain` ends with (`stored_checksum`).
pub fn checksum_of(plain: &[u8]) -> io::Result<[u8; 4]> {
    let frame = Packer::new(None)?.pack(plain)?.data;
    stored_checksum(&frame).ok_or_else(|| io::Error::other("zstd wrote no checksum"))
}

/// `len`, when the frame says it holds that many bytes (or says nothing):
/// a damaged row must not make us allocate what its numbers claim.
fn checked_size(frame: &[u8], len: usize) -> io::Result<usize> {
    match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n == len as u64 => Ok(len),
        Ok(None) => Ok(len.min(64 << 20)),
        Ok(Some(n)) => Err(damage(format!("the chunk holds {n} bytes, not {len}"))),
        Err(_) => Err(damage("not a zstd frame")),
    }
}

/// Whether `e`, from [`Unpacker::unpack`], says the stored bytes are
/// damaged (not that SQLite failed to read a dictionary).
pub fn is_damage(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidData
}

/// Stored bytes that are not what was stored (`ErrorKind::InvalidData`).
fn damage(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// The content of dictionary `id`.
fn load(conn: &Connection, id: i64) -> io::Result<Vec<u8>> {
    let stored: Option<(Vec<u8>, i64)> = conn
        .query_row(
            "SELECT data, length FROM raw_dicts WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(io::Error::other)?;
    let (data, len) = stored.ok_or_else(|| damage(format!("raw dictionary {id} is missing")))?;
    let damaged = |e: io::Error| damage(format!("raw dictionary {id} is damaged: {e}"));
    let mut out = Vec::with_capacity(checked_size(&data, len as usize).map_err(damaged)?);
    DCtx::create()
        .decompress(&mut out, &data)
        .map_err(|c| damaged(zstd_error(c)))?;
    Ok(out)
}

/// The newest dictionary.
pub fn newest(conn: &Connection) -> io::Result<Option<Dict>> {
    let id: Option<i64> = conn
        .query_row("SELECT max(id) FROM raw_dicts", [], |r| r.get(0))
        .map_err(io::Error::other)?;
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(Some(Dict {
        id,
        content: load(conn, id)?,
    }))
}

/// A file a run reads: where, from which offset, how many bytes.
pub struct Source<'a> {
    pub path: &'a Path,
    pub start: u64,
    pub len: u64,
}

/// Sample a dictionary from `sources`: whole lines from the middle of
/// each, SAMPLE_BYTES at most (or an equal share of DICT_BYTES when there
/// are fewer than 64 files), from files spread over the list first, up to
/// DICT_BYTES. Returns the content and the indexes of the files it used
/// (None if there was less than half a dictionary to sample).
pub fn sample(sources: &[Source]) -> Option<(Vec<u8>, Vec<usize>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut buf = Vec::new();
    sample_with(sources.len(), |i, want| {
        let s = &sources[i];
        let from = s.start + s.len.saturating_sub(want) / 2;
        buf.clear();
        // (an unreadable file is skipped here; the reader reports it)
        let read = std::fs::File::open(s.path).and_then(|mut f| {
            f.seek(SeekFrom::Start(from))?;
            f.take(want.min(s.len)).read_to_end(&mut buf)
        });
        read.ok()
            .map(|_| whole_lines(&buf, from > s.start).to_vec())
    })
}

/// `bytes` from the start of its first whole line (the first byte, if
/// `cut_head` is false) to the end of its last.
fn whole_lines(bytes: &[u8], cut_head: bool) -> &[u8] {
    let begin = if cut_head {
        memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1)
    } else {
        0
    };
    let end = memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1);
    if end > begin { &bytes[begin..end] } else { &[] }
}

/// The sampling of `sample` over `n` sources; `window(i, want)` gives up to
/// `want` bytes of whole lines from the middle of source i (None: skip it).
fn sample_with(
    n: usize,
    mut window: impl FnMut(usize, u64) -> Option<Vec<u8>>,
) -> Option<(Vec<u8>, Vec<usize>)> {
    let step = (n / (DICT_BYTES as u64 / SAMPLE_BYTES) as usize).max(1);
    // (few files: more of each)
    let quota = SAMPLE_BYTES.max(DICT_BYTES as u64 / n.max(1) as u64);
    let mut content = Vec::with_capacity(DICT_BYTES);
    let mut used = Vec::new();
    for i in (0..step).flat_map(|r| (r..n).step_by(step)) {
        if content.len() + 1024 > DICT_BYTES {
            break;
        }
        let want = quota.min((DICT_BYTES - content.len()) as u64);
        match window(i, want) {
            Some(lines) if !lines.is_empty() => {
                content.extend_from_slice(&lines);
                used.push(i);
            }
            _ => {}
        }
    }
    (content.len() >= DICT_BYTES / 2).then_some((content, used))
}

/// Store `content` as a new dictionary; the caller notes its source files
/// in raw_dict_sources as their rows are made.
pub fn store(conn: &Connection, content: Vec<u8>) -> io::Result<Dict> {
    let data = Packer::new(None)?.pack(&content)?.data;
    conn.execute(
        "INSERT INTO raw_dicts(made_at, length, data) VALUES (?1, ?2, ?3)",
        params![
            chrono::Utc::now().timestamp_millis(),
            content.len() as i64,
            data
        ],
    )
    .map_err(io::Error::other)?;
    Ok(Dict {
        id: conn.last_insert_rowid(),
        content,
    })
}

/// What `retire` or `recompress` did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Retired {
    /// Dictionaries deleted (sampled from a forgotten file).
    pub deleted: u64,
    /// The dictionary sampled from the stored lines (none if there are too
    /// few, or one was there already).
    pub made: Option<i64>,
    /// Chunks re-compressed.
    pub repacked: u64,
    /// Chunks that did not decompress (a damaged database), left as they
    /// were; `retire` keeps them pointing at no dictionary, so that it can
    /// go (their bytes are not to be had anyway: the rebuild that follows
    /// a forget, or `ingest --full`, reads them again from their
    /// transcripts, or says which lines are lost).
    pub damaged: u64,
}

/// Replace the dictionaries sampled from any file in `temp.forget_files`:
/// sample a new one from the stored lines of the other files (as `sample`
/// does from files), re-compress with it every chunk of the other files
/// that used the old ones, and delete those (the forgotten files' chunks
/// are deleted by the caller).
pub fn retire(conn: &Connection) -> anyhow::Result<Retired> {
    let old: Vec<i64> = ids(
        conn,
        "SELECT DISTINCT dict_id FROM raw_dict_sources
         WHERE file_id IN (SELECT id FROM temp.forget_files)",
    )?;
    let mut done = Retired::default();
    if old.is_empty() {
        return Ok(done);
    }
    const KEPT: &str = "file_id NOT IN (SELECT id FROM temp.forget_files)";
    let mut unpacker = Unpacker::default();
    // (loaded first: SQLite failing to read one stops here, before any
    // chunk is left without it; a damaged one leaves every chunk that used
    // it undecodable, and they are left out, and without it, below)
    for &dict in &old {
        match unpacker.load_dictionary(conn, dict) {
            Err(e) if !is_damage(&e) => {
                return Err(anyhow::anyhow!(e).context(format!(
                    "reading raw dictionary {dict}, to re-compress what used it"
                )));
            }
            _ => {}
        }
    }
    let dict = sample_stored(conn, &mut unpacker, KEPT)?;
    done.made = dict.as_ref().map(|d| d.id);
    let mut packer = Packer::new(dict)?;
    for &dict in &old {
        let chunks = ids(
            conn,
            &format!("SELECT id FROM raw_chunks WHERE dict = {dict} AND {KEPT}"),
        )?;
        done.repacked += repack(conn, &mut unpacker, &mut packer, &chunks)?;
        // (the ones that did not decompress: the dictionary, holding lines
        // of a forgotten file, goes all the same)
        done.damaged += conn.execute(
            &format!("UPDATE raw_chunks SET dict = NULL WHERE dict = {dict} AND {KEPT}"),
            [],
        )? as u64;
        conn.execute("DELETE FROM raw_dict_sources WHERE dict_id = ?1", [dict])?;
        conn.execute("DELETE FROM raw_dicts WHERE id = ?1", [dict])?;
        done.deleted += 1;
    }
    Ok(done)
}

/// `ingest --full`: compress with the newest dictionary every chunk that
/// does without one (chunks stored before schema 10, by runs of less than
/// DICT_USE_BYTES, merged tails), first sampling a dictionary from the
/// stored lines if there is none and they hold DICT_FROM_BYTES or more.
pub fn recompress(conn: &Connection) -> anyhow::Result<Retired> {
    let mut done = Retired::default();
    let plain: i64 = conn.query_row(
        "SELECT coalesce(sum(end_offset - start_offset), 0) FROM raw_chunks WHERE dict IS NULL",
        [],
        |r| r.get(0),
    )?;
    if plain == 0 {
        return Ok(done);
    }
    let mut unpacker = Unpacker::default();
    let dict = match newest(conn)? {
        Some(d) => Some(d),
        None if plain as u64 >= DICT_FROM_BYTES => {
            let d = sample_stored(conn, &mut unpacker, "1")?;
            done.made = d.as_ref().map(|d| d.id);
            d
        }
        None => None,
    };
    if dict.is_none() {
        return Ok(done);
    }
    let mut packer = Packer::new(dict)?;
    let chunks = ids(conn, "SELECT id FROM raw_chunks WHERE dict IS NULL")?;
    // (a chunk that does not decompress is left as it is: the rebuild
    // after this reads it again from its transcript, or says it cannot)
    done.repacked = repack(conn, &mut unpacker, &mut packer, &chunks)?;
    done.damaged = chunks.len() as u64 - done.repacked;
    Ok(done)
}

fn ids(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<i64>> {
    conn.prepare(sql)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
}

/// Whether `e` is a chunk that does not decompress (not SQLite failing).
fn undecodable(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(is_damage)
}

/// The stored bytes [from, to) of file `file_id`, from its chunks; None
/// when they do not hold all of them (forgotten, or never read).
pub fn stored_range(
    conn: &Connection,
    file_id: i64,
    from: u64,
    to: u64,
) -> anyhow::Result<Option<Vec<u8>>> {
    let chunks: Vec<(i64, u64, u64)> = conn
        .prepare_cached(
            "SELECT id, start_offset, end_offset FROM raw_chunks
             WHERE file_id = ?1 AND end_offset > ?2 AND start_offset < ?3 ORDER BY start_offset",
        )?
        .query_map(rusqlite::params![file_id, from as i64, to as i64], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut unpacker = Unpacker::default();
    let mut bytes = Vec::with_capacity((to - from) as usize);
    let mut at = from;
    for (id, start, end) in chunks {
        // (a chunk within one read already: none in a sound database)
        if end <= at {
            continue;
        }
        if start > at || at >= to {
            break;
        }
        let plain = chunk(conn, &mut unpacker, id)?;
        let upto = to.min(end);
        let Some(part) = plain.get((at - start) as usize..(upto - start) as usize) else {
            return Ok(None);
        };
        bytes.extend_from_slice(part);
        at = upto;
    }
    Ok((at == to).then_some(bytes))
}

/// The bytes of chunk `id`.
fn chunk(conn: &Connection, unpacker: &mut Unpacker, id: i64) -> anyhow::Result<Vec<u8>> {
    let (dict, len, data): (Option<i64>, i64, Vec<u8>) = conn
        .prepare_cached(
            "SELECT dict, end_offset - start_offset, data FROM raw_chunks WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, stored_frame(r.get_ref(2)?).to_vec()))
        })?;
    Ok(unpacker.unpack(conn, dict, &data, len as usize)?)
}

/// Re-compress `chunks` with `packer`, one in memory at a time; returns
/// how many (one that does not decompress is left as it is).
fn repack(
    conn: &Connection,
    unpacker: &mut Unpacker,
    packer: &mut Packer,
    chunks: &[i64],
) -> anyhow::Result<u64> {
    let mut update = conn.prepare("UPDATE raw_chunks SET dict = ?2, data = ?3 WHERE id = ?1")?;
    let mut done = 0;
    for &id in chunks {
        let bytes = match chunk(conn, unpacker, id) {
            Ok(b) => b,
            Err(e) if undecodable(&e) => continue,
            Err(e) => return Err(e),
        };
        let packed = packer.pack(&bytes)?;
        update.execute(params![id, packed.dict, packed.data])?;
        done += 1;
    }
    Ok(done)
}

/// Sample and store a dictionary from the first chunk of each file whose
/// chunks match `files` (an SQL condition on raw_chunks), noting them as
/// its sources; None if they hold too few lines.
fn sample_stored(
    conn: &Connection,
    unpacker: &mut Unpacker,
    files: &str,
) -> anyhow::Result<Option<Dict>> {
    let firsts: Vec<(i64, i64)> = conn
        .prepare(&format!(
            "SELECT file_id, (SELECT c.id FROM raw_chunks c WHERE c.file_id = f.file_id
                              ORDER BY c.start_offset LIMIT 1)
             FROM (SELECT DISTINCT file_id FROM raw_chunks WHERE {files}) f
             ORDER BY file_id"
        ))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut failed = None;
    let sampled = sample_with(firsts.len(), |i, want| {
        let bytes = match chunk(conn, unpacker, firsts[i].1) {
            Ok(b) => b,
            // (one that does not decompress is not sampled)
            Err(e) if undecodable(&e) => return None,
            Err(e) => {
                failed = Some(e);
                return None;
            }
        };
        let from = (bytes.len() as u64).saturating_sub(want) as usize / 2;
        let to = (from + want as usize).min(bytes.len());
        Some(whole_lines(&bytes[from..to], from > 0).to_vec())
    });
    if let Some(e) = failed {
        return Err(e.context("reading the stored lines to sample a dictionary from"));
    }
    let Some((content, used)) = sampled else {
        return Ok(None);
    };
    let d = store(conn, content)?;
    let mut note =
        conn.prepare("INSERT INTO raw_dict_sources(dict_id, file_id) VALUES (?1, ?2)")?;
    for i in used {
        note.execute(params![d.id, firsts[i].0])?;
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Lines like a session's: the same keys and phrasing, different ids
    /// and numbers.
    fn lines(seed: u64, count: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..count {
            let n = seed * 1_000_003 + i * 7919;
            out.extend_from_slice(
                format!(
                    r#"{{"parentUuid":"p-{n:x}","isSidechain":false,"userType":"external","cwd":"/home/u/app","sessionId":"s-{seed}","version":"2.0.14","gitBranch":"main","type":"assistant","message":{{"id":"msg_{n:x}","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"tool_use","id":"toolu_{n:x}","name":"Read","input":{{"file_path":"/home/u/app/src/module_{}.rs"}}}}],"usage":{{"input_tokens":{},"output_tokens":{}}}}},"uuid":"u-{n:x}","timestamp":"2026-03-03T10:00:00.000Z"}}"#,
                    n % 97,
                    n % 1000,
                    n % 300
                )
                .as_bytes(),
            );
            out.push(b'\n');
        }
        out
    }

    /// What a session repeats from others: the text of the files it reads
    /// (here 40 files of 2 KB of letters no compressor can shorten alone).
    fn reads(seed: u64, count: u64) -> Vec<u8> {
        let source = |k: u64| -> String {
            let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            (0..2048)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (b'a' + (x % 26) as u8) as char
                })
                .collect()
        };
        let mut out = Vec::new();
        for i in 0..count {
            let k = (seed * 31 + i * 17) % 40;
            out.extend_from_slice(
                format!(
                    r#"{{"type":"user","uuid":"u-{seed}-{i}","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_{seed}_{i}","content":"{}"}}]}}}}"#,
                    source(k)
                )
                .as_bytes(),
            );
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn a_byte_changed_in_a_stored_chunk_is_damage_and_older_chunks_without_a_checksum_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = Store::open(&dir.path().join("obs.db")).unwrap();
        let chunk = reads(3, 40);
        let packed = Packer::new(None).unwrap().pack(&chunk).unwrap().data;
        let sum = stored_checksum(&packed).expect("a checksum");
        assert_eq!(checksum_of(&chunk).unwrap(), sum);
        let mut other = chunk.clone();
        other[chunk.len() / 2] ^= 1;
        assert_ne!(checksum_of(&other).unwrap(), sum);
        let mut u = Unpacker::default();
        assert_eq!(
            u.unpack(&db.conn, None, &packed, chunk.len()).unwrap(),
            chunk
        );
        // a changed byte of the checksum (or of the content it covers)
        let mut bad = packed.clone();
        *bad.last_mut().unwrap() ^= 0x40;
        let e = u.unpack(&db.conn, None, &bad, chunk.len()).unwrap_err();
        assert!(is_damage(&e), "{e}");
        // a frame written before checksums: none claimed, read as before
        let mut old = CCtx::create();
        old.set_parameter(CParameter::CompressionLevel(LEVEL))
            .unwrap();
        let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(chunk.len()));
        old.compress2(&mut frame, &chunk).unwrap();
        assert_eq!(stored_checksum(&frame), None);
        assert_eq!(
            u.unpack(&db.conn, None, &frame, chunk.len()).unwrap(),
            chunk
        );
    }

    #[test]
    fn chunks_come_back_whole_with_or_without_the_dictionary_and_smaller_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Store::open(&dir.path().join("obs.db")).unwrap();
        let content = reads(1, 1200);
        assert!(content.len() >= DICT_BYTES / 2);
        let dict = store(&db.conn, content).unwrap();
        let id = dict.id;
        let chunk = reads(2, 20);
        let plain = Packer::new(None).unwrap().pack(&chunk).unwrap();
        let packed = Packer::new(Some(dict)).unwrap().pack(&chunk).unwrap();
        assert_eq!((plain.dict, packed.dict), (None, Some(id)));
        assert!(
            packed.data.len() * 2 < plain.data.len(),
            "{} bytes with the dictionary, {} without",
            packed.data.len(),
            plain.data.len()
        );
        let mut u = Unpacker::default();
        for p in [&plain, &packed] {
            assert_eq!(
                u.unpack(&db.conn, p.dict, &p.data, chunk.len()).unwrap(),
                chunk
            );
        }
        // a chunk that does not give back its length is an error
        let short = u.unpack(&db.conn, packed.dict, &packed.data, chunk.len() - 1);
        assert!(short.is_err());
        let long = u.unpack(&db.conn, None, &plain.data, chunk.len() + 1);
        assert!(long.unwrap_err().to_string().contains("holds"));
        // a damaged row claiming a terabyte is refused before any allocation
        let huge = u.unpack(&db.conn, None, &plain.data, 1 << 40);
        assert!(huge.unwrap_err().to_string().contains("holds"));
        let junk = u.unpack(&db.conn, None, b"\x0b\xad\xc0\xde", 4);
        assert!(junk.unwrap_err().to_string().contains("not a zstd frame"));
        // so is one that names a dictionary the database does not have
        let missing = Unpacker::default().unpack(&db.conn, Some(id + 1), &packed.data, chunk.len());
        assert!(missing.unwrap_err().to_string().contains("missing"));
        assert_eq!(newest(&db.conn).unwrap().unwrap().id, id);
    }

    #[test]
    fn one_packer_packs_chunk_after_chunk_each_holding_only_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Store::open(&dir.path().join("obs.db")).unwrap();
        let dict = store(&db.conn, reads(1, 1200)).unwrap();
        let mut u = Unpacker::default();
        for mut packer in [Packer::new(None).unwrap(), Packer::new(Some(dict)).unwrap()] {
            // a big chunk, then smaller ones: nothing of one is left in the next
            for (seed, n) in [(2, 400), (3, 20), (4, 1), (5, 60)] {
                let chunk = reads(seed, n);
                let p = packer.pack(&chunk).unwrap();
                // (chunks wait in memory for the writer: the worst case's
                // room, ~7 times these bytes, would wait with them)
                assert_eq!(p.data.capacity(), p.data.len());
                assert_eq!(
                    u.unpack(&db.conn, p.dict, &p.data, chunk.len()).unwrap(),
                    chunk
                );
            }
        }
    }

    #[test]
    fn a_sample_is_whole_lines_from_the_middle_of_files_spread_over_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for f in 0..200u64 {
            let p = dir.path().join(format!("{f:03}.jsonl"));
            let mut body = lines(f, 600); // ~290 KB each
            if f == 0 {
                body.extend_from_slice(b"{\"type\":\"user\",\"incomplete"); // no newline
            }
            std::fs::write(&p, &body).unwrap();
            files.push((p, body));
        }
        let sources: Vec<Source> = files
            .iter()
            .map(|(p, b)| Source {
                path: p,
                start: 0,
                len: b.len() as u64,
            })
            .collect();
        let (content, used) = sample(&sources).unwrap();
        assert!(content.len() <= DICT_BYTES && content.len() > DICT_BYTES - 64 * 1024);
        // 64 files, every third first (200 / 64), each read from its middle
        assert_eq!(&used[..4], &[0, 3, 6, 9]);
        assert!(used.len() >= 64);
        let text = std::str::from_utf8(&content).unwrap();
        let all: std::collections::HashSet<&str> = files
            .iter()
            .flat_map(|(_, b)| std::str::from_utf8(b).unwrap().lines())
            .collect();
        for line in text.lines() {
            assert!(
                all.contains(line),
                "not a whole line of any file: {line:.80}"
            );
        }
        assert!(content.ends_with(b"\n"));
        assert!(!text.contains("incomplete"));
        let first_of_middle = std::str::from_utf8(&files[3].1)
            .unwrap()
            .lines()
            .nth(300)
            .unwrap();
        assert!(
            text.contains(first_of_middle),
            "the middle of a file is sampled"
        );
        // too little to sample: no dictionary
        assert!(sample(&sources[..4]).is_none());
        // bytes before `start` (read already) are not sampled
        let halves: Vec<Source> = files
            .iter()
            .map(|(p, b)| Source {
                path: p,
                start: b.len() as u64 / 2,
                len: b.len() as u64 - b.len() as u64 / 2,
            })
            .collect();
        let (c, _) = sample(&halves).unwrap();
        let c = std::str::from_utf8(&c).unwrap();
        for (_, b) in &files[..20] {
            let first = std::str::from_utf8(b).unwrap().lines().next().unwrap();
            assert!(!c.contains(first));
        }
    }
}
