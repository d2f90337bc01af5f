// Approve sign-in through the Swift bindings against a real countersign-server
// on loopback: the same scenarios as the Android shell's ApproveFlowTest.
// The test plays both sides: the "browser" and the admin over HTTPS that
// trusts exactly the server's self-signed certificate, and the phone through
// the core. The server comes from the environment tools/kotlin-test.sh sets
// for the JVM tests (COUNTERSIGN_TEST_SERVER, COUNTERSIGN_TEST_SERVER_DIR,
// COUNTERSIGN_TEST_ADMIN_TOKEN);
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
    static let howToStart = "make an admin token with `target/debug/countersign-server token create swift "
        + "--data-dir <dir>`, start a server with `target/debug/countersign-server serve --data-dir <dir> "
        + "--listen 127.0.0.1:0 --name \"Swift NAS\"`, then export COUNTERSIGN_TEST_SERVER=<the "
        + "\"public URL\" it prints>, COUNTERSIGN_TEST_SERVER_DIR=<dir> and "
        + "COUNTERSIGN_TEST_ADMIN_TOKEN=<the token> (see ios/README.md)"

    /// The server's public URL (`COUNTERSIGN_TEST_SERVER`); skips the test when unset.
    static func baseURL() throws -> String {
        try environment("COUNTERSIGN_TEST_SERVER")
    }

    /// The server's data directory (`COUNTERSIGN_TEST_SERVER_DIR`), which
    /// holds `cert.pem`; skips the test when unset.
    static func dataDir() throws -> URL {
        URL(fileURLWithPath: try environment("COUNTERSIGN_TEST_SERVER_DIR"), isDirectory: true)
    }

    /// An admin API token made with `countersign-server token create`
    /// (`COUNTERSIGN_TEST_ADMIN_TOKEN`); skips the test when unset.
    static func adminToken() throws -> String {
        try environment("COUNTERSIGN_TEST_ADMIN_TOKEN")
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

    /// Reads `cert.pem` from the server's data directory; `adminToken` is
    /// one made with `countersign-server token create`.
    init(base: String, dataDir: URL, adminToken: String) throws {
        self.base = base
        self.adminToken = adminToken.trimmingCharacters(in: .whitespacesAndNewlines)
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

    /// A new password + approve user with a unique name, created by the admin.
    func newUser(_ prefix: String, password: String) async throws -> String {
        let name = prefix + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))
        let created = try await send(
            "POST", "/v1/admin/users",
            json: #"{"username":"\#(name)","password":"\#(password)","method":"password_approve"}"#,
            bearer: adminToken
        )
        XCTAssertTrue((200...201).contains(created.status), "create user: \(created.status) \(created.text)")
        return name
    }

    /// A one-time pairing invitation URI for `user`, made by the admin.
    func invite(_ user: String) async throws -> String {
        let invited = try await send("POST", "/v1/admin/users/\(user)/pairing", json: "{}", bearer: adminToken)
        XCTAssertTrue((200...201).contains(invited.status), "invite: \(invited.status) \(invited.text)")
        return try XCTUnwrap(try TestServerClient.object(invited.text)["uri"] as? String, invited.text)
    }

    /// A client for the server in the environment (skips without one).
    static func fromEnvironment() throws -> TestServerClient {
        try TestServerClient(
            base: try TestServer.baseURL(),
            dataDir: try TestServer.dataDir(),
            adminToken: try TestServer.adminToken()
        )
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

        // The phone sees it, in words and without the number: the user
        // types the number the browser shows. A typo is refused and counted.
        let pending = try await authenticator.pendingRequests(pairingId: pairing.id, waitS: 5)
        XCTAssertEqual(pending.count, 1)
        let signIn = try XCTUnwrap(pending.first)
        XCTAssertEqual(signIn.requestId, requestId)
        XCTAssertEqual(signIn.shown.client, "SwiftTestBrowser")
        XCTAssertEqual(signIn.shown.action, .signIn)
        XCTAssertEqual(signIn.triesLeft, 3)
        let typed = UInt16(number)
        let typo: UInt16 = typed == 99 ? 98 : typed + 1
        do {
            _ = try await authenticator.answerRequest(requestId: signIn.requestId, decision: .approve, typedNumber: typo)
            XCTFail("a wrong number must be refused")
        } catch AuthError.WrongNumber(let triesLeft) {
            XCTAssertEqual(triesLeft, 2)
        }

        let promptsBefore = keystore.promptCount
        XCTAssertEqual(authenticator.waitingRequests().first?.triesLeft, 2)
        let state = try await authenticator.answerRequest(requestId: signIn.requestId, decision: .approve, typedNumber: typed)
        XCTAssertEqual(state, .approved)
        XCTAssertEqual(keystore.promptCount, promptsBefore + 1, "approving confirms through the keystore")
        // Answered: no longer waiting, so a second answer finds nothing.
        XCTAssertTrue(authenticator.waitingRequests().isEmpty)
        do {
            _ = try await authenticator.answerRequest(requestId: signIn.requestId, decision: .approve, typedNumber: typed)
            XCTFail("a second answer must be refused")
        } catch AuthError.NotFound {
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

    func testPasswordPairingWaitsForApprovalOnThePairedPhone() async throws {
        let server = try makeServerClient()
        let first = try openVault(clock: FixedClock(DeviceClock().nowUnixS()))
        try await first.unlock(passcode: nil)
        let second = try openVault(clock: FixedClock(DeviceClock().nowUnixS()))
        try await second.unlock(passcode: nil)
        let user = try await newUser("pairing", on: server)
        let pairing = try await first.pairWithInvite(invite: try await invite(user, on: server), device: device)

        // The second phone knows only the password: the account already has
        // a phone, so the pairing waits for it to approve.
        let fingerprint = try await second.fetchServerIdentity(url: server.base).fingerprint
        let outcome = try await second.pairWithPassword(
            url: server.base, fingerprint: fingerprint, username: user, password: password, otpCode: nil,
            device: DeviceRegistration(name: "Second Swift phone", platform: "ios", pushToken: nil)
        )
        guard case .awaitingApproval(let pending) = outcome else {
            return XCTFail("the account has a phone: the pairing must wait, got \(outcome)")
        }
        let early = try await second.finishPasswordPairing(pending: pending, waitS: 0)
        XCTAssertNil(early)
        let request = try XCTUnwrap(try await first.pendingRequests(pairingId: pairing.id, waitS: 5).first)
        XCTAssertEqual(request.shown.action, .pairDevice)
        XCTAssertTrue(request.shown.client.contains("Second Swift phone"), request.shown.client)
        let state = try await first.answerRequest(requestId: request.requestId, decision: .approve, typedNumber: pending.number())
        XCTAssertEqual(state, .approved)
        let paired = try await second.finishPasswordPairing(pending: pending, waitS: 5)
        XCTAssertEqual(paired?.account, user)

        // The first phone is told, as a notice rather than a request.
        let notices = try await first.checkPending().notices
        XCTAssertTrue(notices.contains { $0.kind == "device_paired" }, "\(notices)")
    }

    /// The Approve screen (mirrors Android's ApproveViewModelTest).
    @MainActor
    func testApproveScreenListsTypesTheNumberApprovesAndReports() async throws {
        let server = try makeServerClient()
        let clock = FixedClock(DeviceClock().nowUnixS())
        let authenticator = try openVault(clock: clock, keystore: TestKeystore())
        try await authenticator.unlock(passcode: nil)
        try await authenticator.enableBiometrics()
        let user = try await newUser("swiftvm", on: server)
        _ = try await authenticator.pairWithInvite(invite: try await invite(user, on: server), device: device)
        let model = ApproveViewModel(authenticator: authenticator, clock: clock)
        try model.start()
        defer { model.stop() }

        let started = try await server.send("POST", "/v1/signin/start",
                                            json: #"{"username":"\#(user)","password":"\#(password)"}"#)
        let start = try TestServerClient.object(started.text)
        let number = try XCTUnwrap(start["number"] as? Int, started.text)
        let requestId = try XCTUnwrap(start["request_id"] as? String, started.text)
        let arrived = await waitUntil(timeout: 20) { model.rows.count == 1 }
        XCTAssertTrue(arrived, "the core's watcher brings the request in")
        let row = try XCTUnwrap(model.rows.first)
        XCTAssertEqual(row.requestId, requestId)
        XCTAssertEqual(row.title, "Sign in to \(try authenticator.pairings()[0].serverName) as \(user)")
        XCTAssertTrue(row.from.hasPrefix("SwiftTestBrowser"), row.from)
        XCTAssertEqual(row.triesLeft, 3)

        await model.approve(requestId: requestId, typed: "1a")
        XCTAssertEqual(model.message, "Type the two digits the sign-in screen shows.")
        let typo = number == 99 ? 98 : number + 1
        await model.approve(requestId: requestId, typed: String(typo))
        XCTAssertEqual(model.message, "That is not the number on the sign-in screen. Try again (2 left).")
        XCTAssertEqual(model.rows.first?.triesLeft, 2)
        await model.approve(requestId: requestId, typed: String(format: "%02d", number))
        XCTAssertEqual(model.message, "Approved.")
        XCTAssertTrue(model.rows.isEmpty)
        await model.deny(requestId: requestId)
        XCTAssertEqual(model.message, "This sign-in is no longer waiting.")

        let again = try await server.send("POST", "/v1/signin/start",
                                          json: #"{"username":"\#(user)","password":"\#(password)"}"#)
        let second = try XCTUnwrap(try TestServerClient.object(again.text)["request_id"] as? String)
        await model.refresh()
        XCTAssertEqual(model.rows.map(\.requestId), [second])
        await model.report(requestId: second)
        XCTAssertEqual(model.message, "Denied and reported.")
        XCTAssertTrue(model.rows.isEmpty)
    }

    // MARK: Helpers

    /// A client for the server in the environment (skips without one),
    /// closed after the test.
    private func makeServerClient() throws -> TestServerClient {
        let server = try TestServerClient.fromEnvironment()
        addTeardownBlock {
            server.invalidate()
        }
        return server
    }

    /// A new Approve-method user with a unique name, created by the admin.
    private func newUser(_ prefix: String, on server: TestServerClient) async throws -> String {
        try await server.newUser(prefix, password: password)
    }

    /// A one-time pairing invitation URI for `user`.
    private func invite(_ user: String, on server: TestServerClient) async throws -> String {
        try await server.invite(user)
    }
}
