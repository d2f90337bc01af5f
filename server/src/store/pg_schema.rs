//! The PostgreSQL schema and its migrations.
//!
//! Kept apart from the SQLite schema (`schema.rs`) because the two evolve on
//! their own numbering: PostgreSQL has real booleans, `BYTEA` and identity
//! columns, so its migration 1 is the SQLite schema as of SQLite version 2,
//! with the same table and column names.
//!
//! The version lives in `meta` under `schema_version`. All migrations run in
//! one transaction holding a transaction-level advisory lock, so two nodes
//! starting together against an empty database neither race on `CREATE
//! TABLE` nor apply a migration twice; a crash leaves the old or the new
//! schema. A database newer than [`PG_SCHEMA_VERSION`] is refused rather
//! than guessed at. Never edit a shipped migration: add one.

use deadpool_postgres::Client;

use super::StoreError;

/// Schema version this build writes to PostgreSQL.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Advisory lock key held while migrating ("cs-migr" as a number).
const MIGRATION_LOCK: i64 = 0x0063_732d_6d69_6772;

const MIGRATIONS: &[&str] = &[
    // 1: initial schema (the SQLite schema version 2).
    "
    CREATE TABLE users (
        username      TEXT PRIMARY KEY,
        password_hash TEXT,
        method        TEXT NOT NULL CHECK (method IN ('password', 'password_approve', 'approve')),
        created_at    BIGINT NOT NULL,
        paused_until  BIGINT NOT NULL DEFAULT 0,
        second_step   TEXT NOT NULL DEFAULT 'approve' CHECK (second_step IN ('approve', 'otp')),
        is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
        groups        TEXT NOT NULL DEFAULT '',
        enforce_2sv   BOOLEAN NOT NULL DEFAULT FALSE,
        otp_secret    BYTEA,
        otp_pending   BYTEA,
        otp_last_step BIGINT NOT NULL DEFAULT 0,
        email         TEXT,
        email_verified BOOLEAN NOT NULL DEFAULT FALSE
    );

    CREATE TABLE devices (
        id         TEXT PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        public_key BYTEA NOT NULL,
        name       TEXT NOT NULL,
        platform   TEXT NOT NULL,
        push_token TEXT,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE INDEX devices_by_account ON devices(account);

    CREATE TABLE pair_tokens (
        token_hash BYTEA PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT,
        device_id  TEXT
    );

    CREATE TABLE requests (
        id              TEXT PRIMARY KEY,
        account         TEXT NOT NULL REFERENCES users(username),
        nonce           BYTEA NOT NULL,
        number          BIGINT NOT NULL,
        choices         BYTEA NOT NULL,
        service         TEXT NOT NULL,
        client_ip       TEXT NOT NULL,
        user_agent      TEXT NOT NULL,
        location        TEXT NOT NULL,
        created_at      BIGINT NOT NULL,
        expires_at      BIGINT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'reported')),
        answered_by     TEXT,
        answered_at     BIGINT,
        poll_token_hash BYTEA NOT NULL,
        session_issued  BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX requests_by_account ON requests(account, created_at);

    CREATE TABLE sessions (
        token_hash BYTEA PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        scope      TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'setup'))
    );
    CREATE INDEX sessions_by_account ON sessions(account);

    CREATE TABLE events (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time       BIGINT NOT NULL,
        kind       TEXT NOT NULL,
        account    TEXT,
        device_id  TEXT,
        request_id TEXT,
        detail     TEXT NOT NULL DEFAULT ''
    );

    CREATE TABLE enforced_groups (
        name TEXT PRIMARY KEY
    );

    CREATE TABLE email_tokens (
        token_hash BYTEA PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        kind       TEXT NOT NULL CHECK (kind IN ('verify', 'code')),
        email      TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT
    );
    CREATE INDEX email_tokens_by_account ON email_tokens(account, kind, created_at);

    CREATE TABLE failures (
        key  TEXT NOT NULL,
        time BIGINT NOT NULL
    );
    CREATE INDEX failures_by_key ON failures(key, time);

    CREATE TABLE ip_blocks (
        ip         TEXT PRIMARY KEY,
        blocked_at BIGINT NOT NULL,
        until      BIGINT,
        failures   BIGINT NOT NULL
    );

    CREATE TABLE login_flows (
        token_hash BYTEA PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES users(username),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        request_id TEXT
    );
    ",
    // 2: end-to-end encrypted sync (the SQLite schema version 3).
    "
    CREATE TABLE sync_spaces (
        space_id   TEXT PRIMARY KEY,
        auth_hash  BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        deleted_at BIGINT,
        rev        BIGINT NOT NULL DEFAULT 0
    );

    CREATE TABLE sync_entries (
        space_id   TEXT NOT NULL REFERENCES sync_spaces(space_id),
        entry_id   TEXT NOT NULL,
        rev        BIGINT NOT NULL,
        blob       BYTEA NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (space_id, entry_id)
    );
    CREATE INDEX sync_entries_by_rev ON sync_entries(space_id, rev);
    ",
    // 3: indexes for pruning old requests and events (store/retention.rs).
    "
    CREATE INDEX requests_by_expiry ON requests(expires_at);
    CREATE INDEX events_by_time ON events(time);
    ",
    // 4: the security review (the SQLite schema version 5).
    "
    CREATE TABLE attempts (
        id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key  TEXT NOT NULL,
        time BIGINT NOT NULL
    );
    CREATE INDEX attempts_by_key ON attempts(key, time);
    INSERT INTO attempts (key, time) SELECT key, time FROM failures;
    DROP TABLE failures;

    CREATE TABLE browsers (
        id_hash      BYTEA NOT NULL,
        account      TEXT NOT NULL REFERENCES users(username),
        created_at   BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        label        TEXT NOT NULL DEFAULT '',
        revoked_at   BIGINT,
        PRIMARY KEY (id_hash, account)
    );
    CREATE INDEX browsers_by_account ON browsers(account);

    ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN verified_at BIGINT NOT NULL DEFAULT 0;
    UPDATE sessions SET last_seen_at = created_at;

    ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'sign_in'
        CHECK (kind IN ('sign_in', 'pair'));
    ALTER TABLE requests ADD COLUMN wrong_numbers BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN flow_hash BYTEA;
    ALTER TABLE requests ADD COLUMN new_device TEXT;
    CREATE INDEX requests_by_flow ON requests(flow_hash);

    ALTER TABLE devices ADD COLUMN paired_via TEXT NOT NULL DEFAULT 'invitation';
    ALTER TABLE login_flows ADD COLUMN reauth_of BYTEA;
    ALTER TABLE login_flows ADD COLUMN next TEXT;

    CREATE TABLE notices (
        id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account   TEXT NOT NULL REFERENCES users(username),
        time      BIGINT NOT NULL,
        kind      TEXT NOT NULL,
        text      TEXT NOT NULL,
        device_id TEXT
    );
    CREATE INDEX notices_by_account ON notices(account, id);

    ALTER TABLE sync_spaces ADD COLUMN owner TEXT;
    ALTER TABLE sync_spaces ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
    UPDATE sync_spaces SET bytes = COALESCE(
        (SELECT SUM(length(blob)) FROM sync_entries e WHERE e.space_id = sync_spaces.space_id), 0);
    CREATE INDEX sync_spaces_by_owner ON sync_spaces(owner);

    CREATE TABLE admin_tokens (
        name         TEXT PRIMARY KEY,
        token_hash   BYTEA NOT NULL UNIQUE,
        created_at   BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at   BIGINT
    );

    ALTER TABLE users ADD COLUMN name_key TEXT;
    CREATE UNIQUE INDEX users_by_name_key ON users(name_key);
    ",
];

/// Brings the database to [`PG_SCHEMA_VERSION`] and returns the server id
/// (made once, by whichever node gets there first).
pub(super) async fn migrate(client: &mut Client, new_id: &str) -> Result<String, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS meta (
             key   TEXT PRIMARY KEY,
             value TEXT NOT NULL
         )",
    )
    .await?;
    let found: i64 = match tx
        .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])
        .await?
    {
        Some(row) => row
            .try_get::<_, String>(0)?
            .parse()
            .map_err(|_| StoreError::Corrupt("schema_version is not a number"))?,
        None => 0,
    };
    if found > PG_SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: PG_SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql).await?;
        let version = (index as i64 + 1).to_string();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&version],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('server_id', $1) ON CONFLICT (key) DO NOTHING",
        &[&new_id],
    )
    .await?;
    let id: String = tx
        .query_one("SELECT value FROM meta WHERE key = 'server_id'", &[])
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::super::{PgStore, Store};
    use super::*;

    /// With `COUNTERSIGN_TEST_PG_URL` (a superuser URL): a fresh database
    /// migrates once, keeps its server id, and a newer one is refused.
    #[tokio::test]
    async fn migrates_once_and_refuses_newer() {
        let Some(admin) = std::env::var("COUNTERSIGN_TEST_PG_URL")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            println!("pg_schema: SKIPPED (COUNTERSIGN_TEST_PG_URL is not set)");
            return;
        };
        let name = format!("cs_test_schema_{}", std::process::id());
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let slash = admin.rfind('/').unwrap();
        let url = format!("{}/{name}", &admin[..slash]);

        let first = PgStore::connect(&url).await.unwrap();
        let id = first.server_id().await.unwrap();
        let again = PgStore::connect(&url).await.unwrap();
        assert_eq!(again.server_id().await.unwrap(), id);
        let c = again.pool().get().await.unwrap();
        let v: String = c
            .query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, PG_SCHEMA_VERSION.to_string());
        c.execute(
            "UPDATE meta SET value = $1 WHERE key = 'schema_version'",
            &[&(PG_SCHEMA_VERSION + 1).to_string()],
        )
        .await
        .unwrap();
        drop(c);
        assert!(matches!(
            PgStore::connect(&url).await,
            Err(StoreError::TooNew { .. })
        ));
        drop((first, again));
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}
