//! The Rust side of the FFI cost comparison: the same `Authenticator` calls
//! the Kotlin benchmark makes, but from Rust (no FFI). Run:
//! `cargo bench -p countersign-ffi --bench ffi`; Kotlin side:
//! `tools/kotlin-bench.sh`. Results in `docs/benchmarks.md`.

use countersign_ffi::{Authenticator, Clock, SoftwareKeystore};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::sync::Arc;

struct Fixed;
impl Clock for Fixed {
    fn now_unix_s(&self) -> i64 {
        1_700_000_000
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ks = SoftwareKeystore::new(dir.path().join("keys").to_string_lossy().into_owned()).unwrap();
    let auth = Authenticator::open(
        dir.path().join("v.db").to_string_lossy().into_owned(),
        ks,
        Arc::new(Fixed),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(auth.unlock(None)).unwrap();
    for i in 0..500 {
        let secret = countersign_core::SecretBytes::new(format!("bench-seed-{i:09}").into_bytes())
            .to_base32();
        auth.add_uri(format!(
            "otpauth://totp/Issuer{i}:user{i}?secret={}",
            &*secret
        ))
        .unwrap();
    }
    c.bench_function("rust/is_locked", |b| b.iter(|| black_box(auth.is_locked())));
    c.bench_function("rust/codes_at_500", |b| {
        b.iter(|| auth.codes_at(black_box(1_700_000_000)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
