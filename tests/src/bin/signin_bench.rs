//! Web sign-in benchmark on loopback: password + approve and password + OTP,
//! on SQLite or PostgreSQL, with one server or two server processes sharing
//! PostgreSQL.
//!
//! Usage (release build; see tools/bench.sh):
//! `signin_bench [--pg URL] [--nodes 1|2] [--clients N] [--signins N]`
//!
//! One sign-in is what a browser does, over the web pages with a cookie
//! jar: `POST /signin/password` (Argon2id check, login flow) → the second
//! step → session cookie:
//! - approve: the verify page starts the request; the user's phone (the
//!   core's `Approver`, pinned connection) fetches it and sends its signed
//!   answer; the browser posts "Continue" (`/signin/finish`);
//! - OTP: `POST /signin/otp` with the current code, computed by the core.
//!   The replay guard allows one OTP sign-in per account per 30 s step, so
//!   every OTP sign-in uses its own account.
//!
//! With `--nodes 2` two `countersign-server` processes (the release binary
//! next to this one) share the database, cert and admin token; browsers
//! alternate between them as a round-robin load balancer would; phones use
//! the URL in their invitation (node A). Clients, phones and servers share
//! the same 2 cores. Results are Markdown rows for `docs/benchmarks.md`.

use countersign_core::approve::{self, Decision, DeviceInfo};
use countersign_core::{Generator, OtpParams, SecretBytes, SoftwareKeyProtector, Vault};
use countersign_server::{Database, ServerConfig};
use serde_json::json;
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Bench-password-1";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The servers under test and how to reach them.
struct Cluster {
    bases: Vec<String>,
    cert_pem: String,
    admin: String,
    _inproc: Option<countersign_server::RunningServer>,
    children: Vec<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn fresh_pg_database(admin_url: &str) -> String {
    let name = format!("cs_bench_{}_{}", std::process::id(), now());
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    let driver = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    drop(client);
    let _ = driver.await;
    let (head, _) = admin_url.rsplit_once('/').expect("URL with a database");
    format!("{head}/{name}")
}

async fn cluster(pg: Option<&str>, nodes: usize) -> Cluster {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let database = match pg {
        Some(url) => Database::Postgres {
            url: fresh_pg_database(url).await,
        },
        None => Database::Sqlite,
    };
    if nodes == 1 {
        let mut config =
            ServerConfig::new(&data, "127.0.0.1:0".parse().expect("addr"), "Bench NAS");
        config.database = database;
        config.limits.requests_per_window = u32::MAX;
        config.limits.requests_per_ip_per_window = u32::MAX;
        config.ip_block.max_failures = 0;
        let server = countersign_server::start(config).await.expect("server");
        return Cluster {
            bases: vec![server.base_url().to_owned()],
            cert_pem: server.cert_pem().to_owned(),
            admin: server
                .create_admin_token("bench")
                .await
                .expect("admin token"),
            _inproc: Some(server),
            children: Vec::new(),
            _dir: dir,
        };
    }
    let Database::Postgres { url } = database else {
        panic!("two nodes need --pg");
    };
    let bin = std::env::current_exe()
        .expect("exe")
        .with_file_name("countersign-server");
    let mut children = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..nodes {
        let mut child = std::process::Command::new(&bin)
            .args([
                "serve",
                "--quiet",
                "--listen",
                "127.0.0.1:0",
                "--name",
                "Bench NAS",
            ])
            .args([
                "--requests-per-window",
                "1000000000",
                "--requests-per-ip-per-window",
                "1000000000",
                "--ip-block-failures",
                "0",
            ])
            .arg("--data-dir")
            .arg(&data)
            .args(["--database-url", &url])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.split("public URL:").nth(1).map(|u| u.trim().to_owned()))
            .expect("public URL line");
        // Keep reading: the node still writes to its stdout.
        std::thread::spawn(move || lines.for_each(drop));
        bases.push(base);
        children.push(child);
    }
    let cert_pem = std::fs::read_to_string(data.join("cert.pem")).expect("cert");
    let admin = countersign_server::create_admin_token(
        &Database::Postgres { url: url.clone() },
        &data,
        "bench",
        0,
    )
    .await
    .expect("admin token");
    Cluster {
        bases,
        cert_pem,
        admin,
        _inproc: None,
        children,
        _dir: dir,
    }
}

fn browser(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .cookie_store(true)
        .build()
        .expect("client")
}

fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(rest[start..start + end].to_owned())
}

async fn post(c: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (String, String) {
    let r = c.post(url).form(form).send().await.expect("post");
    let path = r.url().path().to_owned();
    (path, r.text().await.expect("body"))
}

struct Phone {
    approver: approve::Approver,
    pairing: String,
}

/// Creates `n` users named `{prefix}{i}` (password + second step).
async fn users(cl: &Cluster, prefix: &str, n: usize) -> Vec<String> {
    let admin_http = browser(&cl.cert_pem);
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let r = admin_http
            .post(format!("{}/v1/admin/users", cl.bases[0]))
            .bearer_auth(&cl.admin)
            .json(&json!({"username": name, "password": PASSWORD, "method": "password"}))
            .send()
            .await
            .expect("user");
        assert!(r.status().is_success(), "create user {}", r.status());
        names.push(name);
    }
    names
}

/// Pairs a phone (a core vault) with `user` and turns approve on.
async fn pair_phone(cl: &Cluster, dir: &std::path::Path, user: &str) -> Phone {
    let admin_http = browser(&cl.cert_pem);
    let inv: serde_json::Value = admin_http
        .post(format!("{}/v1/admin/users/{user}/pairing", cl.bases[0]))
        .bearer_auth(&cl.admin)
        .json(&json!({}))
        .send()
        .await
        .expect("invite")
        .json()
        .await
        .expect("invite json");
    let path = dir.join(format!("{user}.db"));
    let vault = Arc::new(
        Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), now()).expect("vault"),
    );
    vault.unlock(None, now()).expect("unlock");
    let mut s = vault.settings().expect("settings");
    s.require_screen_lock_after_approve = false;
    vault.update_settings(s).expect("settings");
    let device = DeviceInfo {
        name: "bench phone".into(),
        platform: "desktop".into(),
        push_token: None,
    };
    let p = approve::pair_with_invite(&vault, inv["uri"].as_str().expect("uri"), &device, now())
        .await
        .expect("pair");
    let b = browser(&cl.cert_pem);
    post(
        &b,
        format!("{}/signin/password", cl.bases[0]),
        &[("username", user), ("password", PASSWORD)],
    )
    .await;
    let (path, _) = post(
        &b,
        format!("{}/account/method", cl.bases[0]),
        &[("method", "approve")],
    )
    .await;
    assert_eq!(path, "/signin", "method change signs out");
    Phone {
        approver: approve::Approver::new(vault),
        pairing: p.id,
    }
}

/// Enrolls TOTP for `user` through the pages; returns its generator.
async fn enroll(cl: &Cluster, user: &str) -> Generator {
    let b = browser(&cl.cert_pem);
    let base = &cl.bases[0];
    post(
        &b,
        format!("{base}/signin/password"),
        &[("username", user), ("password", PASSWORD)],
    )
    .await;
    let (_, page) = post(&b, format!("{base}/account/otp/start"), &[]).await;
    let secret: String = text_of(&page, "otp-secret")
        .expect("secret")
        .split_whitespace()
        .collect();
    let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &secret).expect("b32");
    let generator = Generator::new(&SecretBytes::new(bytes), OtpParams::totp()).expect("generator");
    // Confirm with the previous step's code, so the current one stays
    // unused for the measured sign-in.
    let code = generator.code_at(now() - 30).code;
    let (path, _) = post(
        &b,
        format!("{base}/account/otp/confirm"),
        &[("code", &code)],
    )
    .await;
    assert_eq!(path, "/account", "enrolled");
    let (path, _) = post(&b, format!("{base}/account/method"), &[("method", "otp")]).await;
    assert_eq!(path, "/signin");
    generator
}

async fn approve_signin(cl: &Cluster, base: &str, user: &str, phone: &Phone) -> Duration {
    let b = browser(&cl.cert_pem);
    let t = Instant::now();
    let (path, page) = post(
        &b,
        format!("{base}/signin/password"),
        &[("username", user), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(path, "/signin/verify", "{page}");
    let number: u8 = text_of(&page, "number")
        .expect("number")
        .parse()
        .expect("number");
    let req = phone
        .approver
        .pending_requests(&phone.pairing, 10, now())
        .await
        .expect("pending")
        .pop()
        .expect("one request");
    phone
        .approver
        .answer(&req, Decision::Approve, number, now())
        .await
        .expect("answer");
    let (path, _) = post(&b, format!("{base}/signin/finish"), &[]).await;
    assert_eq!(path, "/account");
    t.elapsed()
}

async fn otp_signin(cl: &Cluster, base: &str, user: &str, generator: &Generator) -> Duration {
    let b = browser(&cl.cert_pem);
    let t = Instant::now();
    let (path, _) = post(
        &b,
        format!("{base}/signin/password"),
        &[("username", user), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(path, "/signin/verify");
    let code = generator.code_at(now()).code;
    let (path, page) = post(&b, format!("{base}/signin/otp"), &[("code", &code)]).await;
    assert_eq!(path, "/account", "{page}");
    t.elapsed()
}

fn row(label: &str, lat: &mut [Duration], wall: Duration) {
    lat.sort();
    println!(
        "| {label} | {} | {:.1} ms | {:.1} ms | {:.1} sign-ins/s |",
        lat.len(),
        pct(lat, 0.5).as_secs_f64() * 1e3,
        pct(lat, 0.99).as_secs_f64() * 1e3,
        lat.len() as f64 / wall.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let pg = arg("--pg");
    let nodes: usize = arg("--nodes").and_then(|s| s.parse().ok()).unwrap_or(1);
    let clients: usize = arg("--clients").and_then(|s| s.parse().ok()).unwrap_or(16);
    let per_client: usize = arg("--signins").and_then(|s| s.parse().ok()).unwrap_or(8);
    let cl = Arc::new(cluster(pg.as_deref(), nodes).await);
    let store = match (&pg, nodes) {
        (None, _) => "SQLite".to_owned(),
        (Some(_), 1) => "PostgreSQL".to_owned(),
        (Some(_), n) => format!("PostgreSQL, {n} server processes"),
    };
    let phones_dir = tempfile::tempdir().expect("tempdir");

    // Password + approve: each client is one account with one phone.
    let approve_users = users(&cl, "a", clients).await;
    let mut phones = Vec::new();
    for u in &approve_users {
        phones.push(pair_phone(&cl, phones_dir.path(), u).await);
    }
    let phones = Arc::new(phones);
    let approve_users = Arc::new(approve_users);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (cl, phones, users) = (cl.clone(), phones.clone(), approve_users.clone());
            tokio::spawn(async move {
                let mut v = Vec::new();
                for k in 0..per_client {
                    let base = cl.bases[(i + k) % cl.bases.len()].clone();
                    v.push(approve_signin(&cl, &base, &users[i], &phones[i]).await);
                }
                v
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let wall = started.elapsed();
    println!("| sign-in ({store}, {clients} concurrent browsers) | n | p50 | p99 | throughput |");
    println!("|---|---|---|---|---|");
    row("password + approve", &mut lat, wall);

    // Password + OTP: one account per sign-in (replay guard: one OTP
    // sign-in per account per step), enrolled beforehand.
    let n = clients * per_client;
    let otp_users = users(&cl, "o", n).await;
    let mut gens = Vec::new();
    for u in &otp_users {
        gens.push(enroll(&cl, u).await);
    }
    let gens = Arc::new(gens);
    let otp_users = Arc::new(otp_users);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (cl, gens, users) = (cl.clone(), gens.clone(), otp_users.clone());
            tokio::spawn(async move {
                let mut v = Vec::new();
                for k in 0..per_client {
                    let j = i * per_client + k;
                    let base = cl.bases[j % cl.bases.len()].clone();
                    v.push(otp_signin(&cl, &base, &users[j], &gens[j]).await);
                }
                v
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let wall = started.elapsed();
    row("password + OTP", &mut lat, wall);
}
