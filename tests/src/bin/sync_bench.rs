//! Sync benchmark on loopback: 500 profiles between two devices.
//!
//! Usage: `cargo run --release -p countersign-tests --bin sync_bench [PROFILES] [RUNS]`
//!
//! Device A holds N profiles and turns sync on (encrypts and pushes N
//! entries); device B, empty, joins (pulls, decrypts, merges, adds N
//! profiles to its vault); then A edits 10% of them and both sync (the
//! incremental case), and a round with nothing to do. Server, devices and
//! their vaults (SQLite, fsync) share this process and the machine's cores.
//! Each case is run RUNS times (fresh vaults and server each time); medians
//! are printed as Markdown rows for docs/benchmarks.md.

use countersign_core::sync::device;
use countersign_core::vault::ProfileUpdate;
use countersign_core::{SoftwareKeyProtector, Vault};
use countersign_server::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn vault(dir: &Path, name: &str) -> (Vault, PathBuf, SoftwareKeyProtector) {
    let path = dir.join(format!("{name}.db"));
    let v =
        Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), now()).expect("vault");
    v.unlock(None, now()).expect("unlock");
    let prot = SoftwareKeyProtector::beside(&path);
    (v, path, prot)
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(500);
    let runs = args.get(1).copied().unwrap_or(5);
    let (mut push, mut join, mut incr_a, mut incr_b, mut idle) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = countersign_server::start(ServerConfig::new(
            dir.path().join("server"),
            "127.0.0.1:0".parse().expect("addr"),
            "Bench NAS",
        ))
        .await
        .expect("server");
        let urls = vec![server.base_url().to_owned()];
        let fp = countersign_core::vault::hex(&server.spki_sha256());
        let (a, a_path, a_prot) = vault(dir.path(), "a");
        let (b, b_path, b_prot) = vault(dir.path(), "b");
        let uris: Vec<String> = (0..n)
            .map(|i| {
                let secret =
                    countersign_core::SecretBytes::new(format!("bench-secret-{i:08}").into_bytes());
                format!(
                    "otpauth://totp/Service{i}:user{i}?secret={}&issuer=Service{i}",
                    secret.to_base32().as_str()
                )
            })
            .collect();
        for chunk in uris.chunks(100) {
            let text = chunk.join("\n");
            let added = a.add_uri(&text, now());
            if added.is_err() {
                for u in chunk {
                    a.add_uri(u, now()).expect("add");
                }
            }
        }
        assert_eq!(a.list().expect("list").len(), n);

        let t = Instant::now();
        let (code, r) = device::enable(&a, &a_path, &a_prot, urls.clone(), &fp, now())
            .await
            .expect("enable");
        push.push(t.elapsed());
        assert_eq!(r.pushed, n);
        let t = Instant::now();
        let r = device::join(&b, &b_path, &b_prot, urls.clone(), &fp, &code, now())
            .await
            .expect("join");
        join.push(t.elapsed());
        assert_eq!(r.added, n);

        for p in a.list().expect("list").iter().take(n / 10) {
            a.update(
                &p.id,
                ProfileUpdate {
                    note: Some("edited".into()),
                    ..Default::default()
                },
                now(),
            )
            .expect("edit");
        }
        let t = Instant::now();
        let r = device::sync_now(&a, &a_path, &a_prot, now())
            .await
            .expect("sync a");
        incr_a.push(t.elapsed());
        assert_eq!(r.pushed, n / 10);
        let t = Instant::now();
        let r = device::sync_now(&b, &b_path, &b_prot, now())
            .await
            .expect("sync b");
        incr_b.push(t.elapsed());
        assert_eq!(r.updated, n / 10);
        let t = Instant::now();
        device::sync_now(&b, &b_path, &b_prot, now())
            .await
            .expect("idle");
        idle.push(t.elapsed());
        let _ = server.shutdown().await;
    }
    println!("| sync, {n} profiles, two devices on loopback (median of {runs}) | ms |");
    println!("|---|---|");
    println!(
        "| A turns sync on: encrypt + push {n} entries | {:.1} |",
        median(push)
    );
    println!(
        "| B joins: pull + decrypt + merge {n} entries, add {n} profiles to its vault | {:.1} |",
        median(join)
    );
    println!(
        "| A edits {} profiles and syncs (push {}) | {:.1} |",
        n / 10,
        n / 10,
        median(incr_a)
    );
    println!(
        "| B syncs (pull {} and apply) | {:.1} |",
        n / 10,
        median(incr_b)
    );
    println!("| a round with nothing to do | {:.1} |", median(idle));
}
