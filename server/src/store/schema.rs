//! The SQLite schema and its migrations.
//!
//! `PRAGMA user_version` holds the schema version. Migration `n` (1-based)
//! takes a database from version `n - 1` to `n`; each runs in its own
//! transaction together with the version bump, so a crash leaves either the
//! old or the new schema. A database newer than [`SCHEMA_VERSION`] is refused
//! rather than guessed at. Never edit a shipped migration: add one.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE users (
        username      TEXT PRIMARY KEY,
        password_hash TEXT,
        method        TEXT NOT NULL CHECK (method IN ('password', 'password_approve', 'approve')),
        created_at    INTEGER NOT NULL,
        paused_until  INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE devices (
        id         TEXT PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        public_key BLOB NOT NULL,
        name       TEXT NOT NULL,
        platform   TEXT NOT NULL,
        push_token TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    ) STRICT;
    CREATE INDEX devices_by_account ON devices(account);

    CREATE TABLE pair_tokens (
        token_hash BLOB PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER,
        device_id  TEXT
    ) STRICT;

    CREATE TABLE requests (
        id              TEXT PRIMARY KEY,
        account         TEXT NOT NULL REFERENCES users(username),
        nonce           BLOB NOT NULL,
        number          INTEGER NOT NULL,
        choices         BLOB NOT NULL,
        service         TEXT NOT NULL,
        client_ip       TEXT NOT NULL,
        user_agent      TEXT NOT NULL,
        location        TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'reported')),
        answered_by     TEXT,
        answered_at     INTEGER,
        poll_token_hash BLOB NOT NULL,
        session_issued  INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX requests_by_account ON requests(account, created_at);

    CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE events (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        time       INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        account    TEXT,
        device_id  TEXT,
        request_id TEXT,
        detail     TEXT NOT NULL DEFAULT ''
    ) STRICT;
    ",
    // 2: 2-step verification settings, TOTP, backup email, IP blocks,
    // session scopes and browser login flows.
    "
    ALTER TABLE users ADD COLUMN second_step TEXT NOT NULL DEFAULT 'approve'
        CHECK (second_step IN ('approve', 'otp'));
    ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN enforce_2sv INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN otp_secret BLOB;
    ALTER TABLE users ADD COLUMN otp_pending BLOB;
    ALTER TABLE users ADD COLUMN otp_last_step INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN email TEXT;
    ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;

    ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'full'
        CHECK (scope IN ('full', 'setup'));
    CREATE INDEX sessions_by_account ON sessions(account);

    CREATE TABLE enforced_groups (
        name TEXT PRIMARY KEY
    ) STRICT;

    CREATE TABLE email_tokens (
        token_hash BLOB PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        kind       TEXT NOT NULL CHECK (kind IN ('verify', 'code')),
        email      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
    ) STRICT;
    CREATE INDEX email_tokens_by_account ON email_tokens(account, kind, created_at);

    CREATE TABLE failures (
        key  TEXT NOT NULL,
        time INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX failures_by_key ON failures(key, time);

    CREATE TABLE ip_blocks (
        ip         TEXT PRIMARY KEY,
        blocked_at INTEGER NOT NULL,
        until      INTEGER,
        failures   INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE login_flows (
        token_hash BLOB PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        request_id TEXT
    ) STRICT;
    ",
    // 3: end-to-end encrypted sync: spaces and their opaque entries.
    "
    CREATE TABLE sync_spaces (
        space_id   TEXT PRIMARY KEY,
        auth_hash  BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        deleted_at INTEGER,
        rev        INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE sync_entries (
        space_id   TEXT NOT NULL REFERENCES sync_spaces(space_id),
        entry_id   TEXT NOT NULL,
        rev        INTEGER NOT NULL,
        blob       BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (space_id, entry_id)
    ) STRICT;
    CREATE INDEX sync_entries_by_rev ON sync_entries(space_id, rev);
    ",
    // 4: indexes for pruning old requests and events (store/retention.rs).
    "
    CREATE INDEX requests_by_expiry ON requests(expires_at);
    CREATE INDEX events_by_time ON events(time);
    ",
    // 5: the security review (docs/web-portal.md "What is enforced"):
    // attempts reserved before a guess is checked (replacing failure
    // records), known browsers (device cookies), session idle time and
    // re-authentication time, typed number matching and pairing approvals
    // on sign-in requests, notices for the account's phones, sync owners
    // and sizes (quotas), hashed admin tokens, normalised user names.
    "
    CREATE TABLE attempts (
        id   INTEGER PRIMARY KEY AUTOINCREMENT,
        key  TEXT NOT NULL,
        time INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX attempts_by_key ON attempts(key, time);
    INSERT INTO attempts (key, time) SELECT key, time FROM failures;
    DROP TABLE failures;

    CREATE TABLE browsers (
        id_hash      BLOB NOT NULL,
        account      TEXT NOT NULL REFERENCES users(username),
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        label        TEXT NOT NULL DEFAULT '',
        revoked_at   INTEGER,
        PRIMARY KEY (id_hash, account)
    ) STRICT;
    CREATE INDEX browsers_by_account ON browsers(account);

    ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN verified_at INTEGER NOT NULL DEFAULT 0;
    UPDATE sessions SET last_seen_at = created_at;

    ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'sign_in'
        CHECK (kind IN ('sign_in', 'pair'));
    ALTER TABLE requests ADD COLUMN wrong_numbers INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN flow_hash BLOB;
    ALTER TABLE requests ADD COLUMN new_device TEXT;
    CREATE INDEX requests_by_flow ON requests(flow_hash);

    ALTER TABLE devices ADD COLUMN paired_via TEXT NOT NULL DEFAULT 'invitation';
    ALTER TABLE login_flows ADD COLUMN reauth_of BLOB;
    ALTER TABLE login_flows ADD COLUMN next TEXT;

    CREATE TABLE notices (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        account   TEXT NOT NULL REFERENCES users(username),
        time      INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        text      TEXT NOT NULL,
        device_id TEXT
    ) STRICT;
    CREATE INDEX notices_by_account ON notices(account, id);

    ALTER TABLE sync_spaces ADD COLUMN owner TEXT;
    ALTER TABLE sync_spaces ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
    UPDATE sync_spaces SET bytes = COALESCE(
        (SELECT SUM(length(blob)) FROM sync_entries e WHERE e.space_id = sync_spaces.space_id), 0);
    CREATE INDEX sync_spaces_by_owner ON sync_spaces(owner);

    CREATE TABLE admin_tokens (
        name         TEXT PRIMARY KEY,
        token_hash   BLOB NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
    ) STRICT;

    ALTER TABLE users ADD COLUMN name_key TEXT;
    CREATE UNIQUE INDEX users_by_name_key ON users(name_key);
    ",
];

/// Brings the database to [`SCHEMA_VERSION`].
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
