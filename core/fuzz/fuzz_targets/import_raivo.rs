//! Fuzzes one importer: arbitrary bytes parsed as `ImportFormat::Raivo`
//! (seed corpus: `core/src/import/testdata/` — raivo.zip).

#![no_main]

use countersign_core::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| countersign_core_fuzz::import_one(ImportFormat::Raivo, data));
