//! `uniffi-bindgen`: generates the Swift and Kotlin bindings from the built
//! `countersign_ffi` library (library mode). Built with its own `cargo build
//! -p uniffi-bindgen` so uniffi's `cli` feature does not leak into the library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
