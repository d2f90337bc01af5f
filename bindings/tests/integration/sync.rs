//! Sync through the exported API: two authenticators on one real server.

use countersign_ffi::{AuthError, Authenticator, Clock, SoftwareKeystore};
use std::sync::Arc;

struct SysClock;
impl Clock for SysClock {
    fn now_unix_s(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }
}

fn phone(dir: &std::path::Path, name: &str) -> Arc<Authenticator> {
    let keys = SoftwareKeystore::new(
        dir.join(format!("{name}-keys"))
            .to_string_lossy()
            .into_owned(),
    )
    .unwrap();
    let path = dir
        .join(format!("{name}.db"))
        .to_string_lossy()
        .into_owned();
    Authenticator::open(path, keys, Arc::new(SysClock)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_join_sync_delete_through_the_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let config = countersign_server::ServerConfig::new(
        dir.path().join("srv"),
        "127.0.0.1:0".parse().unwrap(),
        "FFI NAS",
    );
    let server = countersign_server::start(config).await.unwrap();
    let url = server.base_url().to_owned();
    let fp = countersign_core::vault::hex(&server.spki_sha256());
    let a = phone(dir.path(), "a");
    let b = phone(dir.path(), "b");
    a.unlock(None).await.unwrap();
    b.unlock(None).await.unwrap();
    a.add_uri("otpauth://totp/Alpha:me?secret=JBSWY3DPEHPK3PXP&issuer=Alpha".into())
        .unwrap();
    assert_eq!(a.sync_status().unwrap(), None);
    assert!(matches!(
        a.sync_now().await,
        Err(AuthError::InvalidInput { .. })
    ));
    // A bad fingerprint is a typed error, nothing turned on.
    assert!(matches!(
        a.sync_enable(vec![url.clone()], "12".into()).await,
        Err(AuthError::InvalidInput { .. })
    ));
    // Sync writes need a device paired with the server.
    assert!(matches!(
        a.sync_enable(vec![url.clone()], fp.clone()).await,
        Err(AuthError::InvalidInput { ref reason }) if reason.contains("pair first")
    ));
    server
        .create_user(
            "sam",
            Some("Correct-Horse-42"),
            countersign_server::SignInMethod::PasswordApprove,
        )
        .await
        .unwrap();
    for p in [&a, &b] {
        let invite = server.pairing_invite("sam").await.unwrap();
        p.pair_with_invite(
            invite,
            countersign_ffi::DeviceRegistration {
                name: "sync phone".into(),
                platform: "android".into(),
                push_token: None,
            },
        )
        .await
        .unwrap();
    }
    let enabled = a.sync_enable(vec![url.clone()], fp.clone()).await.unwrap();
    assert_eq!(enabled.report.pushed, 1);
    assert_eq!(enabled.code.len(), 29);
    let report = b.sync_join(a.sync_join_text().unwrap()).await.unwrap();
    assert_eq!(report.added, 1);
    assert_eq!(b.profiles().unwrap()[0].issuer, "Alpha");
    b.add_uri("otpauth://totp/Beta:me?secret=GEZDGNBVGY3TQOJQ&issuer=Beta".into())
        .unwrap();
    assert_eq!(b.sync_now().await.unwrap().pushed, 1);
    assert_eq!(a.sync_now().await.unwrap().added, 1);
    assert_eq!(a.profiles().unwrap().len(), 2);
    let beta = a
        .profiles()
        .unwrap()
        .into_iter()
        .find(|p| p.issuer == "Beta")
        .unwrap();
    a.remove_profile(beta.id).unwrap();
    a.sync_now().await.unwrap();
    assert_eq!(b.sync_now().await.unwrap().removed, 1);
    let deleted = b.sync_recently_deleted().unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].issuer, "Beta");
    b.sync_restore(deleted[0].sync_id.clone()).unwrap();
    assert!(matches!(
        b.sync_restore(deleted[0].sync_id.clone()),
        Err(AuthError::InvalidInput { .. })
    ));
    b.sync_now().await.unwrap();
    assert_eq!(a.sync_now().await.unwrap().added, 1);
    let info = a.sync_status().unwrap().unwrap();
    assert_eq!((info.entries, info.stopped.clone()), (2, None));
    a.sync_delete_everywhere().await.unwrap();
    assert!(matches!(
        b.sync_now().await,
        Err(AuthError::Rejected { .. })
    ));
    assert!(b.sync_status().unwrap().unwrap().stopped.is_some());
    assert_eq!(b.profiles().unwrap().len(), 2, "local data stays");
    assert!(b.sync_leave().unwrap());
    let _ = server.shutdown().await;
}
