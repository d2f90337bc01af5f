//! A second implementation of `docs/vault-format.md`, written from the
//! document alone (raw SQLite, ring's AES-GCM / HKDF / HMAC, no vault code):
//! it must open a vault the core wrote — unwrap the data key from the
//! software slot, recompute the manifest (profiles, settings, passcode,
//! pairings and lockout sections), decrypt every sealed row, check the
//! passcode verifier and read the rollback counter. If the code and the
//! document drift apart, this fails.

use countersign_core::vault::Pairing;
use countersign_core::{NewProfile, OtpParams, SecretBytes, SoftwareKeyProtector, Vault};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::{hkdf, hmac};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

const T0: i64 = 1_800_000_000;
const PASSCODE: &str = "246810";

/// `AAD = "CSV1" ‖ len(purpose):u8 ‖ purpose ‖ len(record):u16be ‖ record ‖ vault_id(16)`.
fn aad(purpose: &str, record: &str, vault_id: &[u8; 16]) -> Vec<u8> {
    let mut a = b"CSV1".to_vec();
    a.push(purpose.len() as u8);
    a.extend_from_slice(purpose.as_bytes());
    a.extend_from_slice(&(record.len() as u16).to_be_bytes());
    a.extend_from_slice(record.as_bytes());
    a.extend_from_slice(vault_id);
    a
}

/// `blob = 0x01 ‖ nonce(12) ‖ AES-256-GCM(key, nonce, AAD, plaintext) ‖ tag(16)`.
fn open(key: &[u8], aad: &[u8], blob: &[u8]) -> Vec<u8> {
    assert_eq!(blob[0], 0x01, "blob version");
    let nonce = Nonce::try_assume_unique_for_key(&blob[1..13]).unwrap();
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let mut buf = blob[13..].to_vec();
    let plain = k
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .expect("documented AAD opens the blob");
    plain.to_vec()
}

/// `HKDF-SHA256(ikm = DEK, salt = vault_id, info)`, 32 bytes.
fn subkey(dek: &[u8], vault_id: &[u8; 16], info: &[u8]) -> [u8; 32] {
    struct L;
    impl hkdf::KeyType for L {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, vault_id).extract(dek);
    let mut out = [0u8; 32];
    prk.expand(&[info], L).unwrap().fill(&mut out).unwrap();
    out
}

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn meta(c: &Connection, key: &str) -> Option<Vec<u8>> {
    c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .ok()
}

fn rows(c: &Connection, table: &str) -> BTreeMap<String, Vec<u8>> {
    let mut st = c
        .prepare(&format!("SELECT id, payload FROM {table}"))
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn write_vault(path: &std::path::Path) -> Vault {
    let v = Vault::create(path, Arc::new(SoftwareKeyProtector::beside(path)), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode(PASSCODE, T0).unwrap();
    let mut p = NewProfile::new(
        "ACME",
        "alice@example.com",
        SecretBytes::new(b"12345678901234567890".to_vec()),
        OtpParams::default(),
    );
    p.note = "recovery in the safe".into();
    p.group = "Work".into();
    v.add(p, T0).unwrap();
    v.add(
        NewProfile::new(
            "Other",
            "bob",
            SecretBytes::new(vec![7; 10]),
            OtpParams::default(),
        ),
        T0,
    )
    .unwrap();
    v.add_pairing(Pairing {
        id: "0123456789abcdef0123456789abcdef".into(),
        server_id: "nas-1".into(),
        server_name: "Home NAS".into(),
        urls: vec!["https://nas.local:5001".into()],
        spki_sha256_hex: "ab".repeat(32),
        account: "alice".into(),
        device_id: "dev-1".into(),
        key_alias: "countersign.approve.test".into(),
        created_at: T0,
        clock_offset_s: 0,
        push_token: String::new(),
        notices_seen: 0,
    })
    .unwrap();
    v.lock();
    // Two wrong passcodes: a lockout row, covered by the manifest.
    for _ in 0..2 {
        assert!(v.unlock(Some("000000"), T0 + 1).is_err());
    }
    v
}

#[test]
fn a_reader_written_from_the_document_opens_our_vault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    drop(write_vault(&path));
    read_and_check(&path, 2);
}

fn read_and_check(path: &std::path::Path, failed: u64) {
    let c = Connection::open(path).unwrap();
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2, "schema 2 (pairings) documented");

    // Keys: the platform slot, unwrapped with the software key file.
    let vault_id: [u8; 16] = meta(&c, "vault_id").unwrap().try_into().unwrap();
    let (alias, wrapped): (String, Vec<u8>) = c
        .query_row(
            "SELECT alias, wrapped FROM key_slots WHERE id = 'platform' AND kind = 'platform'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let hex_id: String = vault_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(alias, format!("countersign.vault.{hex_id}.platform"));
    let key_file = std::fs::read(format!("{}.key", path.display())).unwrap();
    assert_eq!(key_file.len(), 32);
    let dek = open(&key_file, &aad("software-slot", &alias, &[0; 16]), &wrapped);
    assert_eq!(dek.len(), 32);
    let k_man = subkey(&dek, &vault_id, b"countersign manifest v1");
    let k_pc = subkey(&dek, &vault_id, b"countersign passcode verifier v1");

    // Profiles: 0x01 ‖ secret_len:u16be ‖ secret ‖ JSON.
    let profiles = rows(&c, "profiles");
    assert_eq!(profiles.len(), 2);
    let mut seen = Vec::new();
    for (id, payload) in &profiles {
        assert_eq!(id.len(), 32);
        let plain = open(&dek, &aad("profile", id, &vault_id), payload);
        assert_eq!(plain[0], 0x01);
        let n = u16::from_be_bytes([plain[1], plain[2]]) as usize;
        let secret = &plain[3..3 + n];
        let json: serde_json::Value = serde_json::from_slice(&plain[3 + n..]).unwrap();
        for field in [
            "issuer",
            "account",
            "params",
            "note",
            "group",
            "favorite",
            "sort_order",
            "created_at",
            "updated_at",
        ] {
            assert!(
                json.get(field).is_some(),
                "profile JSON has {field}: {json}"
            );
        }
        assert_eq!(json["params"]["otp_type"], "totp");
        if json["issuer"] == "ACME" {
            assert_eq!(secret, b"12345678901234567890");
            assert_eq!(json["note"], "recovery in the safe");
            assert_eq!(json["group"], "Work");
        }
        seen.push(json["issuer"].as_str().unwrap().to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["ACME", "Other"]);

    // Pairings: sealed JSON, purpose "pairing".
    let pairings = rows(&c, "pairings");
    assert_eq!(pairings.len(), 1);
    for (id, payload) in &pairings {
        let json: serde_json::Value =
            serde_json::from_slice(&open(&dek, &aad("pairing", id, &vault_id), payload)).unwrap();
        assert_eq!(json["server_name"], "Home NAS");
        assert_eq!(json["account"], "alice");
    }

    // Settings (sealed JSON, documented defaults).
    let settings_blob = meta(&c, "settings").unwrap();
    let settings: serde_json::Value =
        serde_json::from_slice(&open(&dek, &aad("settings", "", &vault_id), &settings_blob))
            .unwrap();
    assert_eq!(settings["reauth_timeout_s"], 60);
    assert_eq!(settings["require_screen_lock_after_approve"], true);

    // Passcode verifier: salt(16) ‖ HMAC-SHA256(K_pc, salt ‖ passcode).
    let passcode_blob = meta(&c, "passcode").unwrap();
    let verifier = open(&dek, &aad("passcode", "", &vault_id), &passcode_blob);
    assert_eq!(verifier.len(), 48);
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &k_pc),
        &[&verifier[..16], PASSCODE.as_bytes()].concat(),
    );
    assert_eq!(&verifier[16..], mac.as_ref());

    // Lockout: plain JSON, readable without the key.
    let lockout_row = meta(&c, "lockout").expect("wrong passcodes are recorded");
    let lockout: serde_json::Value = serde_json::from_slice(&lockout_row).unwrap();
    assert_eq!(lockout["failed"], failed);
    assert!(lockout.get("last_failure_at").is_some() && lockout.get("locked_until").is_some());

    // Manifest: recomputed from the rows with every documented section.
    let manifest = meta(&c, "manifest").unwrap();
    assert_eq!(manifest.len(), 40);
    let generation = u64::from_be_bytes(manifest[..8].try_into().unwrap());
    let mut body = b"CSM1".to_vec();
    body.extend_from_slice(&generation.to_be_bytes());
    body.extend_from_slice(&(profiles.len() as u32).to_be_bytes());
    for (id, payload) in &profiles {
        body.extend_from_slice(&(id.len() as u16).to_be_bytes());
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&sha(payload));
    }
    body.extend_from_slice(&sha(&settings_blob));
    body.extend_from_slice(&sha(&passcode_blob));
    body.extend_from_slice(b"PAIR");
    body.extend_from_slice(&(pairings.len() as u32).to_be_bytes());
    for (id, payload) in &pairings {
        body.extend_from_slice(&(id.len() as u16).to_be_bytes());
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&sha(payload));
    }
    body.extend_from_slice(b"LOCK");
    body.extend_from_slice(&sha(&lockout_row));
    let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k_man), &body);
    assert_eq!(&manifest[8..], mac.as_ref(), "manifest as documented");

    // Rollback counter beside the key: the committed generation.
    let counter = std::fs::read_to_string(format!(
        "{}.key.counter.countersign.vault.{hex_id}.generation",
        path.display()
    ))
    .unwrap();
    assert_eq!(counter.trim().parse::<u64>().unwrap(), generation);
}
