//! Our codes against an independent implementation (totp-rs) for random
//! seeds, times, algorithms, digit counts and periods.

use countersign_core::otp::{Algorithm, Generator, OtpParams, OtpType};
use countersign_core::SecretBytes;
use proptest::prelude::*;
use totp_rs::{Algorithm as OA, TOTP};

fn algorithm() -> impl Strategy<Value = (Algorithm, OA)> {
    prop_oneof![
        Just((Algorithm::Sha1, OA::SHA1)),
        Just((Algorithm::Sha256, OA::SHA256)),
        Just((Algorithm::Sha512, OA::SHA512)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn totp_matches_totp_rs(
        seed in proptest::collection::vec(any::<u8>(), 1..=64),
        (ours, theirs) in algorithm(),
        digits in 5u8..=9, // totp-rs overflows u32 at 10 digits; 10 is unit-tested
        period in prop_oneof![Just(30u32), Just(60), 1u32..=86_400],
        t in 0i64..=40_000_000_000,
    ) {
        let params = OtpParams { otp_type: OtpType::Totp, algorithm: ours, digits, period, counter: 0 };
        let g = Generator::new(&SecretBytes::new(seed.clone()), params).unwrap();
        let oracle = TOTP::new_unchecked(theirs, usize::from(digits), 0, u64::from(period), seed);
        prop_assert_eq!(g.code_at(t).code, oracle.generate(t as u64));
        // The preview is the next window's code.
        let next_t = (t / i64::from(period) + 1) * i64::from(period);
        prop_assert_eq!(g.next_code_at(t).code, oracle.generate(next_t as u64));
    }

    #[test]
    fn hotp_matches_totp_rs_with_unit_step(
        seed in proptest::collection::vec(any::<u8>(), 1..=64),
        (ours, theirs) in algorithm(),
        digits in 5u8..=9, // totp-rs overflows u32 at 10 digits; 10 is unit-tested
        counter in 0u64..=u64::from(u32::MAX) * 4,
    ) {
        // HOTP(counter) is TOTP with a 1 s step at time = counter.
        let params = OtpParams { otp_type: OtpType::Hotp, algorithm: ours, digits, period: 30, counter };
        let g = Generator::new(&SecretBytes::new(seed.clone()), params).unwrap();
        let oracle = TOTP::new_unchecked(theirs, usize::from(digits), 0, 1, seed);
        prop_assert_eq!(g.code_at(0).code, oracle.generate(counter));
    }

    #[test]
    fn steam_matches_totp_rs(
        seed in proptest::collection::vec(any::<u8>(), 1..=64),
        t in 0i64..=40_000_000_000,
    ) {
        let g = Generator::new(&SecretBytes::new(seed.clone()), OtpParams::steam()).unwrap();
        let oracle = TOTP::new_unchecked(OA::Steam, 5, 0, 30, seed);
        prop_assert_eq!(g.code_at(t).code, oracle.generate(t as u64));
    }
}
