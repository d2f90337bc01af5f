// PasteboardGuard: copying a code without leaving it on the pasteboard.
//
// Why it exists: a copied one-time code should not linger on the system
// pasteboard or sync to the user's other devices via Universal Clipboard.
// iOS can enforce both: `UIPasteboard.setItems(_:options:)` with
// `.expirationDate` (the system clears the item) and `.localOnly` (no
// Handoff). The decisions — what exactly is copied, for how long, always
// local-only — live in `PasteboardGuard`; the one UIKit call sits behind
// `PasteboardWriting`, so tests check the decisions with a recording double.
import Foundation
#if canImport(UIKit)
import UIKit
import UniformTypeIdentifiers
#endif

/// Where a code is written; the system pasteboard in the app.
public protocol PasteboardWriting {
    /// Replaces the pasteboard's contents with `text`, cleared by the system
    /// at `expiresAt`; `localOnly` keeps it off other devices.
    func write(_ text: String, expiresAt: Date, localOnly: Bool)
}

/// Copies codes with an expiry and local-only.
public final class PasteboardGuard {
    /// How long a copied code stays on the pasteboard by default, seconds.
    public static let defaultLifetime: TimeInterval = 60

    private let pasteboard: PasteboardWriting
    private let lifetime: TimeInterval
    private let now: () -> Date

    public init(
        pasteboard: PasteboardWriting,
        lifetime: TimeInterval = PasteboardGuard.defaultLifetime,
        now: @escaping () -> Date = { Date() }
    ) {
        self.pasteboard = pasteboard
        self.lifetime = lifetime
        self.now = now
    }

    /// Copies `code` (grouping spaces removed, so "123 456" pastes as
    /// "123456") and returns when the system will clear it.
    @discardableResult
    public func copy(code: String) -> Date {
        let text = code.filter { !$0.isWhitespace }
        let expiresAt = now().addingTimeInterval(lifetime)
        pasteboard.write(text, expiresAt: expiresAt, localOnly: true)
        return expiresAt
    }
}

#if canImport(UIKit)
/// `PasteboardWriting` on `UIPasteboard.general`.
public struct SystemPasteboard: PasteboardWriting {
    public init() {}

    public func write(_ text: String, expiresAt: Date, localOnly: Bool) {
        UIPasteboard.general.setItems(
            [[UTType.plainText.identifier: text]],
            options: [
                .expirationDate: expiresAt,
                .localOnly: localOnly,
            ]
        )
    }
}
#endif
