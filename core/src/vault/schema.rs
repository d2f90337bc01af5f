//! The SQLite schema and its migrations.
//!
//! `PRAGMA application_id` marks the file as ours; `PRAGMA user_version` is
//! the schema version. Migrations run in one transaction each, in order; a
//! file with a newer version than [`SCHEMA_VERSION`] or a foreign
//! application id is refused untouched.

use crate::error::VaultError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// `PRAGMA application_id` of a Countersign vault ("CSVT").
pub const APPLICATION_ID: i64 = 0x4353_5654;
/// Newest schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
     ) STRICT;
     CREATE TABLE key_slots (
        id         TEXT PRIMARY KEY NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('platform', 'biometric')),
        alias      TEXT NOT NULL,
        wrapped    BLOB NOT NULL,
        created_at INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE profiles (
        id      TEXT PRIMARY KEY NOT NULL,
        payload BLOB NOT NULL
     ) STRICT;",
    // 1 → 2: approve sign-in pairings. The manifest's pairing section is
    // empty for a migrated vault, so its MAC stays valid without the key.
    "CREATE TABLE pairings (
        id      TEXT PRIMARY KEY NOT NULL,
        payload BLOB NOT NULL
     ) STRICT;",
];

fn pragmas(conn: &Connection) -> Result<(), VaultError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Creates a new vault file (fails if one exists) at the newest schema.
pub fn create(path: &Path) -> Result<Connection, VaultError> {
    if path.exists() {
        return Err(VaultError::AlreadyExists);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    pragmas(&conn)?;
    migrate(&conn, 0)?;
    Ok(conn)
}

/// Opens an existing vault, checking it is ours and not newer, then migrates.
/// Nothing is written to a file that fails the checks.
pub fn open(path: &Path) -> Result<Connection, VaultError> {
    if !path.exists() {
        return Err(VaultError::Missing);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Read-only checks first.
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| VaultError::Corrupt(format!("not an SQLite database ({e})")))?;
    if app_id != APPLICATION_ID {
        return Err(VaultError::Corrupt("not a Countersign vault".into()));
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::UnsupportedVersion {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(VaultError::Corrupt("vault was never initialised".into()));
    }
    let ok: String = conn.pragma_query_value(None, "quick_check", |r| r.get(0))?;
    if ok != "ok" {
        return Err(VaultError::Corrupt(format!("SQLite check failed: {ok}")));
    }
    pragmas(&conn)?;
    migrate(&conn, version)?;
    Ok(conn)
}

fn migrate(conn: &Connection, from: i64) -> Result<(), VaultError> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.db");
        drop(create(&p).unwrap());
        assert!(matches!(create(&p), Err(VaultError::AlreadyExists)));
        let c = open(&p).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn migrates_version_1() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v1.db");
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
        }
        let c = open(&p).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 2);
        c.execute("INSERT INTO pairings (id, payload) VALUES ('a', x'00')", [])
            .unwrap();
    }

    #[test]
    fn refuses_foreign_and_newer_files_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(
            &junk,
            b"this is not a database, it is a shopping list........",
        )
        .unwrap();
        let before = std::fs::read(&junk).unwrap();
        assert!(open(&junk).is_err());
        assert_eq!(std::fs::read(&junk).unwrap(), before);

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        assert!(matches!(open(&other), Err(VaultError::Corrupt(_))));

        let newer = dir.path().join("newer.db");
        drop(create(&newer).unwrap());
        Connection::open(&newer)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            open(&newer),
            Err(VaultError::UnsupportedVersion { found: 99, .. })
        ));
        assert!(matches!(
            open(&dir.path().join("missing.db")),
            Err(VaultError::Missing)
        ));
    }
}
