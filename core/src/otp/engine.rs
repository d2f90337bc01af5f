//! Code generation with a cached keyed HMAC state.
//!
//! RustCrypto's `hmac` + `sha1`/`sha2` are used here instead of ring because
//! they let us keep the keyed state (inner/outer pads already absorbed) and
//! clone it per code, and `sha1` uses SHA-NI where the CPU has it; measured
//! in `docs/benchmarks.md`.

use super::params::{Algorithm, OtpParams, OtpType, ParamError, STEAM_DIGITS};
use super::text::CodeText;
use crate::secret::SecretBytes;
use hmac::{Hmac, Mac};
use zeroize::Zeroize;

/// Steam Guard's code alphabet.
const STEAM_ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";

/// Keyed HMAC state; cloning it is cheaper than re-keying.
#[derive(Clone)]
enum Keyed {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

/// A one-time code and its validity window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    /// The code as shown ("287082", or Steam's "2BC9X").
    pub code: CodeText,
    /// Start of the window, Unix seconds (HOTP: the time asked about).
    pub valid_from: i64,
    /// Seconds left in the window at the time asked about (HOTP: 0, meaning
    /// "until used").
    pub valid_for_s: u32,
    /// The moving factor used: the time step for TOTP/Steam, the counter for HOTP.
    pub counter: u64,
}

/// A code generator for one profile. Build it once per unlocked profile.
#[derive(Clone)]
pub struct Generator {
    keyed: Keyed,
    params: OtpParams,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// Keys a generator. Fails only on invalid parameters or seed length.
    pub fn new(secret: &SecretBytes, params: OtpParams) -> Result<Self, ParamError> {
        params.validate()?;
        super::params::validate_secret_len(secret.len())?;
        let key = secret.expose();
        // new_from_slice accepts any key length for HMAC; the Err arm is unreachable
        // but mapped rather than unwrapped.
        let keyed = match params.algorithm {
            Algorithm::Sha1 => Keyed::Sha1(
                Hmac::new_from_slice(key).map_err(|_| ParamError::SecretLength(key.len()))?,
            ),
            Algorithm::Sha256 => Keyed::Sha256(
                Hmac::new_from_slice(key).map_err(|_| ParamError::SecretLength(key.len()))?,
            ),
            Algorithm::Sha512 => Keyed::Sha512(
                Hmac::new_from_slice(key).map_err(|_| ParamError::SecretLength(key.len()))?,
            ),
        };
        Ok(Self { keyed, params })
    }

    /// The parameters this generator was built with.
    pub fn params(&self) -> &OtpParams {
        &self.params
    }

    /// The time step containing `unix_time` (floor division; times before
    /// 1970 map to step 0).
    pub fn time_step(&self, unix_time: i64) -> u64 {
        if unix_time <= 0 {
            0
        } else {
            unix_time as u64 / u64::from(self.params.period)
        }
    }

    /// The code shown at `unix_time`. For HOTP this is the code for the
    /// profile's current counter (time only fills in `valid_from`).
    pub fn code_at(&self, unix_time: i64) -> Code {
        match self.params.otp_type {
            OtpType::Hotp => Code {
                code: self.render(self.truncate(self.params.counter)),
                valid_from: unix_time,
                valid_for_s: 0,
                counter: self.params.counter,
            },
            OtpType::Totp | OtpType::Steam => self.window_code(self.time_step(unix_time)),
        }
        .with_remaining(unix_time, self.params.period, self.params.otp_type)
    }

    /// The code of the next window after the one containing `unix_time`
    /// (preview); for HOTP, the code for counter + 1.
    pub fn next_code_at(&self, unix_time: i64) -> Code {
        match self.params.otp_type {
            OtpType::Hotp => {
                let c = self.params.counter.wrapping_add(1);
                Code {
                    code: self.render(self.truncate(c)),
                    valid_from: unix_time,
                    valid_for_s: 0,
                    counter: c,
                }
            }
            OtpType::Totp | OtpType::Steam => {
                let step = self.time_step(unix_time).saturating_add(1);
                let mut code = self.window_code(step);
                code.valid_for_s = self.params.period;
                code
            }
        }
    }

    /// Seconds left in the window containing `unix_time` (1..=period);
    /// 0 for HOTP.
    pub fn seconds_remaining(&self, unix_time: i64) -> u32 {
        remaining(unix_time, self.params.period, self.params.otp_type)
    }

    /// Raw HOTP value for a counter, before rendering (the 31-bit dynamic
    /// truncation of RFC 4226 §5.3).
    pub fn truncate(&self, counter: u64) -> u32 {
        let msg = counter.to_be_bytes();
        match &self.keyed {
            Keyed::Sha1(k) => dynamic_truncation(k.clone(), &msg),
            Keyed::Sha256(k) => dynamic_truncation(k.clone(), &msg),
            Keyed::Sha512(k) => dynamic_truncation(k.clone(), &msg),
        }
    }

    fn window_code(&self, step: u64) -> Code {
        let period = i64::from(self.params.period);
        Code {
            code: self.render(self.truncate(step)),
            valid_from: (step as i64).saturating_mul(period),
            valid_for_s: 0,
            counter: step,
        }
    }

    fn render(&self, value: u32) -> CodeText {
        let mut buf = [b'0'; 10];
        match self.params.otp_type {
            OtpType::Steam => {
                let mut v = value;
                let n = usize::from(STEAM_DIGITS).min(buf.len());
                for c in &mut buf[..n] {
                    *c = STEAM_ALPHABET[(v % 26) as usize];
                    v /= 26;
                }
                CodeText::from_ascii(&buf[..n])
            }
            OtpType::Totp | OtpType::Hotp => {
                // Digits right to left, no formatting machinery and no heap:
                // the refresh of every code runs once a second on a phone.
                // 10 digits: the 31-bit value is < 10^10, so leading zeros.
                let digits = usize::from(self.params.digits).min(buf.len());
                let mut n = value;
                for d in buf[..digits].iter_mut().rev() {
                    *d = b'0' + (n % 10) as u8;
                    n /= 10;
                }
                CodeText::from_ascii(&buf[..digits])
            }
        }
    }
}

impl Code {
    fn with_remaining(mut self, unix_time: i64, period: u32, kind: OtpType) -> Self {
        self.valid_for_s = remaining(unix_time, period, kind);
        self
    }
}

fn remaining(unix_time: i64, period: u32, kind: OtpType) -> u32 {
    if kind == OtpType::Hotp {
        return 0;
    }
    let p = i64::from(period);
    let t = unix_time.max(0);
    (p - t % p) as u32
}

/// HMAC of `msg` under the keyed state `mac`, then RFC 4226 §5.3 dynamic
/// truncation to 31 bits. The tag is wiped afterwards.
fn dynamic_truncation<M: Mac>(mut mac: M, msg: &[u8]) -> u32 {
    mac.update(msg);
    let mut tag = mac.finalize().into_bytes();
    let t = tag.as_mut_slice();
    let offset = usize::from(t[t.len() - 1] & 0x0f);
    let value =
        u32::from_be_bytes([t[offset], t[offset + 1], t[offset + 2], t[offset + 3]]) & 0x7fff_ffff;
    t.zeroize();
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(seed: &[u8], algorithm: Algorithm, digits: u8, kind: OtpType) -> Generator {
        let params = OtpParams {
            otp_type: kind,
            algorithm,
            digits,
            period: 30,
            counter: 0,
        };
        Generator::new(&SecretBytes::from_slice(seed), params).unwrap()
    }

    const RFC4226_SEED: &[u8] = b"12345678901234567890";

    /// RFC 4226 Appendix D.
    #[test]
    fn rfc4226_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let truncated = [
            1284755224u32,
            1094287082,
            137359152,
            1726969429,
            1640338314,
            868254676,
            1918287922,
            82162583,
            673399871,
            645520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            let mut params = OtpParams::hotp();
            params.counter = counter as u64;
            let g = Generator::new(&SecretBytes::from_slice(RFC4226_SEED), params).unwrap();
            assert_eq!(g.code_at(0).code, *want, "counter {counter}");
            assert_eq!(g.truncate(counter as u64), truncated[counter]);
        }
    }

    /// RFC 6238 Appendix B, with the errata's 32- and 64-byte seeds.
    #[test]
    fn rfc6238_vectors() {
        let sha1 = b"12345678901234567890";
        let sha256 = b"12345678901234567890123456789012";
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let table: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, w1, w256, w512) in table {
            assert_eq!(
                gen(sha1, Algorithm::Sha1, 8, OtpType::Totp).code_at(t).code,
                w1,
                "{t}"
            );
            assert_eq!(
                gen(sha256, Algorithm::Sha256, 8, OtpType::Totp)
                    .code_at(t)
                    .code,
                w256,
                "{t}"
            );
            assert_eq!(
                gen(sha512, Algorithm::Sha512, 8, OtpType::Totp)
                    .code_at(t)
                    .code,
                w512,
                "{t}"
            );
        }
    }

    #[test]
    fn window_and_remaining() {
        let g = gen(RFC4226_SEED, Algorithm::Sha1, 6, OtpType::Totp);
        let c = g.code_at(59);
        assert_eq!(c.counter, 1);
        assert_eq!(c.valid_from, 30);
        assert_eq!(c.valid_for_s, 1);
        assert_eq!(g.seconds_remaining(60), 30);
        assert_eq!(g.seconds_remaining(61), 29);
        let next = g.next_code_at(59);
        assert_eq!(next.counter, 2);
        assert_eq!(next.code, g.code_at(60).code);
        assert_eq!(next.valid_from, 60);
    }

    #[test]
    fn digit_lengths_5_to_10() {
        for d in 5..=10u8 {
            let g = gen(RFC4226_SEED, Algorithm::Sha1, d, OtpType::Totp);
            let c = g.code_at(1_111_111_109).code;
            assert_eq!(c.len(), usize::from(d));
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        // The 8-digit RFC value's suffix is the 6-digit value.
        assert_eq!(
            gen(RFC4226_SEED, Algorithm::Sha1, 6, OtpType::Totp)
                .code_at(59)
                .code,
            "287082"
        );
    }

    #[test]
    fn negative_time_is_step_zero() {
        let g = gen(RFC4226_SEED, Algorithm::Sha1, 6, OtpType::Totp);
        assert_eq!(g.code_at(-5).code, g.code_at(0).code);
        assert!(g.seconds_remaining(-5) >= 1);
    }

    #[test]
    fn steam_uses_its_alphabet() {
        let g = gen(RFC4226_SEED, Algorithm::Sha1, 5, OtpType::Steam);
        for t in (0..3000).step_by(30) {
            let c = g.code_at(t).code;
            assert_eq!(c.len(), 5);
            assert!(c.bytes().all(|b| STEAM_ALPHABET.contains(&b)), "{c}");
        }
    }

    #[test]
    fn hotp_next_is_counter_plus_one() {
        let mut params = OtpParams::hotp();
        params.counter = 5;
        let g = Generator::new(&SecretBytes::from_slice(RFC4226_SEED), params).unwrap();
        assert_eq!(g.code_at(0).code, "254676");
        assert_eq!(g.next_code_at(0).code, "287922");
        assert_eq!(g.code_at(0).valid_for_s, 0);
    }

    #[test]
    fn bad_params_are_errors() {
        let mut p = OtpParams::totp();
        p.digits = 3;
        assert!(Generator::new(&SecretBytes::from_slice(b"k"), p).is_err());
        assert!(Generator::new(&SecretBytes::new(vec![]), OtpParams::totp()).is_err());
    }

    #[test]
    fn odd_periods() {
        let mut p = OtpParams::totp();
        p.period = 1;
        let g = Generator::new(&SecretBytes::from_slice(RFC4226_SEED), p).unwrap();
        assert_eq!(g.code_at(7).counter, 7);
        assert_eq!(g.seconds_remaining(7), 1);
        p.period = 86_400;
        let g = Generator::new(&SecretBytes::from_slice(RFC4226_SEED), p).unwrap();
        assert_eq!(g.code_at(86_399).counter, 0);
    }
}
