// Requirements implemented with the wrong label, parameter type and effects
// (split over an extension, which the check follows).
// expect: does not implement `unwrapKey(alias:wrapped:)`
// expect: parameter `key` is `[UInt8]`; `PlatformKeystore` requires `Data`
// expect: is async; `PlatformKeystore.deleteKey(alias:)` is not
import Foundation
import Countersign

final class SloppyKeystore: PlatformKeystore {
    func wrapKey(alias: String, key: [UInt8], requireUserAuth: Bool) throws -> Data { Data(key) }
    func unwrapKey(_ alias: String, wrapped: Data) throws -> Data { wrapped }
}

extension SloppyKeystore {
    func createSigningKey(alias: String, requireUserAuth: Bool) throws -> Data { Data() }
    func sign(alias: String, message: Data) throws -> Data { message }
    func deleteKey(alias: String) async throws {}
}
