// `addUri(uri:)` called as `addUri(url:)`.
// expect: `addUri(url:)` does not match `Authenticator.addUri`: `addUri(uri:)`
import Countersign

func add(authenticator: Authenticator, scanned: String) throws -> AddReport {
    try authenticator.addUri(url: scanned)
}
