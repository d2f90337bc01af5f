//! Fuzzes one importer: arbitrary bytes parsed as `ImportFormat::GoogleMigration`
//! (seed corpus: `core/src/import/testdata/` — google_migration.txt).

#![no_main]

use countersign_core::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| countersign_core_fuzz::import_one(ImportFormat::GoogleMigration, data));
