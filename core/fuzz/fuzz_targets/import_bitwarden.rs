//! Fuzzes one importer: arbitrary bytes parsed as `ImportFormat::Bitwarden`
//! (seed corpus: `core/src/import/testdata/` — bitwarden.json, bitwarden.csv).

#![no_main]

use countersign_core::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| countersign_core_fuzz::import_one(ImportFormat::Bitwarden, data));
