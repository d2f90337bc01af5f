// Approve sign-in through the Swift bindings against a real countersign-server
// on loopback: the same scenarios as the Android shell's ApproveFlowTest.
// The test plays both sides: the "browser" and the admin over HTTPS that
// trusts exactly the server's self-signed certificate, and the phone through
// the core. The server comes from the environment tools/kotlin-test.sh sets
// for the JVM tests (COUNTERSIGN_TEST_SERVER, COUNTERSIGN_TEST_SERVER_DIR);
// without it the tests are skipped, not failed (ios/README.md says how to
// start one on a Mac).
import Foundation
import Security
import XCTest
import Countersign
@testable import CountersignShell

/// The countersign-server the loopback tests talk to.
enum TestServer {
    /// What the skip message tells the reader to do.
    static let howToStart = "start one with `target/debug/countersign-server serve --data-dir <dir> "
        + "--listen 127.0.0.1:0 --name \"Swift NAS\"`, then export COUNTERSIGN_TEST_SERVER=<the "
        + "\"public URL\" it prints> and COUNTERSIGN_TEST_SERVER_DIR=<dir> (see ios/README.md)"

    /// The server's public URL (`COUNTERSIGN_TEST_SERVER`); skips the test when unset.
    static func baseURL() throws -> String {
        try environment("COUNTERSIGN_TEST_SERVER")
    }

    /// The server's data directory (`COUNTERSIGN_TEST_SERVER_DIR`), which
    /// holds `admin.token` and `cert.pem`; skips the test when unset.
    static func dataDir() throws -> URL {
        URL(fileURLWithPath: try environment("COUNTERSIGN_TEST_SERVER_DIR"), isDirectory: true)
    }

    private static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw XCTSkip("\(name) is not set: \(howToStart)")
        }
        return value
    }
}

/// Accepts a TLS server only if it presents exactly the pinned certificate
/// (the test server's self-signed `cert.pem`), like the JVM test's trust
/// store that holds that one certificate.
final class PinnedCertificate: NSObject, URLSessionDelegate, @unchecked Sendable {
    private let der: Data

    init(der: Data) {
        self.der = der
    }

    func urlSession(
        _ session: URLSession,
        didReceive challenge: URLAuthenticationChallenge
    ) async -> (URLSession.AuthChallengeDisposition, URLCredential?) {
        guard challenge.protectionSpace.authenticationMethod == NSURLAuthenticationMethodServerTrust,
              let trust = challenge.protectionSpace.serverTrust else {
            return (.performDefaultHandling, nil)
        }
        let chain = (SecTrustCopyCertificateChain(trust) as? [SecCertificate]) ?? []
        guard let leaf = chain.first, SecCertificateCopyData(leaf) as Data == der else {
            return (.cancelAuthenticationChallenge, nil)
        }
        return (.useCredential, URLCredential(trust: trust))
    }
}

/// HTTPS to the test server as the browser and the admin. Immutable after
/// `init`, so teardown blocks may capture it.
final class TestServerClient: @unchecked Sendable {
    let base: String
    let adminToken: String
    private let session: URLSession

    /// Reads `admin.token` and `cert.pem` from the server's data directory.
    init(base: String, dataDir: URL) throws {
        self.base = base
        adminToken = try String(contentsOf: dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let pem = try String(contentsOf: dataDir.appendingPathComponent("cert.pem"), encoding: .utf8)
        let body = pem.split(whereSeparator: \.isNewline)
            .filter { !$0.hasPrefix("-----") }
            .joined()
        let der = try XCTUnwrap(Data(base64Encoded: body, options: .ignoreUnknownCharacters), "cert.pem is not PEM")
        session = URLSession(configuration: .ephemeral, delegate: PinnedCertificate(der: der), delegateQueue: nil)
    }

    /// One request; answers the status code and the body as text (error
    /// bodies too, so assertions can show them).
    func send(_ method: String, _ path: String, json body: String? = nil, bearer: String? = nil) async throws
        -> (status: Int, text: String) {
        let url = try XCTUnwrap(URL(string: base + path), "bad URL \(base + path)")
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("SwiftTestBrowser/1.0", forHTTPHeaderField: "User-Agent")
        if let bearer {
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, String(decoding: data, as: UTF8.self))
    }

    /// Stops the session (a URLSession keeps its delegate until invalidated).
    func invalidate() {
        session.invalidateAndCancel()
    }

    /// A JSON object answer as a dictionary.
    static func object(_ text: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(parsed as? [String: Any], "not a JSON object: \(text)")
    }
}

final class ApproveFlowTests: XCTestCase {
    private let password = "Correct-Horse-42"
    private let device = DeviceRegistration(name: "Swift phone", platform: "ios", pushToken: "apns-token-1")

    func testPairApproveAndSignIn() async throws {
        let server = try makeServerClient()
        let keystore = TestKeystore()
        let authenticator = try openVault(clock: FixedClock(DeviceClock().nowUnixS()), keystore: keystore)
        try await authenticator.unlock(passcode: nil)
        try await authenticator.enableBiometrics() // "screen lock after Approve" confirms through the keystore
        let user = try await newUser("swift", on: server)
        let uri = try await invite(user, on: server)
        let pairing = try await authenticator.pairWithInvite(invite: uri, device: device)
        XCTAssertEqual(pairing.account, user)
        let identity = try await authenticator.fetchServerIdentity(url: server.base)
        XCTAssertEqual(pairing.serverName, identity.serverName)
        XCTAssertEqual(pairing.fingerprint, identity.fingerprint)
        XCTAssertEqual(try authenticator.pairings().count, 1)

        // The browser starts a sign-in and shows a number.
        let started = try await server.send("POST", "/v1/signin/start",
                                            json: #"{"username":"\#(user)","password":"\#(password)"}"#)
        XCTAssertEqual(started.status, 200, started.text)
        let start = try TestServerClient.object(started.text)
        let number = try XCTUnwrap(start["number"] as? Int, started.text)
        let requestId = try XCTUnwrap(start["request_id"] as? String, started.text)
        let pollToken = try XCTUnwrap(start["poll_token"] as? String, started.text)

        // The phone sees it and picks that number.
        let pending = try await authenticator.pendingRequests(pairingId: pairing.id, waitS: 5)
        XCTAssertEqual(pending.count, 1)
        let signIn = try XCTUnwrap(pending.first)
        XCTAssertEqual(signIn.requestId, requestId)
        XCTAssertEqual(signIn.context.userAgent, "SwiftTestBrowser/1.0")
        let picked = UInt16(number)
        XCTAssertTrue(signIn.choices.contains(picked), "\(signIn.choices) lacks \(number)")

        let promptsBefore = keystore.promptCount
        let state = try await authenticator.answer(request: signIn, decision: .approve, pickedNumber: picked)
        XCTAssertEqual(state, .approved)
        XCTAssertEqual(keystore.promptCount, promptsBefore + 1, "approving confirms through the keystore")
        do {
            _ = try await authenticator.answer(request: signIn, decision: .approve, pickedNumber: picked)
            XCTFail("a second answer must be refused")
        } catch AuthError.Rejected(let code, let reason) {
            XCTAssertEqual(code, "already_answered", reason)
        }

        // The browser's poll now carries a session for that account.
        let polled = try await server.send("GET", "/v1/signin/\(requestId)?poll_token=\(pollToken)&wait=0")
        let status = try TestServerClient.object(polled.text)
        XCTAssertEqual(status["state"] as? String, "approved", polled.text)
        let session = try XCTUnwrap(status["session_token"] as? String, polled.text)
        let who = try await server.send("GET", "/v1/session", bearer: session)
        XCTAssertEqual(who.status, 200, who.text)
        XCTAssertEqual(try TestServerClient.object(who.text)["account"] as? String, user)

        let unpaired = try await authenticator.unpair(pairingId: pairing.id)
        XCTAssertTrue(unpaired)
        XCTAssertEqual(try authenticator.pairings(), [])
    }

    func testRevokedPairingArrivesAsTypedError() async throws {
        let server = try makeServerClient()
        let authenticator = try openVault(clock: FixedClock(DeviceClock().nowUnixS()))
        try await authenticator.unlock(passcode: nil)
        let user = try await newUser("revoked", on: server)
        let uri = try await invite(user, on: server)
        let pairing = try await authenticator.pairWithInvite(invite: uri, device: device)

        // The admin revokes the phone.
        let listed = try await server.send("GET", "/v1/admin/users/\(user)/devices", bearer: server.adminToken)
        let devices = try XCTUnwrap(try TestServerClient.object(listed.text)["devices"] as? [[String: Any]], listed.text)
        let deviceId = try XCTUnwrap(devices.first?["device_id"] as? String, listed.text)
        let revoked = try await server.send("DELETE", "/v1/admin/devices/\(deviceId)", bearer: server.adminToken)
        XCTAssertTrue((200...204).contains(revoked.status), "revoke: \(revoked.status) \(revoked.text)")

        do {
            _ = try await authenticator.pendingRequests(pairingId: pairing.id, waitS: 0)
            XCTFail("a revoked pairing must fail")
        } catch AuthError.PairingRevoked(let pairingId) {
            XCTAssertEqual(pairingId, pairing.id)
        }
        // The pairing stays until the user removes it.
        XCTAssertFalse(try authenticator.pairings().isEmpty)
    }

    // MARK: Helpers

    /// A client for the server in the environment (skips without one),
    /// closed after the test.
    private func makeServerClient() throws -> TestServerClient {
        let server = try TestServerClient(base: try TestServer.baseURL(), dataDir: try TestServer.dataDir())
        addTeardownBlock {
            server.invalidate()
        }
        return server
    }

    /// A new Approve-method user with a unique name, created by the admin.
    private func newUser(_ prefix: String, on server: TestServerClient) async throws -> String {
        let name = prefix + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))
        let created = try await server.send(
            "POST", "/v1/admin/users",
            json: #"{"username":"\#(name)","password":"\#(password)","method":"password_approve"}"#,
            bearer: server.adminToken
        )
        XCTAssertTrue((200...201).contains(created.status), "create user: \(created.status) \(created.text)")
        return name
    }

    /// A one-time pairing invitation URI for `user`.
    private func invite(_ user: String, on server: TestServerClient) async throws -> String {
        let invited = try await server.send("POST", "/v1/admin/users/\(user)/pairing", json: "{}", bearer: server.adminToken)
        XCTAssertTrue((200...201).contains(invited.status), "invite: \(invited.status) \(invited.text)")
        return try XCTUnwrap(try TestServerClient.object(invited.text)["uri"] as? String, invited.text)
    }
}
