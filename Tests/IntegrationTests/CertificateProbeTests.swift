import Foundation
import Testing
import XMPP

/// `tern trust --show`'s probe against the test Prosody: STARTTLS through the negotiator (the
/// login's own), direct TLS (XEP-0368), and a certificate that does not verify, which the probe
/// reports all the same, with the key to pin.
@Suite struct CertificateProbeTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    func probe(port: Int, directTLS: Bool, caFile: String?) async throws -> CertificateProbe.Result {
        try await CertificateProbe.fetch(ConnectionConfiguration(
            jid: try JID(server.jid("test1")), resource: nil, credential: .password(""),
            endpoint: Endpoint(host: server.host, port: UInt16(port), directTLS: directTLS), trust: TLSTrust(caFile: caFile)))
    }

    @Test func starttls_and_direct_tls__show_the_same_trusted_certificate() async throws {
        let starttls = try await probe(port: server.port, directTLS: false, caFile: server.caFile)
        #expect(starttls.verificationError == nil)
        #expect(starttls.certificate.subjectAltNames.contains("DNS:localhost"))
        let directPort = try #require(
            ProcessInfo.processInfo.environment["TERN_TEST_DIRECT_TLS_PORT"].flatMap(Int.init), "TERN_TEST_DIRECT_TLS_PORT is not set")
        let direct = try await probe(port: directPort, directTLS: true, caFile: server.caFile)
        #expect(direct.verificationError == nil)
        #expect(direct.certificate.spkiSHA256 == starttls.certificate.spkiSHA256)
    }

    @Test func a_certificate_that_does_not_verify__is_shown_with_why_and_its_key() async throws {
        let result = try await probe(port: server.port, directTLS: false, caFile: nil)
        guard case .verificationFailed(_, _, let spki)? = result.verificationError else {
            Issue.record("expected a verification failure, got \(String(describing: result.verificationError))")
            return
        }
        #expect(spki == result.certificate.spkiSHA256)
        #expect(spki.count == 64)
    }

    @Test func a_port_with_no_server__fails_as_a_login_would() async throws {
        await #expect(throws: ConnectionError.self) {
            _ = try await probe(port: 1, directTLS: false, caFile: server.caFile)
        }
    }

    @Test func the_cli__shows_an_untrusted_certificate_and_how_to_pin_it() async throws {
        let user = try await server.registerFresh("probe")
        let home = TernHome(server)
        try await home.login(user)
        #expect(try await home.run(["account", "set", "ca-file", "none"]).status == 0)
        let shown = try await home.run(["trust", "--show"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("verdict:   NOT trusted"), "\(shown.stdout)")
        #expect(shown.stdout.contains("to pin it: tern --account \(server.jid(user)) trust "))
    }

    /// The shell's `/trust`: without the CA the server is not trusted and the shell cannot
    /// connect; `/trust show` says why and gives the key, `/trust KEY` pins it and connects.
    @Test func the_shell_shows_the_certificate_and_pins_its_key_then_connects() async throws {
        let user = try await server.registerFresh("pin")
        let home = TernHome(server)
        try await home.login(user)
        #expect(try await home.run(["account", "set", "ca-file", "none"]).status == 0)
        let spki = try await probe(port: server.port, directTLS: false, caFile: nil).certificate.spkiSHA256
        let shell = try TerminalShell(home: home)
        try await shell.waitFor("not trusted")  // the shell's own connection is refused
        try await shell.type("/trust\r", thenWaitFor: "no key pinned for \(server.jid(user))")
        try await shell.type("/trust show\r", thenWaitFor: "verdict:   NOT trusted")
        try await shell.type("/trust nothex\r", thenWaitFor: "error: not an SPKI SHA-256: expected 64 hex digits")
        let pinned = shell.mark
        try await shell.type("/trust \(spki)\r", thenWaitFor: "pinned \(spki)")
        try await shell.waitFor("-- online", since: pinned)  // connected again, trusting the pinned key
        try await shell.type("/trust\r", thenWaitFor: "pinned: \(spki)")
        await shell.quit()
    }
}
