//! Fuzzes one importer: arbitrary bytes parsed as `ImportFormat::AndOtp`
//! (seed corpus: `core/src/import/testdata/` — andotp_plain.json).

#![no_main]

use countersign_core::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| countersign_core_fuzz::import_one(ImportFormat::AndOtp, data));
