//! End-to-end encrypted sync between real vaults through a real server on
//! loopback: enable and join, merge without doubling, edits/deletes/reorders
//! converging, an edit beating a concurrent delete, offline rounds changing
//! nothing, "delete everywhere" stopping every device without touching local
//! data, and a server database that holds no names or secrets.

use countersign_core::sync::device::{self, SyncReport};
use countersign_core::vault::ProfileUpdate;
use countersign_core::{AuthenticatorError, SoftwareKeyProtector, Vault};
use countersign_server::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Phone {
    vault: Arc<Vault>,
    path: PathBuf,
    prot: SoftwareKeyProtector,
}

impl Phone {
    fn new(dir: &Path, name: &str) -> Self {
        let path = dir.join(format!("{name}.db"));
        let vault = Arc::new(
            Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), now()).unwrap(),
        );
        vault.unlock(None, now()).unwrap();
        let prot = SoftwareKeyProtector::beside(&path);
        Self { vault, path, prot }
    }

    fn add(&self, issuer: &str, secret: &str) -> String {
        let uri = format!("otpauth://totp/{issuer}:me?secret={secret}&issuer={issuer}");
        self.vault.add_uri(&uri, now()).unwrap().added[0].id.clone()
    }

    async fn sync(&self) -> Result<SyncReport, AuthenticatorError> {
        device::sync_now(&self.vault, &self.path, &self.prot, now()).await
    }

    /// (issuer, account, secret) in list order.
    fn view(&self) -> Vec<(String, String, String)> {
        self.vault
            .list()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p.issuer.clone(),
                    p.account.clone(),
                    p.secret.to_base32().to_string(),
                )
            })
            .collect()
    }

    fn id_of(&self, issuer: &str) -> String {
        self.vault
            .list()
            .unwrap()
            .into_iter()
            .find(|p| p.issuer == issuer)
            .unwrap()
            .id
    }
}

const S1: &str = "JBSWY3DPEHPK3PXP";
const S2: &str = "GEZDGNBVGY3TQOJQ";
const S3: &str = "MFRGGZDFMZTWQ2LK";
const S4: &str = "ONSWG4TFOQYTEMZU";

async fn server(dir: &Path) -> (countersign_server::RunningServer, Vec<String>, String) {
    let config = ServerConfig::new(
        dir.join("server"),
        "127.0.0.1:0".parse().unwrap(),
        "Sync NAS",
    );
    let server = countersign_server::start(config).await.unwrap();
    server
        .create_user(
            "sam",
            Some("Correct-Horse-42"),
            countersign_server::SignInMethod::PasswordApprove,
        )
        .await
        .unwrap();
    let urls = vec![server.base_url().to_owned()];
    let fp = countersign_core::vault::hex(&server.spki_sha256());
    (server, urls, fp)
}

/// Pairs `phone` with the server as sam: the server takes sync writes only
/// from devices paired with it.
async fn pair(phone: &Phone, server: &countersign_server::RunningServer) {
    let invite = server.pairing_invite("sam").await.unwrap();
    let device = countersign_core::approve::DeviceInfo {
        name: "sync phone".into(),
        platform: "android".into(),
        push_token: None,
    };
    countersign_core::approve::pair_with_invite(&phone.vault, &invite, &device, now())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_and_delete_everywhere_stops_both() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls, fp) = server(dir.path()).await;
    let a = Phone::new(dir.path(), "a");
    pair(&a, &server).await;
    let b = Phone::new(dir.path(), "b");
    pair(&b, &server).await;
    a.add("Alpha", S1);
    a.add("Beta", S2);
    a.add("Gamma", S3);
    b.add("Beta", S2); // the same seed on both before sync
    b.add("Delta", S4);

    let (code, report) = device::enable(&a.vault, &a.path, &a.prot, urls.clone(), &fp, now())
        .await
        .unwrap();
    assert_eq!((report.pushed, report.added), (3, 0));
    // A wrong code finds nothing and changes nothing.
    let wrong = device::join(
        &b.vault,
        &b.path,
        &b.prot,
        urls.clone(),
        &fp,
        "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
        now(),
    )
    .await;
    assert!(
        matches!(wrong, Err(AuthenticatorError::InvalidInput { .. })),
        "{wrong:?}"
    );
    assert_eq!(b.view().len(), 2);
    // B joins with the code from the QR text.
    let join = device::join_uri(&a.path, &a.prot).unwrap();
    let info = device::parse_join_uri(&join).unwrap();
    assert_eq!(
        (info.urls.clone(), info.spki_hex.clone()),
        (urls.clone(), fp.clone())
    );
    assert_eq!(info.code.replace('-', ""), code.replace('-', ""));
    let report = device::join(
        &b.vault,
        &b.path,
        &b.prot,
        info.urls,
        &info.spki_hex,
        &info.code,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.added, 2,
        "Alpha and Gamma; Beta was linked, not doubled: {report:?}"
    );
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(a.view(), b.view());
    assert_eq!(a.view().len(), 4);

    // Edits, deletes and a reorder on both sides converge.
    a.vault
        .update(
            &a.id_of("Alpha"),
            ProfileUpdate {
                issuer: Some("Alpha 2".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    b.vault.remove(&b.id_of("Delta")).unwrap();
    let mut order: Vec<String> = a.vault.list().unwrap().into_iter().map(|p| p.id).collect();
    order.reverse();
    a.vault.reorder(&order, now()).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    assert_eq!(a.view(), b.view());
    let names: Vec<String> = a.view().into_iter().map(|v| v.0).collect();
    assert_eq!(
        names,
        ["Gamma", "Beta", "Alpha 2"],
        "Delta deleted, order reversed"
    );

    // Concurrent: A renames Beta while B deletes it: the edit wins.
    a.vault
        .update(
            &a.id_of("Beta"),
            ProfileUpdate {
                note: Some("keep me".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    b.vault.remove(&b.id_of("Beta")).unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(a.view(), b.view());
    assert!(
        b.view().iter().any(|v| v.0 == "Beta"),
        "the edit beat the unseen delete"
    );
    assert_eq!(
        b.vault
            .list()
            .unwrap()
            .iter()
            .find(|p| p.issuer == "Beta")
            .unwrap()
            .note,
        "keep me"
    );

    // Recently deleted: Delta (deleted on B above) comes back from A's list,
    // offline first, then everywhere.
    let deleted = device::recently_deleted(&a.path, &a.prot).unwrap();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(
        (deleted[0].issuer.as_str(), deleted[0].account.as_str()),
        ("Delta", "me")
    );
    let restored =
        device::restore_deleted(&a.vault, &a.path, &a.prot, &deleted[0].sync_id, now()).unwrap();
    assert_eq!(
        a.vault
            .list()
            .unwrap()
            .iter()
            .find(|p| p.issuer == "Delta")
            .unwrap()
            .id,
        restored
    );
    assert!(
        device::restore_deleted(&a.vault, &a.path, &a.prot, &deleted[0].sync_id, now()).is_err(),
        "not deleted any more"
    );
    assert!(device::recently_deleted(&a.path, &a.prot)
        .unwrap()
        .is_empty());
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(a.view(), b.view());
    assert!(b.view().iter().any(|v| v.0 == "Delta"));

    // The server holds ciphertext only.
    let db = std::fs::read(dir.path().join("server").join("server.db")).unwrap();
    let wal = std::fs::read(dir.path().join("server").join("server.db-wal")).unwrap_or_default();
    for needle in ["Alpha", "Gamma", "keep me", S1, S3] {
        assert!(
            !contains(&db, needle.as_bytes()) && !contains(&wal, needle.as_bytes()),
            "{needle} on the server"
        );
    }

    // Delete everywhere: B learns it at its next round and keeps its data.
    device::delete_everywhere(&a.vault, &a.path, &a.prot, now())
        .await
        .unwrap();
    let before = b.view();
    let e = b.sync().await.unwrap_err();
    assert!(
        matches!(&e, AuthenticatorError::Rejected { code, .. } if code == "sync_deleted"),
        "{e:?}"
    );
    assert_eq!(b.view(), before);
    let st = device::status(&b.path, &b.prot).unwrap().unwrap();
    assert!(st.stopped.unwrap().contains("deleted from another device"));
    let e = b.sync().await.unwrap_err();
    assert!(
        matches!(&e, AuthenticatorError::Rejected { code, .. } if code == "sync_stopped"),
        "{e:?}"
    );
    assert!(device::leave(&b.path).unwrap());
    assert!(device::status(&b.path, &b.prot).unwrap().is_none());
    let _ = server.shutdown().await;
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_rounds_change_nothing_and_catch_up_later() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls, fp) = server(dir.path()).await;
    let a = Phone::new(dir.path(), "a");
    pair(&a, &server).await;
    a.add("Alpha", S1);
    let (code, _) = device::enable(&a.vault, &a.path, &a.prot, urls.clone(), &fp, now())
        .await
        .unwrap();
    let b = Phone::new(dir.path(), "b");
    pair(&b, &server).await;
    device::join(&b.vault, &b.path, &b.prot, urls.clone(), &fp, &code, now())
        .await
        .unwrap();
    let _ = server.shutdown().await;
    // Offline: both keep working; a round fails with a network error.
    a.add("Beta", S2);
    b.add("Gamma", S3);
    let e = a.sync().await.unwrap_err();
    assert!(matches!(e, AuthenticatorError::Network { .. }), "{e:?}");
    assert_eq!(a.view().len(), 2);
    assert!(
        !a.vault.codes_at(now()).unwrap().is_empty(),
        "codes never wait for sync"
    );
    // Back online (same data dir, same key and port-independent pin).
    let config = ServerConfig::new(
        dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
        "Sync NAS",
    );
    let server = countersign_server::start(config).await.unwrap();
    let urls2 = vec![server.base_url().to_owned()];
    for p in [&a, &b] {
        // The address changed (new port): join again with the same code.
        assert!(device::leave(&p.path).unwrap());
        device::join(&p.vault, &p.path, &p.prot, urls2.clone(), &fp, &code, now())
            .await
            .unwrap();
    }
    a.sync().await.unwrap();
    assert_eq!(a.view(), b.view());
    assert_eq!(a.view().len(), 3);
    let _ = server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_devices_random_rounds_converge() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls, fp) = server(dir.path()).await;
    let phones: Vec<Phone> = (0..3)
        .map(|i| Phone::new(dir.path(), &format!("p{i}")))
        .collect();
    for p in &phones {
        pair(p, &server).await;
    }
    let (code, _) = device::enable(
        &phones[0].vault,
        &phones[0].path,
        &phones[0].prot,
        urls.clone(),
        &fp,
        now(),
    )
    .await
    .unwrap();
    for p in &phones[1..] {
        device::join(&p.vault, &p.path, &p.prot, urls.clone(), &fp, &code, now())
            .await
            .unwrap();
    }
    // A small deterministic generator (no extra dependency).
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rounds = 0;
    for step in 0..200 {
        let p = &phones[next(3) as usize];
        let profiles = p.vault.list().unwrap();
        match next(6) {
            0 | 1 => {
                let secret: String = (0..16)
                    .map(|_| alphabet[next(32) as usize] as char)
                    .collect();
                p.add(&format!("S{step}"), &secret);
            }
            2 if !profiles.is_empty() => {
                let id = &profiles[next(profiles.len() as u64) as usize].id;
                p.vault
                    .update(
                        id,
                        ProfileUpdate {
                            account: Some(format!("edit{step}")),
                            ..Default::default()
                        },
                        now(),
                    )
                    .unwrap();
            }
            3 if !profiles.is_empty() => {
                p.vault
                    .remove(&profiles[next(profiles.len() as u64) as usize].id)
                    .unwrap();
            }
            4 if profiles.len() > 1 => {
                let mut ids: Vec<String> = profiles.iter().map(|x| x.id.clone()).collect();
                ids.rotate_left(1);
                p.vault.reorder(&ids, now()).unwrap();
            }
            _ => {
                p.sync().await.unwrap();
                rounds += 1;
            }
        }
    }
    for _ in 0..2 {
        for p in &phones {
            p.sync().await.unwrap();
        }
    }
    assert_eq!(phones[0].view(), phones[1].view());
    assert_eq!(phones[1].view(), phones[2].view());
    assert!(
        rounds > 20 && !phones[0].view().is_empty(),
        "{rounds} rounds"
    );
    let _ = server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotp_counters_only_move_forward_across_devices() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls, fp) = server(dir.path()).await;
    let a = Phone::new(dir.path(), "a");
    pair(&a, &server).await;
    let b = Phone::new(dir.path(), "b");
    pair(&b, &server).await;
    let hotp =
        |counter: u64| format!("otpauth://hotp/Bank:me?secret={S1}&issuer=Bank&counter={counter}");
    a.vault.add_uri(&hotp(5), now()).unwrap();
    // B holds the same HOTP account, further along: joining links the two
    // (no second entry in the space) and the higher counter wins on both.
    b.vault.add_uri(&hotp(9), now()).unwrap();
    let (code, _) = device::enable(&a.vault, &a.path, &a.prot, urls.clone(), &fp, now())
        .await
        .unwrap();
    device::join(&b.vault, &b.path, &b.prot, urls.clone(), &fp, &code, now())
        .await
        .unwrap();
    a.sync().await.unwrap();
    let counter = |p: &Phone| {
        let list = p.vault.list().unwrap();
        assert_eq!(list.len(), 1, "one account, not doubled");
        list[0].params.counter
    };
    assert_eq!((counter(&a), counter(&b)), (9, 9));
    // A shows two codes (advances twice); B, which has not seen that yet,
    // must not push its older counter back over A's.
    let id = a.id_of("Bank");
    let c10 = a.vault.hotp_advance(&id, now()).unwrap();
    a.vault.hotp_advance(&id, now()).unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!((counter(&a), counter(&b)), (11, 11));
    // Both advance concurrently: the further one wins everywhere.
    a.vault.hotp_advance(&id, now()).unwrap();
    let bid = b.id_of("Bank");
    for _ in 0..3 {
        b.vault.hotp_advance(&bid, now()).unwrap();
    }
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    // Whichever concurrent version won the payload resolution (it depends
    // on the random device ids), the greater counter wins on both.
    assert_eq!((counter(&a), counter(&b)), (14, 14));
    // One more round on each settles the conflict (a device whose shown
    // version is the older counter writes the merged one once) ...
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    // ... then rounds with no change write nothing (no counter ping-pong).
    let quiet = a.sync().await.unwrap();
    let quiet_b = b.sync().await.unwrap();
    assert_eq!((quiet.pushed, quiet_b.pushed, quiet_b.updated), (0, 0, 0));
    // The code A showed at counter 10 is never produced again.
    let next = b.vault.hotp_advance(&bid, now()).unwrap();
    assert_eq!((c10.counter, next.counter), (10, 15));
    let _ = server.shutdown().await;
}
