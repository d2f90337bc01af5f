//! Fuzzes the migration parser: arbitrary bytes are wrapped as the Base64
//! `data` of an `otpauth-migration://` URI (so libFuzzer explores the
//! protobuf decoder and entry conversion), and also fed raw as UTF-8.
//! Nothing may panic.

#![no_main]

use base64::Engine as _;
use countersign_core::uri::parse_any;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let escaped = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let _ = parse_any(&format!("otpauth-migration://offline?data={escaped}"));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_any(text);
    }
});
