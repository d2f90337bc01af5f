//! Fuzzes one importer: arbitrary bytes parsed as `ImportFormat::AegisEncrypted`
//! (seed corpus: `core/src/import/testdata/` — aegis_encrypted.json).

#![no_main]

use countersign_core::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| countersign_core_fuzz::import_one(ImportFormat::AegisEncrypted, data));
