//! Password stretching for key slots: Argon2id with parameters stored in
//! the header, so they can be raised later without a format change.

use super::error::BackupError;
use zeroize::Zeroizing;

/// Salt length in bytes.
pub const SALT_LEN: usize = 16;
/// Largest memory cost a reader accepts (1 GiB), so a damaged or hostile
/// header cannot make a reader allocate without bound.
pub const MAX_M_KIB: u32 = 1024 * 1024;
/// Largest time cost a reader accepts.
pub const MAX_T: u32 = 64;
/// Largest parallelism a reader accepts.
pub const MAX_P: u32 = 16;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// What every real backup uses: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// Cheap parameters for tests only (64 KiB, 1 pass). Never use them for
    /// a backup a person relies on: the password would be easy to guess.
    pub const fn insecure_for_tests() -> Self {
        Self {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    /// Checks the reader limits and Argon2's own minimums.
    pub(crate) fn check(&self) -> Result<(), BackupError> {
        if self.p == 0 || self.p > MAX_P {
            return Err(BackupError::Malformed("kdf parallelism out of range"));
        }
        if self.t == 0 || self.t > MAX_T {
            return Err(BackupError::Malformed("kdf time cost out of range"));
        }
        if self.m_kib < 8 * self.p || self.m_kib > MAX_M_KIB {
            return Err(BackupError::Malformed("kdf memory cost out of range"));
        }
        Ok(())
    }

    /// Derives a 32-byte key-encryption key from `secret` and `salt`.
    pub(crate) fn derive(
        &self,
        secret: &[u8],
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, BackupError> {
        self.check()?;
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| BackupError::Malformed("kdf parameters rejected"))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        a.hash_password_into(secret, salt, &mut out[..])
            .map_err(|_| BackupError::Malformed("kdf input rejected"))?;
        Ok(out)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}
