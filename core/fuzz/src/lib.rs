//! Shared bodies of the importer fuzz targets: one target per importer
//! (`fuzz_targets/import_<format>.rs`) so a run can spend all its time on
//! one parser, seeded with that format's fixture from
//! `core/src/import/testdata`, plus `import` that mixes them all.

use countersign_core::import::{parse, ImportFormat};

/// Parses `data` as `format`, without a password and with one. Nothing may
/// panic; errors are fine. Whatever parses is looked at once, so entries
/// that were accepted are fully built.
pub fn import_one(format: ImportFormat, data: &[u8]) {
    for password in [None, Some("password")] {
        if let Ok(result) = parse(data, format, password) {
            for profile in result.entries.iter().flatten() {
                let _ = (profile.issuer.len(), profile.secret.expose().len());
            }
        }
    }
}
