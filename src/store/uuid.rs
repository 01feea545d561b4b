//! How uuids are stored: a canonical lowercase UUID text
//! (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) as its 16 bytes, anything else
//! as the text written. The mapping is one to one (a blob never equals a
//! text), so equality, uniqueness and joins between uuid columns behave as
//! they did on the text, with a third of the bytes; the views show the text.

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A uuid (or other id) bound as a statement parameter.
pub struct UuidKey<'a> {
    text: Option<&'a str>,
    bytes: Option<[u8; 16]>,
}

impl<'a> UuidKey<'a> {
    pub fn new(text: Option<&'a str>) -> Self {
        UuidKey {
            text,
            bytes: text.and_then(canonical_bytes),
        }
    }
}

impl ToSql for UuidKey<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match (&self.bytes, self.text) {
            (Some(b), _) => ValueRef::Blob(b),
            (None, Some(t)) => ValueRef::Text(t.as_bytes()),
            (None, None) => ValueRef::Null,
        }))
    }
}

impl UuidKey<'_> {
    /// The 16 bytes, for a canonical UUID.
    pub fn bytes(&self) -> Option<&[u8; 16]> {
        self.bytes.as_ref()
    }
}

/// The 16 bytes of a canonical lowercase UUID text; None for anything else.
/// (Three per line on the ingest writer's thread: a table lookup per digit.)
pub fn canonical_bytes(s: &str) -> Option<[u8; 16]> {
    let s = s.as_bytes();
    if s.len() != 36 || s[8] != b'-' || s[13] != b'-' || s[18] != b'-' || s[23] != b'-' {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    for group in [&s[0..8], &s[9..13], &s[14..18], &s[19..23], &s[24..36]] {
        for pair in group.chunks_exact(2) {
            let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
            if (hi | lo) & 0xf0 != 0 {
                return None;
            }
            out[n] = hi << 4 | lo;
            n += 1;
        }
    }
    Some(out)
}

/// Lowercase hex digit -> value; anything else -> 0xff.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_are_16_bytes_and_v_messages_shows_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("o.db")).unwrap();
        let c = &store.conn;
        let u = "6e02e299-24da-4178-a278-2ee48fb5ed52";
        let p = "R-U9"; // not canonical: kept as written
        c.execute_batch(
            "INSERT INTO source_files(id, path, root, kind, first_seen_at) VALUES (1, '/x', '/', 'session', 0);
             INSERT INTO lines(id, file_id, line_no, byte_offset, byte_len, status) VALUES (1, 1, 1, 0, 1, 'record');",
        )
        .unwrap();
        c.execute(
            "INSERT INTO message_rows(line_id, uuid, parent_uuid) VALUES (1, ?1, ?2)",
            rusqlite::params![UuidKey::new(Some(u)), UuidKey::new(Some(p))],
        )
        .unwrap();
        let (kind, len): (String, i64) = c
            .query_row("SELECT typeof(uuid), length(uuid) FROM messages", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((kind.as_str(), len), ("blob", 16));
        let (uuid, parent): (String, String) = c
            .query_row("SELECT uuid, parent_uuid FROM v_messages", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((uuid.as_str(), parent.as_str()), (u, p));
    }

    #[test]
    fn anything_else_stays_text() {
        for s in [
            "6E02E299-24DA-4178-A278-2EE48FB5ED52", // upper case: kept as written
            "6e02e29924da4178a2782ee48fb5ed52",     // no dashes
            "6e02e299-24da-4178-a278-2ee48fb5ed5",  // short
            "6e02e299-24da-4178-a278_2ee48fb5ed52", // wrong separator
            "6e02e299-24da-4178-a278-2ee48fb5ed5g", // not hex
            "r-u9",
            "",
        ] {
            assert_eq!(canonical_bytes(s), None, "{s}");
        }
    }

    /// 0007 turns stored text into what the writer now stores.
    #[test]
    fn the_migration_converts_exactly_what_the_writer_converts() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
        let all = super::super::MIGRATIONS;
        let at = all.iter().position(|m| m.0 == "0007_uuid_blobs").unwrap();
        let (before, last) = (&all[..at], &all[at]);
        for (_, m) in before {
            c.execute_batch(m).unwrap();
        }
        let values = [
            "6e02e299-24da-4178-a278-2ee48fb5ed52",
            "00000000-0000-0000-0000-000000000000",
            "6E02E299-24DA-4178-A278-2EE48FB5ED52",
            "6e02e299-24da-4178-a278_2ee48fb5ed52",
            "6e02e299-24da-4178-a278-2ee48fb5ed5g",
            "6e02e29924da4178a2782ee48fb5ed52----",
            "r-u9",
        ];
        for (i, v) in values.iter().enumerate() {
            c.execute(
                "INSERT INTO messages(line_id, uuid, parent_uuid, logical_parent_uuid, type) VALUES (?1, ?2, ?2, ?2, 'user')",
                rusqlite::params![i as i64, v],
            )
            .unwrap();
            c.execute(
                "INSERT INTO summaries(line_id, leaf_uuid) VALUES (?1, ?2)",
                rusqlite::params![i as i64, v],
            )
            .unwrap();
        }
        c.execute_batch(last.1).unwrap();
        for (i, v) in values.iter().enumerate() {
            let want = match canonical_bytes(v) {
                Some(b) => rusqlite::types::Value::Blob(b.to_vec()),
                None => rusqlite::types::Value::Text(v.to_string()),
            };
            let got: [rusqlite::types::Value; 4] = c
                .query_row(
                    "SELECT m.uuid, m.parent_uuid, m.logical_parent_uuid, s.leaf_uuid
                     FROM messages m JOIN summaries s USING (line_id) WHERE line_id = ?1",
                    [i as i64],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
                )
                .unwrap();
            for g in got {
                assert_eq!(g, want, "{v}");
            }
        }
    }
}
