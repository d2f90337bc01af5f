//! Fuzzes one importer: arbitrary bytes parsed as `ImportFormat::FreeOtpPlus`
//! (seed corpus: `core/src/import/testdata/` — freeotp_plus.json).

#![no_main]

use countersign_core::import::ImportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| countersign_core_fuzz::import_one(ImportFormat::FreeOtpPlus, data));
