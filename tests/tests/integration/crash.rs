//! Kill -9 a writer at random points, many times: every acknowledged write
//! must survive and the vault must always open and verify.

use countersign_core::{NewProfile, OtpParams, SecretBytes, SoftwareKeyProtector, Vault};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRIALS: u32 = 40;

/// Small deterministic PRNG (xorshift) so failures can be replayed by seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_nine_never_loses_an_acknowledged_write() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de_u64);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let prot = Arc::new(SoftwareKeyProtector::beside(&path));
    {
        let v = Vault::create(&path, prot.clone(), 1).unwrap();
        v.unlock(None, 1).unwrap();
        let h = NewProfile::new(
            "counter",
            "c",
            SecretBytes::from_slice(b"hotp-seed-0123456789"),
            OtpParams::hotp(),
        );
        v.add(h, 1).unwrap();
    }
    let exe = env!("CARGO_BIN_EXE_crash_writer");
    let mut acked: HashSet<u32> = HashSet::new();
    let mut max_counter = 0u64;
    let mut next = 0u32;
    let mut kills_mid_write = 0;
    let mut total_acks = 0usize;
    for trial in 0..TRIALS {
        let mut child = Command::new(exe)
            .args([path.to_str().unwrap(), &next.to_string(), "1000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill after a random number of acknowledgements plus a random delay,
        // so the kill lands at arbitrary points inside later writes.
        let delay = Duration::from_micros(5_000 + rng.next() % 60_000);
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => lines.push(l),
                    Err(_) => break,
                }
            }
            lines
        });
        // Poll the child's progress by sleeping in small steps; the reader
        // thread collects everything until the pipe closes.
        let started = Instant::now();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let lines = reader.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(60));
        if status.code().is_some() && status.code() != Some(0) {
            panic!("writer failed on its own in trial {trial} (seed {seed}): {status:?}");
        }
        if status.code().is_none() {
            kills_mid_write += 1;
        }
        for l in &lines {
            let mut parts = l.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("ack"), Some("add"), Some(n)) => {
                    total_acks += 1;
                    acked.insert(n.parse().unwrap());
                }
                (Some("ack"), Some("counter"), Some(n)) => {
                    max_counter = max_counter.max(n.parse().unwrap());
                }
                _ => {}
            }
        }
        next += 1000;

        // After every kill: the vault opens, verifies, and holds every ack.
        let v = Vault::open(&path, prot.clone())
            .unwrap_or_else(|e| panic!("trial {trial} (seed {seed}): open: {e}"));
        v.unlock(None, 1)
            .unwrap_or_else(|e| panic!("trial {trial} (seed {seed}): unlock: {e}"));
        let list = v.list().unwrap();
        let present: HashSet<u32> = list
            .iter()
            .filter_map(|p| {
                p.issuer
                    .strip_prefix("issuer-")
                    .and_then(|n| n.parse().ok())
            })
            .collect();
        let lost: Vec<_> = acked.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "trial {trial} (seed {seed}): lost acknowledged adds {lost:?}"
        );
        let counter = list
            .iter()
            .find(|p| p.issuer == "counter")
            .unwrap()
            .params
            .counter;
        assert!(
            counter >= max_counter,
            "trial {trial}: counter {counter} < acknowledged {max_counter}"
        );
        if present.len() >= 300 {
            // Stay under the 500-profile limit: clear out and keep going.
            for p in list.iter().filter(|p| p.issuer != "counter") {
                v.remove(&p.id).unwrap();
            }
            acked.clear();
        }
    }
    assert!(
        kills_mid_write > TRIALS / 2,
        "most trials should end by SIGKILL"
    );
    assert!(
        total_acks >= TRIALS as usize,
        "too few acknowledged writes ({total_acks}) to mean anything"
    );
}
