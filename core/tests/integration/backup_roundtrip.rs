//! Backups against real vaults: round trips, merging, recovery codes, and
//! that failed reads never change a vault. Uses the cheap test KDF.

use countersign_core::backup::{self, KdfParams};
use countersign_core::vault::Settings;
use countersign_core::{
    Algorithm, AuthenticatorError, NewProfile, OtpParams, OtpType, Profile, SecretBytes,
    SoftwareKeyProtector, Vault,
};
use proptest::prelude::*;
use std::sync::Arc;

const T0: i64 = 1_700_000_000;
const PW: &str = "backup password 1";

fn fast() -> KdfParams {
    KdfParams::insecure_for_tests()
}

fn new_vault(dir: &tempfile::TempDir, name: &str) -> Vault {
    let path = dir.path().join(name);
    let v = Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v
}

fn profile(n: u32) -> NewProfile {
    let mut p = NewProfile::new(
        &format!("Issuer{n}"),
        &format!("user{n}@example.com"),
        SecretBytes::new(format!("seed-number-{n:08}").into_bytes()),
        OtpParams::totp(),
    );
    p.note = format!("note {n}");
    p.group = "work".into();
    p.favorite = n.is_multiple_of(2);
    p
}

/// What must survive a round trip: everything but ids and timestamps.
type Essence = (String, String, Vec<u8>, OtpParams, String, String, bool);

fn essence(p: &Profile) -> Essence {
    (
        p.issuer.clone(),
        p.account.clone(),
        p.secret.expose().to_vec(),
        p.params,
        p.note.clone(),
        p.group.clone(),
        p.favorite,
    )
}

fn essences(v: &Vault) -> Vec<Essence> {
    v.list().unwrap().iter().map(essence).collect()
}

#[test]
fn restore_into_empty_vault_copies_profiles_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let a = new_vault(&dir, "a.db");
    a.add_many((0..5).map(profile).collect(), T0).unwrap();
    let mut hotp = profile(99);
    hotp.params = OtpParams {
        counter: 42,
        algorithm: Algorithm::Sha256,
        digits: 8,
        ..OtpParams::hotp()
    };
    a.add(hotp, T0).unwrap();
    let settings = Settings {
        always_show_otp: false,
        reauth_timeout_s: 300,
        clock_offset_s: -7,
        ..Settings::default()
    };
    a.update_settings(settings).unwrap();
    let (bytes, code) = backup::create_backup_with_kdf(&a, PW, false, false, T0, fast()).unwrap();
    assert!(code.is_none());

    let b = new_vault(&dir, "b.db");
    let contents = backup::read_backup(&bytes, PW).unwrap();
    let report = backup::restore_into(&b, contents, T0 + 10).unwrap();
    assert_eq!(report.added.len(), 6);
    assert!(report.skipped.is_empty());
    assert_eq!(essences(&a), essences(&b));
    assert_eq!(b.settings().unwrap(), settings);
    // Same codes.
    for (pa, pb) in a.list().unwrap().iter().zip(b.list().unwrap().iter()) {
        assert_eq!(
            a.code_at(&pa.id, T0).unwrap(),
            b.code_at(&pb.id, T0).unwrap()
        );
    }
}

#[test]
fn restore_merges_without_duplicates_and_keeps_settings() {
    let dir = tempfile::tempdir().unwrap();
    let a = new_vault(&dir, "a.db");
    a.add_many((0..4).map(profile).collect(), T0).unwrap();
    a.update_settings(Settings {
        reauth_timeout_s: 5,
        ..Settings::default()
    })
    .unwrap();
    let (bytes, _) = backup::create_backup_with_kdf(&a, PW, false, false, T0, fast()).unwrap();

    let b = new_vault(&dir, "b.db");
    b.add_many(vec![profile(2), profile(50)], T0).unwrap();
    let r1 = backup::restore_into(&b, backup::read_backup(&bytes, PW).unwrap(), T0).unwrap();
    assert_eq!(r1.added.len(), 3);
    assert_eq!(r1.skipped.len(), 1);
    assert!(matches!(
        r1.skipped[0].error,
        AuthenticatorError::Duplicate { .. }
    ));
    assert_eq!(b.count().unwrap(), 5);
    // Not empty before: settings untouched.
    assert_eq!(b.settings().unwrap(), Settings::default());
    // Restoring again adds nothing.
    let r2 = backup::restore_into(&b, backup::read_backup(&bytes, PW).unwrap(), T0).unwrap();
    assert!(r2.added.is_empty());
    assert_eq!(r2.skipped.len(), 4);
    assert_eq!(b.count().unwrap(), 5);
}

#[test]
fn recovery_code_opens_the_same_backup() {
    let dir = tempfile::tempdir().unwrap();
    let a = new_vault(&dir, "a.db");
    a.add_many((0..3).map(profile).collect(), T0).unwrap();
    let (bytes, code) = backup::create_backup_with_kdf(&a, PW, true, false, T0, fast()).unwrap();
    let code = code.unwrap();
    assert_eq!(code.replace('-', "").len(), backup::RECOVERY_CODE_CHARS);
    let by_pw = backup::read_backup(&bytes, PW).unwrap();
    let by_code = backup::read_backup(&bytes, &code).unwrap();
    assert_eq!(by_pw, by_code);
    let b = new_vault(&dir, "b.db");
    backup::restore_into(&b, by_code, T0).unwrap();
    assert_eq!(essences(&a), essences(&b));
}

#[test]
fn failed_reads_leave_the_vault_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let a = new_vault(&dir, "a.db");
    a.add_many((0..3).map(profile).collect(), T0).unwrap();
    let (bytes, _) = backup::create_backup_with_kdf(&a, PW, false, false, T0, fast()).unwrap();
    let b = new_vault(&dir, "b.db");
    b.add(profile(7), T0).unwrap();
    let before = (essences(&b), b.settings().unwrap(), b.generation().unwrap());

    let wrong = backup::read_backup(&bytes, "not the password");
    assert!(
        matches!(&wrong, Err(AuthenticatorError::InvalidInput { reason }) if reason.contains("wrong backup password"))
    );
    let mut corrupt = bytes.clone();
    let n = corrupt.len();
    corrupt[n - 5] ^= 0x40;
    assert!(matches!(
        backup::read_backup(&corrupt, PW),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
    assert!(matches!(
        backup::read_backup(&bytes[..bytes.len() / 2], PW),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
    assert_eq!(
        before,
        (essences(&b), b.settings().unwrap(), b.generation().unwrap())
    );
}

#[test]
fn pairings_metadata_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let a = new_vault(&dir, "a.db");
    a.add(profile(1), T0).unwrap();
    let (without, _) = backup::create_backup_with_kdf(&a, PW, false, false, T0, fast()).unwrap();
    let (with, _) = backup::create_backup_with_kdf(&a, PW, false, true, T0, fast()).unwrap();
    // No pairings in this vault: both read back with none.
    assert!(backup::read_backup(&without, PW)
        .unwrap()
        .pairings
        .is_empty());
    assert!(backup::read_backup(&with, PW).unwrap().pairings.is_empty());
}

#[test]
fn locked_vault_cannot_be_backed_up() {
    let dir = tempfile::tempdir().unwrap();
    let a = new_vault(&dir, "a.db");
    a.lock();
    assert_eq!(
        backup::create_backup_with_kdf(&a, PW, false, false, T0, fast()).unwrap_err(),
        AuthenticatorError::VaultLocked
    );
}

fn arb_profile() -> impl Strategy<Value = NewProfile> {
    (
        "[A-Za-z0-9 ._-]{0,20}",
        "[A-Za-z0-9@._-]{0,20}",
        proptest::collection::vec(any::<u8>(), 10..64),
        prop_oneof![
            Just(OtpType::Totp),
            Just(OtpType::Hotp),
            Just(OtpType::Steam)
        ],
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ],
        6u8..=8,
        prop_oneof![Just(30u32), Just(60u32), 1u32..=120],
        0u64..1_000_000,
        ".{0,30}",
        any::<bool>(),
    )
        .prop_map(
            |(issuer, account, seed, t, alg, digits, period, counter, note, fav)| {
                let params = match t {
                    OtpType::Steam => OtpParams::steam(),
                    OtpType::Hotp => OtpParams {
                        algorithm: alg,
                        digits,
                        period,
                        counter,
                        ..OtpParams::hotp()
                    },
                    OtpType::Totp => OtpParams {
                        algorithm: alg,
                        digits,
                        period,
                        ..OtpParams::totp()
                    },
                };
                let mut p = NewProfile::new(&issuer, &account, SecretBytes::new(seed), params);
                p.note = note.chars().filter(|c| !c.is_control()).collect();
                p.favorite = fav;
                p
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn round_trip_over_random_vaults(
        profiles in proptest::collection::vec(arb_profile(), 0..12),
        recovery in any::<bool>(),
        include_pairings in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let a = new_vault(&dir, "a.db");
        a.add_many(profiles, T0).unwrap();
        let (bytes, code) =
            backup::create_backup_with_kdf(&a, PW, recovery, include_pairings, T0, fast()).unwrap();
        prop_assert_eq!(code.is_some(), recovery);
        let contents = backup::read_backup(&bytes, PW).unwrap();
        let listed = a.list().unwrap();
        prop_assert_eq!(contents.profiles.len(), listed.len());
        for (bp, p) in contents.profiles.iter().zip(&listed) {
            prop_assert_eq!(&bp.profile.issuer, &p.issuer);
            prop_assert_eq!(&bp.profile.account, &p.account);
            prop_assert_eq!(&bp.profile.secret, &p.secret);
            prop_assert_eq!(bp.profile.params, p.params);
            prop_assert_eq!(&bp.profile.note, &p.note);
            prop_assert_eq!(bp.profile.favorite, p.favorite);
            prop_assert_eq!(bp.sort_order, p.sort_order);
        }
        if let Some(code) = code {
            prop_assert_eq!(&backup::read_backup(&bytes, &code).unwrap(), &contents);
        }
        let b = new_vault(&dir, "b.db");
        backup::restore_into(&b, contents, T0).unwrap();
        prop_assert_eq!(essences(&a), essences(&b));
    }
}
