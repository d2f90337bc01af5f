//! FreeOTP+ JSON backups.
//!
//! `{"tokenOrder": [...], "tokens": [{algo, counter, digits, issuerExt,
//! issuerInt, label, period, secret, type}]}` where `secret` is the raw seed
//! as a JSON array of *signed* bytes (Java `byte[]`, −128…127; 0…255 is
//! accepted too) and `type` is `TOTP` or `HOTP`.

use super::{algorithm, corrupted, json, map_entries, otp_type, str_field, uint_field, Entry};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use crate::secret::SecretBytes;
use serde_json::Value;

const WHAT: &str = "FreeOTP+ backup";

/// Parses a FreeOTP+ backup.
///
/// # Errors
///
/// `InvalidInput`: not a FreeOTP+ backup or corrupted.
pub fn parse(
    bytes: &[u8],
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let v = json(bytes, WHAT)?;
    let tokens = v
        .get("tokens")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupted(WHAT, "no tokens"))?;
    map_entries(tokens, token)
}

fn secret(v: Option<&Value>) -> Result<SecretBytes, String> {
    let items = v.and_then(Value::as_array).ok_or("no secret")?;
    if items.len() > crate::otp::MAX_SECRET_BYTES {
        return Err("secret is too long".into());
    }
    let mut bytes = Vec::with_capacity(items.len());
    for b in items {
        let n = b.as_i64().ok_or("secret is not a byte array")?;
        let byte = i8::try_from(n)
            .map(|b| b.to_ne_bytes()[0])
            .or_else(|_| u8::try_from(n))
            .map_err(|_| "secret is not a byte array")?;
        bytes.push(byte);
    }
    Ok(SecretBytes::new(bytes))
}

fn token(t: &Value) -> Result<NewProfile, String> {
    let issuer = match str_field(t, "issuerExt") {
        "" => str_field(t, "issuerInt"),
        i => i,
    };
    let fields = Entry {
        issuer: issuer.to_owned(),
        account: str_field(t, "label").to_owned(),
        otp_type: Some(otp_type(str_field(t, "type"))?),
        algorithm: Some(algorithm(str_field(t, "algo"))?),
        digits: uint_field(t, "digits")?,
        period: uint_field(t, "period")?,
        counter: uint_field(t, "counter")?,
        ..Entry::default()
    };
    fields.build(secret(t.get("secret"))?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{detect, parse as import, ImportFormat};
    use crate::otp::{Algorithm, OtpType};
    use proptest::prelude::*;

    #[test]
    fn fixture_imports() {
        let bytes = fixture("freeotp_plus.json");
        assert_eq!(detect(&bytes), ImportFormat::FreeOtpPlus);
        let r = import(&bytes, ImportFormat::Auto, None).unwrap();
        let ok = oks(&r);
        assert_eq!(r.entries.len(), 3, "{:?}", r.entries);
        assert_eq!(ok.len(), 2, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.counter, 4);
        assert_eq!(ok[1].params.algorithm, Algorithm::Sha256);
        // Signed bytes: -34 is 0xde.
        assert_eq!(
            ok[1].secret.expose(),
            &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]
        );
        let err = r.entries[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("MD5"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn mutated_fixture_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("freeotp_plus.json"), ImportFormat::FreeOtpPlus, None, &flips, cut);
        }
    }
}
