//! Core benchmarks. Run: `cargo bench -p countersign-core --bench core`.
//! Results and the machine they ran on go to `docs/benchmarks.md`.

use countersign_core::otp::Generator;
use countersign_core::{NewProfile, OtpParams, SecretBytes, SoftwareKeyProtector, Vault};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hmac::{Hmac, Mac};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: i64 = 1_700_000_000;

fn seed(n: u32) -> Vec<u8> {
    format!("bench-seed-{n:09}").into_bytes()
}

fn profile(n: u32) -> NewProfile {
    NewProfile::new(
        &format!("Issuer {n}"),
        &format!("user{n}@example.com"),
        SecretBytes::new(seed(n)),
        OtpParams::totp(),
    )
}

fn vault_in(dir: &Path, n: u32) -> Vault {
    let path = dir.join(format!("v{}.db", rand_suffix()));
    let v = Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T).unwrap();
    v.unlock(None, T).unwrap();
    if n > 0 {
        v.add_many((0..n).map(profile).collect(), T).unwrap();
    }
    v
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn raw_hmac(key: &[u8], counter: u64) -> u32 {
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    m.update(&counter.to_be_bytes());
    let tag = m.finalize().into_bytes();
    let off = usize::from(tag[19] & 15);
    u32::from_be_bytes([tag[off], tag[off + 1], tag[off + 2], tag[off + 3]]) & 0x7fff_ffff
}

fn codes(c: &mut Criterion) {
    let key = seed(1);
    let g = Generator::new(&SecretBytes::new(key.clone()), OtpParams::totp()).unwrap();
    let mut grp = c.benchmark_group("otp");
    grp.bench_function("raw_hmac_sha1_8_bytes", |b| {
        b.iter(|| raw_hmac(black_box(&key), black_box(56_666_666)))
    });
    grp.bench_function("ring_hmac_sha1_8_bytes", |b| {
        b.iter(|| {
            let k =
                ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, black_box(&key));
            ring::hmac::sign(&k, &black_box(56_666_666u64).to_be_bytes())
        })
    });
    grp.bench_function("one_code", |b| b.iter(|| g.code_at(black_box(T))));
    let keys: Vec<Vec<u8>> = (0..500).map(seed).collect();
    grp.bench_function("raw_hmac_x500", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for k in &keys {
                acc ^= raw_hmac(k, black_box(56_666_666));
            }
            acc
        })
    });
    grp.finish();
}

fn vault_ops(c: &mut Criterion) {
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let v = vault_in(dir.path(), 500);
    let mut grp = c.benchmark_group("vault");
    grp.bench_function("refresh_500_codes", |b| {
        b.iter(|| v.codes_at(black_box(T)).unwrap())
    });
    grp.bench_function("unlock_and_list_500", |b| {
        b.iter(|| {
            v.lock();
            v.unlock(None, T).unwrap();
            v.list().unwrap()
        })
    });
    grp.sample_size(50)
        .measurement_time(Duration::from_secs(10));
    let small = vault_in(dir.path(), 10);
    let mut n = 1_000_000u32;
    grp.bench_function("durable_add", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let start = Instant::now();
                let p = small.add(profile(n), T).unwrap();
                total += start.elapsed();
                small.remove(&p.id).unwrap();
            }
            total
        })
    });
    grp.sample_size(20);
    grp.bench_function("import_500", |b| {
        b.iter_batched(
            || {
                (
                    vault_in(dir.path(), 0),
                    (0..500).map(profile).collect::<Vec<_>>(),
                )
            },
            |(vault, batch)| {
                vault.add_many(batch, T).unwrap();
                vault
            },
            BatchSize::PerIteration,
        )
    });
    grp.finish();
}

fn parse(c: &mut Criterion) {
    let uri = "otpauth://totp/ACME%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";
    c.bench_function("uri/parse_otpauth", |b| {
        b.iter(|| countersign_core::uri::parse_otpauth(black_box(uri)).unwrap())
    });
}

/// Password of the encrypted Aegis fixture (see `src/import/aegis.rs` tests).
const AEGIS_PASSWORD: &str = "correct horse battery staple";
const BACKUP_PASSWORD: &str = "a long backup password";

fn import_backup(c: &mut Criterion) {
    use countersign_core::backup::{self, KdfParams};
    use countersign_core::import::{self, ImportFormat};
    let aegis = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/import/testdata/aegis_encrypted.json"
    ))
    .unwrap();
    let mut grp = c.benchmark_group("import_backup");
    // Dominated by the vault's scrypt (N = 2^15): few, slow iterations.
    grp.sample_size(10);
    grp.bench_function("aegis_encrypted_import", |b| {
        b.iter(|| {
            import::parse(
                black_box(&aegis),
                ImportFormat::AegisEncrypted,
                Some(AEGIS_PASSWORD),
            )
            .unwrap()
        })
    });

    // The backup figures exclude the KDF: the cheapest parameters the format
    // accepts leave encoding, sealing, parsing and the vault transaction.
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let v = vault_in(dir.path(), 500);
    let kdf = KdfParams::insecure_for_tests();
    grp.sample_size(20);
    grp.bench_function("backup_create_500_excl_kdf", |b| {
        b.iter(|| {
            backup::create_backup_with_kdf(&v, BACKUP_PASSWORD, false, false, T, kdf).unwrap()
        })
    });
    let (bytes, _) =
        backup::create_backup_with_kdf(&v, BACKUP_PASSWORD, false, false, T, kdf).unwrap();
    grp.bench_function("backup_restore_500_excl_kdf", |b| {
        b.iter_batched(
            || vault_in(dir.path(), 0),
            |fresh| {
                let contents = backup::read_backup(black_box(&bytes), BACKUP_PASSWORD).unwrap();
                let report = backup::restore_into(&fresh, contents, T).unwrap();
                assert_eq!(report.added.len(), 500);
                fresh
            },
            BatchSize::PerIteration,
        )
    });
    grp.finish();
}

criterion_group!(benches, codes, vault_ops, parse, import_backup);
criterion_main!(benches);
