//! Writing a stored file back: its raw chunks, decompressed one at a time,
//! in offset order. Memory stays at one chunk (2 MiB, or one longer line),
//! whatever the file's size.

use std::io::Write;

use anyhow::Result;
use rusqlite::Connection;

use super::{FNV_START, StoredFile, fnv1a_update};
use crate::store::raw::Unpacker;

/// A file's stored bytes cannot all be had: the database is damaged there
/// (other files may still be whole).
#[derive(Debug, thiserror::Error)]
#[error("{0}; the database looks damaged")]
pub struct Damaged(String);

/// Whether `e` says a file's stored bytes are damaged (a chunk missing or
/// not decompressing, or SQLite finding its pages corrupt), rather than
/// that writing them failed.
pub fn is_damage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<Damaged>()
            || c.downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
                == Some(rusqlite::ErrorCode::DatabaseCorrupt)
    })
}

/// Write the stored bytes of `file` to `out`; returns how many. They are
/// bytes [expected_start, read_offset) of the file as read: the whole file
/// up to its last complete line, unless lines were forgotten. Pass the same
/// `unpacker` for every file: it loads each dictionary once.
pub fn write_file(
    conn: &Connection,
    file: &StoredFile,
    out: &mut dyn Write,
    unpacker: &mut Unpacker,
) -> Result<u64> {
    let mut st = conn.prepare_cached(
        "SELECT start_offset, end_offset, dict, data FROM raw_chunks WHERE file_id = ?1 ORDER BY start_offset",
    )?;
    let mut rows = st.query([file.id])?;
    let mut at = file.expected_start();
    let mut written = 0u64;
    while let Some(row) = rows.next()? {
        let start = row.get::<_, i64>(0)? as u64;
        let end = row.get::<_, i64>(1)? as u64;
        if start != at {
            return Err(Damaged(format!(
                "the stored bytes of {} have a gap at offset {at} (next chunk starts at {start})",
                file.path
            ))
            .into());
        }
        let plain = unpacker
            .unpack(
                conn,
                row.get(2)?,
                crate::store::raw::stored_frame(row.get_ref(3)?),
                (end - start) as usize,
            )
            .map_err(|e| {
                if crate::store::raw::is_damage(&e) {
                    anyhow::Error::new(Damaged(format!(
                        "the stored bytes of {} at offset {start} do not decompress ({e})",
                        file.path
                    )))
                } else {
                    // (SQLite failing to read the dictionary: not damage)
                    anyhow::Error::new(e)
                        .context(format!("reading the stored bytes of {}", file.path))
                }
            })?;
        out.write_all(&plain)?;
        written += plain.len() as u64;
        at = end;
    }
    if at != file.read_offset {
        return Err(Damaged(format!(
            "the stored bytes of {} end at offset {at}, its cursor at {}",
            file.path, file.read_offset
        ))
        .into());
    }
    Ok(written)
}

/// The digests a tombstone keeps of bytes [0, read_offset) of `file`
/// (FNV-1a 64 of the first min(4 KiB, read_offset) bytes, and of all of
/// them), hashed chunk by chunk from the stored bytes. A file forgotten
/// before continues its old digests. None when the bytes are not all known.
pub fn digests(
    conn: &Connection,
    file: &StoredFile,
    unpacker: &mut Unpacker,
) -> Result<Option<(u64, u64)>> {
    let head_len = crate::ingest::reader::FINGERPRINT_BYTES;
    let mut h = Hasher {
        at: 0,
        head_len,
        head: FNV_START,
        all: FNV_START,
    };
    if let Some(t) = &file.forgotten {
        match (t.head_digest, t.digest) {
            (Some(head), Some(all)) if t.read_offset >= head_len => {
                h.at = t.read_offset;
                h.head = head;
                h.all = all;
            }
            _ => return Ok(None),
        }
    }
    if file.stored_from != h.at || file.stored_from + file.stored_bytes != file.read_offset {
        return Ok(None);
    }
    match write_file(conn, file, &mut h, unpacker) {
        Ok(_) => Ok(Some((h.head, h.all))),
        Err(_) => Ok(None),
    }
}

struct Hasher {
    at: u64,
    head_len: u64,
    head: u64,
    all: u64,
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.at < self.head_len {
            let n = ((self.head_len - self.at) as usize).min(buf.len());
            self.head = fnv1a_update(self.head, &buf[..n]);
        }
        self.all = fnv1a_update(self.all, buf);
        self.at += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
