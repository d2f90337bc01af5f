//! Format-level tests: structure checks, tampering, robustness.

use super::*;
use crate::otp::OtpParams;
use crate::profile::NewProfile;
use crate::secret::SecretBytes;
use crate::vault::SoftwareKeyProtector;
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

const T0: i64 = 1_700_000_000;
const PW: &str = "correct horse battery";

fn fast() -> KdfParams {
    KdfParams::insecure_for_tests()
}

fn vault_with(n: u32) -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let v = Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T0).unwrap();
    v.unlock(None, T0).unwrap();
    let ps = (0..n)
        .map(|i| {
            NewProfile::new(
                &format!("Issuer{i}"),
                &format!("user{i}@example.com"),
                SecretBytes::new(format!("seed-{i:08}").into_bytes()),
                OtpParams::totp(),
            )
        })
        .collect();
    v.add_many(ps, T0).unwrap();
    (dir, v)
}

/// One backup (with a recovery code) shared by the tests that only read.
fn sample() -> &'static (Vec<u8>, String) {
    static S: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    S.get_or_init(|| {
        let (_d, v) = vault_with(3);
        let (bytes, code) = create_backup_with_kdf(&v, PW, true, false, T0, fast()).unwrap();
        (bytes, code.unwrap())
    })
}

fn header_len(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[5..9].try_into().unwrap()) as usize
}

fn unreadable(r: Result<BackupContents>) -> String {
    match r {
        Err(AuthenticatorError::VaultUnreadable { reason }) => reason,
        other => panic!("expected VaultUnreadable, got {other:?}"),
    }
}

#[test]
fn layout_starts_with_magic_version_and_json_header() {
    let (bytes, _) = sample();
    assert_eq!(&bytes[..4], b"CSBK");
    assert_eq!(bytes[4], 1);
    let h = header_len(bytes);
    let header: serde_json::Value = serde_json::from_slice(&bytes[9..9 + h]).unwrap();
    assert_eq!(header["cipher"], "aes-256-gcm");
    assert_eq!(header["created_at"], T0);
    let slots = header["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 2);
    assert_eq!(slots[0]["kind"], "password");
    assert_eq!(slots[1]["kind"], "recovery_code");
    assert_eq!(slots[0]["kdf"]["name"], "argon2id");
    assert_eq!(slots[0]["kdf"]["version"], 19);
    // Nothing in the clear names an account.
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains("Issuer0") && !text.contains("example.com"));
}

#[test]
fn password_and_recovery_code_both_open() {
    let (bytes, code) = sample();
    let a = read_backup(bytes, PW).unwrap();
    let b = read_backup(bytes, code).unwrap();
    let c = read_backup(bytes, &code.to_lowercase().replace('-', " ")).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a.profiles.len(), 3);
    assert_eq!(a.created_at, T0);
}

#[test]
fn wrong_password_is_invalid_input() {
    let (bytes, _) = sample();
    for wrong in ["correct horse batterY", "", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"] {
        match read_backup(bytes, wrong) {
            Err(AuthenticatorError::InvalidInput { reason }) => {
                assert!(reason.contains("wrong backup password"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn default_kdf_is_strong() {
    let d = KdfParams::DEFAULT;
    assert!(d.m_kib >= 64 * 1024 && d.t >= 3 && d.p == 1);
    assert_eq!(KdfParams::default(), d);
}

#[test]
fn short_password_is_refused() {
    let (_d, v) = vault_with(1);
    assert!(matches!(
        create_backup_with_kdf(&v, "short", false, false, T0, fast()),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
}

#[test]
fn wrong_magic_newer_version_and_truncation_are_typed() {
    let (bytes, _) = sample();
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(unreadable(read_backup(&b, PW)).contains("not a Countersign backup"));
    assert!(unreadable(read_backup(b"hello", PW)).contains("not a Countersign backup"));
    let mut b = bytes.clone();
    b[4] = 2;
    assert!(unreadable(read_backup(&b, PW)).contains("newer"));
    for cut in [0, 3, 4, 7, 9, 9 + header_len(bytes) / 2, bytes.len() - 1] {
        let r = read_backup(&bytes[..cut], PW);
        assert!(
            matches!(r, Err(AuthenticatorError::VaultUnreadable { .. })),
            "cut at {cut}: {r:?}"
        );
    }
}

#[test]
fn header_tampering_is_detected() {
    let (bytes, _) = sample();
    let h = header_len(bytes);
    let header = std::str::from_utf8(&bytes[9..9 + h]).unwrap();
    // Same length, still valid JSON, slots intact: only the AAD catches it.
    let changed = header.replace(&format!("{T0}"), &format!("{}", T0 + 1));
    assert_eq!(changed.len(), header.len());
    let mut b = bytes[..9].to_vec();
    b.extend_from_slice(changed.as_bytes());
    b.extend_from_slice(&bytes[9 + h..]);
    assert!(unreadable(read_backup(&b, PW)).contains("altered"));
    // Ciphertext change.
    let mut b = bytes.clone();
    let last = b.len() - 20;
    b[last] ^= 1;
    assert!(unreadable(read_backup(&b, PW)).contains("altered"));
}

#[test]
fn huge_kdf_parameters_are_refused_not_run() {
    let (bytes, _) = sample();
    let h = header_len(bytes);
    let header = std::str::from_utf8(&bytes[9..9 + h]).unwrap();
    let changed = header.replace("\"m_kib\":64,", "\"m_kib\":4000000000,");
    let mut b = bytes[..5].to_vec();
    b.extend_from_slice(&(changed.len() as u32).to_be_bytes());
    b.extend_from_slice(changed.as_bytes());
    b.extend_from_slice(&bytes[9 + h..]);
    assert!(unreadable(read_backup(&b, PW)).contains("memory cost"));
}

#[test]
fn write_backup_file_replaces_atomically_and_verifies() {
    let (bytes, _) = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.csbk");
    std::fs::write(&path, b"old").unwrap();
    write_backup_file(&path, bytes, PW).unwrap();
    assert_eq!(&std::fs::read(&path).unwrap(), bytes);
    // Only the target is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A wrong password fails verification: "done" is never reported.
    assert!(matches!(
        write_backup_file(&path, bytes, "not the password"),
        Err(AuthenticatorError::Storage { .. })
    ));
    // A directory that does not exist fails without panicking.
    assert!(write_backup_file(&dir.path().join("no/such/b.csbk"), bytes, PW).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(read_backup(&data, PW).is_err());
        let mut framed = b"CSBK\x01".to_vec();
        framed.extend_from_slice(&data);
        prop_assert!(read_backup(&framed, PW).is_err());
    }

    #[test]
    fn bit_flips_are_errors_not_panics(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (bytes, _) = sample();
        let mut b = bytes.clone();
        let i = pos.index(b.len());
        b[i] ^= 1 << bit;
        // A flip may land in JSON whitespace-free text and keep it valid
        // (e.g. a Base64 character), but the file must never open as-is.
        prop_assert!(read_backup(&b, PW).is_err());
    }
}
