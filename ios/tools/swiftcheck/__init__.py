"""swiftcheck: checks the iOS shell's Swift sources without a Swift compiler.

See ios/README.md ("What the Linux check covers") and tools/swift-check.sh.
"""
