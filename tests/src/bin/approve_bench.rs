//! Approve round-trip benchmark on loopback.
//!
//! Usage: `cargo run --release -p countersign-tests --bin approve_bench [DEVICES] [ROUNDS_PER_DEVICE]`
//!
//! One round trip = the login side starts a sign-in (server creates the
//! request; passwordless account, so no Argon2 in the path) → the device
//! fetches pending requests (device-authenticated GET) → signs the answer
//! with its P-256 key → the server verifies and commits the state change.
//! Each device keeps its pinned connection (`Approver`), as the app does;
//! the login side reuses one client.
//! Server and devices run in one process on the same 2 cores; results are
//! printed as a Markdown table for `docs/benchmarks.md`.

use countersign_core::approve::pinning::{self, Pin};
use countersign_core::approve::protocol::RequestState;
use countersign_core::approve::{self, Decision, DeviceInfo};
use countersign_core::{SoftwareKeyProtector, Vault};
use countersign_server::ServerConfig;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

struct Device {
    client: approve::Approver,
    pairing: String,
    user: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let devices = args.first().copied().unwrap_or(32);
    let rounds = args.get(1).copied().unwrap_or(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(
        dir.path().join("server"),
        "127.0.0.1:0".parse().expect("addr"),
        "Bench NAS",
    );
    config.limits.requests_per_window = u32::MAX;
    config.limits.requests_per_ip_per_window = u32::MAX;
    let server = countersign_server::start(config).await.expect("server");
    let (http, _) =
        pinning::client(Pin::Key(server.spki_sha256()), Duration::from_secs(30)).expect("client");
    let base = server.base_url().to_owned();
    let admin = server
        .create_admin_token("bench")
        .await
        .expect("admin token");

    let mut devs = Vec::new();
    for i in 0..devices {
        let user = format!("user{i}");
        let r = http
            .post(format!("{base}/v1/admin/users"))
            .bearer_auth(&admin)
            .json(&json!({"username": user, "password": "Bench-password-1", "method": "approve"}))
            .send()
            .await
            .expect("user");
        assert!(r.status().is_success(), "create user {}", r.status());
        let inv: serde_json::Value = http
            .post(format!("{base}/v1/admin/users/{user}/pairing"))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .await
            .expect("invite")
            .json()
            .await
            .expect("invite json");
        let path = dir.path().join(format!("dev{i}.db"));
        let vault = Arc::new(
            Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), now())
                .expect("vault"),
        );
        vault.unlock(None, now()).expect("unlock");
        let mut s = vault.settings().expect("settings");
        s.require_screen_lock_after_approve = false;
        vault.update_settings(s).expect("settings");
        let device = DeviceInfo {
            name: format!("bench {i}"),
            platform: "desktop".into(),
            push_token: None,
        };
        let p =
            approve::pair_with_invite(&vault, inv["uri"].as_str().expect("uri"), &device, now())
                .await
                .expect("pair");
        devs.push(Device {
            client: approve::Approver::new(vault),
            pairing: p.id,
            user,
        });
    }

    async fn round_trip(http: &reqwest::Client, base: &str, d: &Device) -> Duration {
        let t = Instant::now();
        let started: serde_json::Value = http
            .post(format!("{base}/v1/signin/start"))
            .json(&json!({"username": d.user}))
            .send()
            .await
            .expect("start")
            .json()
            .await
            .expect("start json");
        let number = started["number"].as_u64().expect("number") as u8;
        let t1 = t.elapsed();
        let req = d
            .client
            .pending_requests(&d.pairing, 0, now())
            .await
            .expect("pending")
            .pop()
            .expect("one request");
        let t2 = t.elapsed();
        let state = d
            .client
            .answer(&req, Decision::Approve, number, now())
            .await
            .expect("answer");
        if std::env::var_os("APPROVE_BENCH_STEPS").is_some() {
            eprintln!(
                "start {:?} pending {:?} answer {:?}",
                t1,
                t2 - t1,
                t.elapsed() - t2
            );
        }
        assert_eq!(state, RequestState::Approved);
        t.elapsed()
    }

    // Sequential: latency of one round trip with an idle server.
    let mut lat = Vec::new();
    for r in 0..(rounds * 5).max(100) {
        lat.push(round_trip(&http, &base, &devs[r % devs.len()]).await);
    }
    lat.sort();

    // Concurrent: every device approves `rounds` times, all at once.
    let devs = Arc::new(devs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..devs.len())
        .map(|i| {
            let (http, base, devs) = (http.clone(), base.clone(), devs.clone());
            tokio::spawn(async move {
                let mut v = Vec::with_capacity(rounds);
                for _ in 0..rounds {
                    v.push(round_trip(&http, &base, &devs[i]).await);
                }
                v
            })
        })
        .collect();
    let mut conc = Vec::new();
    for t in tasks {
        conc.extend(t.await.expect("task"));
    }
    let wall = started.elapsed();
    conc.sort();
    let per_s = conc.len() as f64 / wall.as_secs_f64();

    println!("| measurement | n | p50 | p99 | throughput |");
    println!("|---|---|---|---|---|");
    println!(
        "| approve round trip, one device at a time | {} | {:.2} ms | {:.2} ms | {:.0} approvals/s |",
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.len() as f64 / lat.iter().map(Duration::as_secs_f64).sum::<f64>()
    );
    println!(
        "| approve round trip, {} devices concurrently | {} | {:.2} ms | {:.2} ms | {:.0} approvals/s |",
        devs.len(),
        conc.len(),
        pct(&conc, 0.5).as_secs_f64() * 1e3,
        pct(&conc, 0.99).as_secs_f64() * 1e3,
        per_s
    );
    let _ = server.shutdown().await;
}
