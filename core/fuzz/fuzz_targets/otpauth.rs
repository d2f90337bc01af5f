//! Fuzzes `parse_any` with arbitrary UTF-8: it must never panic, and every
//! `otpauth://` profile it accepts must survive a canonical write/parse
//! round trip unchanged.

#![no_main]

use countersign_core::uri::{parse_any, parse_otpauth, write_otpauth, ParsedUri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ParsedUri::Single(p)) = parse_any(text) {
        let uri = write_otpauth(&p.issuer, &p.account, &p.secret, &p.params);
        match parse_otpauth(&uri) {
            Ok(again) => assert_eq!(again, p, "round trip changed the profile"),
            Err(e) => panic!("canonical URI rejected: {e}"),
        }
    }
});
