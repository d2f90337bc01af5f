//! Cross-crate tests live in `tests/`; `src/bin/crash_writer.rs` is a helper
//! process those tests kill at random points.
