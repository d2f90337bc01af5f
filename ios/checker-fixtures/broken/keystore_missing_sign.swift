// A keystore that forgot `sign(alias:message:)`.
// expect: does not implement `sign(alias:message:)`
import Foundation
import Countersign

final class HalfKeystore: PlatformKeystore {
    func wrapKey(alias: String, key: Data, requireUserAuth: Bool) throws -> Data { key }
    func unwrapKey(alias: String, wrapped: Data) throws -> Data { wrapped }
    func createSigningKey(alias: String, requireUserAuth: Bool) throws -> Data { Data() }
    func deleteKey(alias: String) throws {}
}
