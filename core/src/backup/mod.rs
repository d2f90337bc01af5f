//! Encrypted backup files (issue 6; in progress).
