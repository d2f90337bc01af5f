//! Fuzzes the importers of other authenticators' exports: arbitrary bytes go
//! to `detect` and to `parse` as every `ImportFormat`, without a password
//! and with one. Nothing may panic; errors are fine. The `import_<format>`
//! targets do the same for one format each.
//!
//! Encrypted formats run their real KDFs (scrypt, PBKDF2, Argon2id; Raivo's
//! ZIP AES runs PBKDF2 ×1000) once the input names valid parameters; the
//! importers cap them, so such inputs are slow but bounded (run with a
//! generous `-timeout`, see docs/otpauth.md).

#![no_main]

use countersign_core::import::{detect, ImportFormat};
use libfuzzer_sys::fuzz_target;

/// Every format, including `Auto` (parse detects).
const FORMATS: [ImportFormat; 14] = [
    ImportFormat::Auto,
    ImportFormat::OtpauthList,
    ImportFormat::GoogleMigration,
    ImportFormat::AegisPlain,
    ImportFormat::AegisEncrypted,
    ImportFormat::TwoFas,
    ImportFormat::TwoFasEncrypted,
    ImportFormat::AndOtp,
    ImportFormat::AndOtpEncrypted,
    ImportFormat::Bitwarden,
    ImportFormat::FreeOtpPlus,
    ImportFormat::Ente,
    ImportFormat::EnteEncrypted,
    ImportFormat::Raivo,
];

fuzz_target!(|data: &[u8]| {
    let detected = detect(data);
    // Keeps FORMATS complete: a new variant fails to compile here.
    match detected {
        ImportFormat::Auto
        | ImportFormat::OtpauthList
        | ImportFormat::GoogleMigration
        | ImportFormat::AegisPlain
        | ImportFormat::AegisEncrypted
        | ImportFormat::TwoFas
        | ImportFormat::TwoFasEncrypted
        | ImportFormat::AndOtp
        | ImportFormat::AndOtpEncrypted
        | ImportFormat::Bitwarden
        | ImportFormat::FreeOtpPlus
        | ImportFormat::Ente
        | ImportFormat::EnteEncrypted
        | ImportFormat::Raivo => {}
    }
    for format in FORMATS {
        countersign_core_fuzz::import_one(format, data);
    }
});
