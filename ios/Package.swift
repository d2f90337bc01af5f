// swift-tools-version:5.9
//
// The iOS shell of Countersign as a Swift package.
//
// - `CountersignFFI`: the Rust core as a static library inside
//   `Countersign.xcframework`, with the C header and module map UniFFI
//   generates. Built by `./build-xcframework.sh` (needs a Mac with Xcode);
//   it is not committed.
// - `Countersign`: the Swift bindings UniFFI generates from the same build
//   (`Sources/Countersign/Generated/Countersign.swift`, copied there by the
//   build script; not committed).
// - `CountersignShell`: the hand-written glue (Keychain, biometrics, push,
//   pasteboard, view models). No OTP or crypto logic: that is the core's.
// - `CountersignShellTests`: XCTest against the real Rust library.
import PackageDescription

let package = Package(
    name: "Countersign",
    platforms: [
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "Countersign", targets: ["Countersign"]),
        .library(name: "CountersignShell", targets: ["CountersignShell"]),
    ],
    targets: [
        .binaryTarget(
            name: "CountersignFFI",
            path: "Countersign.xcframework"
        ),
        .target(
            name: "Countersign",
            dependencies: ["CountersignFFI"],
            path: "Sources/Countersign"
        ),
        .target(
            name: "CountersignShell",
            dependencies: ["Countersign"],
            path: "Sources/CountersignShell"
        ),
        .testTarget(
            name: "CountersignShellTests",
            dependencies: ["CountersignShell", "Countersign"],
            path: "Tests/CountersignShellTests"
        ),
    ]
)
