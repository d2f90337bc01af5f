//! Test client for the Countersign server: starts the real server in-process
//! on 127.0.0.1:0 with a manual clock, talks HTTPS to it trusting only its
//! certificate, and plays a phone with a ring P-256 key that signs exactly as
//! `countersign_core::approve::protocol` says.

#![allow(dead_code)]

pub mod web;

use std::sync::Arc;

use countersign_core::approve::protocol::{
    approval_message, b64, device_auth_message, pair_message, AnswerRequest, Decision, ErrorBody,
    PairRequest, PairResponse, PairState, PairingInvite, PendingList, PendingRequest,
    SignInContext, SignInStart, SignInStarted, SignInStatus, HEADER_DEVICE, HEADER_SIGNATURE,
    HEADER_TIME,
};
use countersign_server::{
    start, Clock, Database, ManualClock, RunningServer, ServerConfig, SignInMethod,
};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub const PASSWORD: &str = "Correct-Horse-battery-1";

/// A running server plus what tests need around it.
pub struct TestServer {
    pub server: RunningServer,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// An admin API token made at start (`RunningServer::create_admin_token`).
    pub admin_token: String,
    /// The test's own PostgreSQL database (with `COUNTERSIGN_TEST_PG_URL`);
    /// declared after `server` so it is dropped after the server stops.
    pub pg: Option<PgTestDb>,
}

/// Env var naming a PostgreSQL server (a superuser URL): when set, every
/// test server runs on its own fresh database there instead of SQLite.
pub const PG_ENV: &str = "COUNTERSIGN_TEST_PG_URL";

/// The PostgreSQL URL from [`PG_ENV`], if set.
pub fn pg_admin_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|s| !s.trim().is_empty())
}

/// A fresh database `cs_test_<random>`, dropped (best effort, `WITH
/// (FORCE)`) when this value is dropped.
pub struct PgTestDb {
    /// URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgTestDb {
    /// Creates one on the server named by [`PG_ENV`]; `None` if unset.
    pub async fn create() -> Option<Self> {
        let admin_url = pg_admin_url()?;
        let mut bytes = [0u8; 8];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes).unwrap();
        let name = format!(
            "cs_test_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}: {e}"));
        let driver = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = driver.await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            url,
            admin_url,
            name,
        })
    }

    /// The [`Database`] to put in a [`ServerConfig`].
    pub fn database(&self) -> Database {
        Database::Postgres {
            url: self.url.clone(),
        }
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
                {
                    let driver = tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    drop(client);
                    let _ = driver.await;
                }
            });
        })
        .join();
    }
}

/// `url` (URL form) with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let query = url[after_scheme..]
        .find('?')
        .map_or(url.len(), |i| after_scheme + i);
    let path = url[after_scheme..query]
        .find('/')
        .map_or(query, |i| after_scheme + i);
    format!("{}/{name}{}", &url[..path], &url[query..])
}

/// An HTTPS client that trusts only `cert_pem`.
pub fn client_for(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_system_time());
        let mut config = ServerConfig::new(
            dir.path().join("data"),
            "127.0.0.1:0".parse().unwrap(),
            "Test NAS",
        );
        config.clock = clock.clone();
        let pg = PgTestDb::create().await;
        if let Some(db) = &pg {
            config.database = db.database();
        }
        tweak(&mut config);
        let server = start(config).await.unwrap();
        let http = client_for(server.cert_pem());
        let admin_token = server.create_admin_token("tests").await.unwrap();
        Self {
            server,
            clock,
            http,
            dir,
            admin_token,
            pg,
        }
    }

    /// A config for another server on this one's data directory, clock and
    /// database (a restart, or a second node).
    pub fn same_data_config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(
            self.dir.path().join("data"),
            "127.0.0.1:0".parse().unwrap(),
            "Test NAS",
        );
        config.clock = self.clock.clone();
        config.database = self.database();
        config
    }

    /// The database this server uses (to start another on the same one).
    pub fn database(&self) -> Database {
        self.pg
            .as_ref()
            .map_or(Database::Sqlite, PgTestDb::database)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A user's TOTP seed column exactly as the database holds it.
    pub async fn raw_otp_seed(&self, user: &str) -> Option<Vec<u8>> {
        const SQL: &str = "SELECT otp_secret FROM users WHERE username = $1";
        match &self.pg {
            None => {
                let db =
                    rusqlite::Connection::open(self.dir.path().join("data/server.db")).unwrap();
                db.query_row(&SQL.replace("$1", "?1"), [user], |r| r.get(0))
                    .unwrap()
            }
            Some(pg) => {
                let (client, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let driver = tokio::spawn(conn);
                let row = client.query_one(SQL, &[&user]).await.unwrap();
                drop(client);
                let _ = driver.await;
                row.get(0)
            }
        }
    }

    /// Runs one SQL statement on the server's database (`$1`… parameters,
    /// rewritten to `?1`… for SQLite). Tests use it to arrange state that
    /// would otherwise need a mail round trip.
    pub async fn sql(&self, sql: &str, params: &[&str]) {
        match &self.pg {
            None => {
                let db =
                    rusqlite::Connection::open(self.dir.path().join("data/server.db")).unwrap();
                let mut s = sql.to_string();
                for i in (1..=params.len()).rev() {
                    s = s.replace(&format!("${i}"), &format!("?{i}"));
                }
                db.execute(&s, rusqlite::params_from_iter(params.iter()))
                    .unwrap();
            }
            Some(pg) => {
                let (client, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let driver = tokio::spawn(conn);
                let p: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|s| s as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                client.execute(sql, &p).await.unwrap();
                drop(client);
                let _ = driver.await;
            }
        }
    }

    /// How many active devices `user` has (admin API).
    pub async fn server_devices(&self, user: &str) -> usize {
        let (_, list) = self
            .admin(
                reqwest::Method::GET,
                &format!("/v1/admin/users/{user}/devices"),
                None,
            )
            .await;
        list["devices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["revoked_at"].is_null())
            .count()
    }

    /// Gives `user` a verified backup address (as if the link was opened).
    pub async fn set_verified_email(&self, user: &str, email: &str) {
        let verified = if self.pg.is_some() { "TRUE" } else { "1" };
        self.sql(
            &format!(
                "UPDATE users SET email = $1, email_verified = {verified} WHERE username = $2"
            ),
            &[email, user],
        )
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    pub fn server_id(&self) -> String {
        self.server.server_id().to_string()
    }

    pub async fn user(&self, name: &str, method: SignInMethod) {
        let pw = if method == SignInMethod::Approve {
            None
        } else {
            Some(PASSWORD)
        };
        self.server.create_user(name, pw, method).await.unwrap();
    }

    pub async fn invite(&self, name: &str) -> PairingInvite {
        PairingInvite::parse(&self.server.pairing_invite(name).await.unwrap()).unwrap()
    }

    /// A user with method `password_approve` and one paired phone.
    pub async fn user_with_device(&self, name: &str) -> Device {
        self.user(name, SignInMethod::PasswordApprove).await;
        self.paired_device(name).await
    }

    pub async fn paired_device(&self, name: &str) -> Device {
        let invite = self.invite(name).await;
        Device::new()
            .pair_with_token(self, &invite.token)
            .await
            .unwrap()
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        json_of(req.send().await.unwrap()).await
    }

    pub async fn start_signin(
        &self,
        username: &str,
        password: Option<&str>,
    ) -> Result<SignInStarted, (StatusCode, ErrorBody)> {
        let body = SignInStart {
            username: username.into(),
            password: password.map(Into::into),
        };
        let resp = self
            .http
            .post(self.url("/v1/signin/start"))
            .header("user-agent", "TestBrowser/1.0")
            .json(&body)
            .send()
            .await
            .unwrap();
        typed(resp).await
    }

    pub async fn signin_status(
        &self,
        started: &SignInStarted,
        wait: u64,
    ) -> Result<SignInStatus, (StatusCode, ErrorBody)> {
        let resp = self
            .http
            .get(self.url(&format!(
                "/v1/signin/{}",
                started.request_id.as_ref().unwrap()
            )))
            .query(&[
                ("poll_token", started.poll_token.clone().unwrap()),
                ("wait", wait.to_string()),
            ])
            .send()
            .await
            .unwrap();
        typed(resp).await
    }

    pub async fn session_account(&self, token: &str) -> Result<String, StatusCode> {
        let resp = self
            .http
            .get(self.url("/v1/session"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (status, v) = json_of(resp).await;
        if status == StatusCode::OK {
            Ok(v["account"].as_str().unwrap().to_string())
        } else {
            Err(status)
        }
    }
}

/// An SMTP configuration pointing at a closed loopback port: the server
/// offers backup email, and any attempt to send fails (for tests that never
/// send).
pub fn unused_smtp() -> countersign_server::SmtpConfig {
    countersign_server::SmtpConfig {
        host: "127.0.0.1".into(),
        port: 9,
        security: countersign_server::SmtpSecurity::None,
        username: None,
        password: None,
        from: "Test NAS <nas@example.com>".into(),
    }
}

/// Status and JSON body; asserts every answer is JSON with `server_time`.
pub async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "non-JSON answer ({status}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert!(v["server_time"].is_i64(), "no server_time in {v}");
    if !status.is_success() {
        assert!(
            v["error"].is_string() && v["message"].is_string(),
            "not an ErrorBody: {v}"
        );
    }
    (status, v)
}

/// Decodes a success body as `T`, or an error as `ErrorBody`.
pub async fn typed<T: DeserializeOwned>(
    resp: reqwest::Response,
) -> Result<T, (StatusCode, ErrorBody)> {
    let (status, v) = json_of(resp).await;
    if status.is_success() {
        Ok(serde_json::from_value(v).unwrap())
    } else {
        Err((status, serde_json::from_value(v).unwrap()))
    }
}

/// Asserts an error status and code.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(
    r: Result<T, (StatusCode, ErrorBody)>,
    status: u16,
    code: &str,
) -> ErrorBody {
    match r {
        Ok(v) => panic!("expected {status} {code}, got success {v:?}"),
        Err((s, e)) => {
            assert_eq!(
                (s.as_u16(), e.error.as_str()),
                (status, code),
                "{}",
                e.message
            );
            e
        }
    }
}

/// A phone: a P-256 key and, once paired, its device id.
pub struct Device {
    pub key: EcdsaKeyPair,
    pub id: String,
    pub account: String,
    pub platform: String,
    pub push_token: Option<String>,
}

pub fn new_key() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

pub fn sign(key: &EcdsaKeyPair, msg: &[u8]) -> Vec<u8> {
    key.sign(&SystemRandom::new(), msg)
        .unwrap()
        .as_ref()
        .to_vec()
}

impl Device {
    pub fn new() -> Self {
        Self {
            key: new_key(),
            id: String::new(),
            account: String::new(),
            platform: "android".into(),
            push_token: None,
        }
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// A pairing body signed over `credential` at `time`.
    pub fn pair_body(&self, server_id: &str, credential: &str, time: i64) -> PairRequest {
        let pk = self.public_key();
        PairRequest {
            token: None,
            username: None,
            password: None,
            device_name: "Test phone".into(),
            platform: self.platform.clone(),
            public_key: b64(&pk),
            push_token: self.push_token.clone(),
            time,
            proof: b64(&sign(
                &self.key,
                &pair_message(server_id, credential, &pk, time),
            )),
            otp_code: None,
        }
    }

    pub async fn send_pair(
        mut self,
        ts: &TestServer,
        body: &PairRequest,
    ) -> Result<Device, (StatusCode, ErrorBody)> {
        let resp = ts
            .http
            .post(ts.url("/v1/pair"))
            .json(body)
            .send()
            .await
            .unwrap();
        let r: PairResponse = typed(resp).await?;
        assert_eq!(r.server_id, ts.server.server_id());
        assert_eq!(r.state, PairState::Paired, "{r:?}");
        let id = r.device_id.expect("paired without a device id");
        assert_eq!(id.len(), 32);
        self.id = id;
        self.account = r.account;
        Ok(self)
    }

    /// `POST /v1/pair` with a password (and maybe an authenticator code):
    /// the raw answer, paired (200) or waiting for approval (202).
    pub async fn start_password_pairing(
        &self,
        ts: &TestServer,
        username: &str,
        password: &str,
        otp_code: Option<&str>,
    ) -> Result<(StatusCode, PairResponse), (StatusCode, ErrorBody)> {
        let mut body = self.pair_body(&ts.server_id(), username, ts.now());
        body.username = Some(username.into());
        body.password = Some(password.into());
        body.otp_code = otp_code.map(Into::into);
        let resp = ts
            .http
            .post(ts.url("/v1/pair"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        typed::<PairResponse>(resp).await.map(|r| (status, r))
    }

    /// `GET /v1/pair/{id}` of a pairing waiting for approval.
    pub async fn poll_pairing(
        ts: &TestServer,
        started: &PairResponse,
        wait: u64,
    ) -> Result<(StatusCode, PairResponse), (StatusCode, ErrorBody)> {
        let resp = ts
            .http
            .get(ts.url(&format!(
                "/v1/pair/{}",
                started.request_id.as_ref().unwrap()
            )))
            .query(&[
                ("poll_token", started.poll_token.clone().unwrap()),
                ("wait", wait.to_string()),
            ])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        typed::<PairResponse>(resp).await.map(|r| (status, r))
    }

    pub async fn pair_with_token(
        self,
        ts: &TestServer,
        token: &str,
    ) -> Result<Device, (StatusCode, ErrorBody)> {
        let mut body = self.pair_body(&ts.server_id(), token, ts.now());
        body.token = Some(token.into());
        self.send_pair(ts, &body).await
    }

    pub async fn pair_with_password(
        self,
        ts: &TestServer,
        username: &str,
        password: &str,
    ) -> Result<Device, (StatusCode, ErrorBody)> {
        let mut body = self.pair_body(&ts.server_id(), username, ts.now());
        body.username = Some(username.into());
        body.password = Some(password.into());
        self.send_pair(ts, &body).await
    }

    /// Device-auth headers for a request.
    pub fn auth_headers(
        &self,
        ts: &TestServer,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        let time = ts.now();
        let msg = device_auth_message(
            &ts.server_id(),
            &self.id,
            method,
            path_and_query,
            time,
            body,
        );
        vec![
            (HEADER_DEVICE, self.id.clone()),
            (HEADER_TIME, time.to_string()),
            (HEADER_SIGNATURE, b64(&sign(&self.key, &msg))),
        ]
    }

    pub async fn signed(
        &self,
        ts: &TestServer,
        method: reqwest::Method,
        path_and_query: &str,
        body: &[u8],
    ) -> reqwest::Response {
        let mut req = ts
            .http
            .request(method.clone(), ts.url(path_and_query))
            .body(body.to_vec());
        for (k, v) in self.auth_headers(ts, method.as_str(), path_and_query, body) {
            req = req.header(k, v);
        }
        req.send().await.unwrap()
    }

    pub async fn pending(
        &self,
        ts: &TestServer,
        wait: u64,
    ) -> Result<PendingList, (StatusCode, ErrorBody)> {
        typed(
            self.signed(
                ts,
                reqwest::Method::GET,
                &format!("/v1/device/requests?wait={wait}&notices_after=0"),
                b"",
            )
            .await,
        )
        .await
    }

    /// `pending` as a client from before notices (no `notices_after`).
    pub async fn pending_without_notices(
        &self,
        ts: &TestServer,
        wait: u64,
    ) -> Result<PendingList, (StatusCode, ErrorBody)> {
        typed(
            self.signed(
                ts,
                reqwest::Method::GET,
                &format!("/v1/device/requests?wait={wait}"),
                b"",
            )
            .await,
        )
        .await
    }

    /// The one pending request (panics if none).
    pub async fn the_request(&self, ts: &TestServer) -> PendingRequest {
        let list = self.pending(ts, 0).await.unwrap();
        assert_eq!(list.requests.len(), 1, "{list:?}");
        list.requests.into_iter().next().unwrap()
    }

    /// An answer signed over `context` (normally the one received).
    pub fn answer_body(
        &self,
        ts: &TestServer,
        req: &PendingRequest,
        context: &SignInContext,
        decision: Decision,
        picked: u8,
    ) -> AnswerRequest {
        let time = ts.now();
        let nonce = countersign_core::approve::protocol::unb64(&req.nonce).unwrap();
        let msg = approval_message(
            &ts.server_id(),
            &req.account,
            &req.request_id,
            &nonce,
            decision,
            picked,
            &context.hash(),
            time,
        );
        AnswerRequest {
            device_id: self.id.clone(),
            decision,
            picked_number: picked,
            time,
            signature: b64(&sign(&self.key, &msg)),
        }
    }

    pub async fn send_answer(
        ts: &TestServer,
        request_id: &str,
        body: &AnswerRequest,
    ) -> Result<countersign_core::approve::protocol::AnswerResponse, (StatusCode, ErrorBody)> {
        let resp = ts
            .http
            .post(ts.url(&format!("/v1/requests/{request_id}/answer")))
            .json(body)
            .send()
            .await
            .unwrap();
        typed(resp).await
    }

    pub async fn answer(
        &self,
        ts: &TestServer,
        req: &PendingRequest,
        decision: Decision,
        picked: u8,
    ) -> Result<countersign_core::approve::protocol::AnswerResponse, (StatusCode, ErrorBody)> {
        let body = self.answer_body(ts, req, &req.context, decision, picked);
        Self::send_answer(ts, &req.request_id, &body).await
    }
}
