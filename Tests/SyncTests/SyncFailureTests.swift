import Testing
import XMPP
@testable import Sync

/// What the Shell prints and exits with for the layers' errors (CLI.md, exit codes).
@Suite struct SyncFailureTests {
    let spki = String(repeating: "ab", count: 32)

    var untrusted: ConnectionError {
        .tls(.verificationFailed(serverName: "example.org", reason: "signer not found", spkiSHA256: spki))
    }

    @Test func an_untrusted_key__names_the_command_that_trusts_it() {
        let stored = SyncFailure(untrusted, account: "alice@example.org")
        #expect(stored.exitCode == 1)
        #expect(stored.reason.hasSuffix("If you trust this key: tern --account alice@example.org trust \(spki)"))
        let new = SyncFailure(untrusted, account: "alice@example.org", stored: false)
        #expect(new.reason.hasSuffix("If you trust this key: tern login alice@example.org --pin \(spki) …"))
    }

    @Test func other_connection_errors__keep_their_line() {
        let failure = SyncFailure(ConnectionError.timeout("stream negotiation"), account: "alice@example.org")
        #expect(failure.reason == "timed out: stream negotiation")
        #expect(failure.exitCode == 1)
    }

    @Test func bad_input__is_a_usage_error_and_failed_operations_are_not() throws {
        #expect(SyncFailure(SyncError.emptyMessage).exitCode == 64)
        #expect(SyncFailure(SyncError.invalidRecipient("bad")).reason == "bad")
        #expect(SyncFailure(SyncError.noCredentials("a@b")).exitCode == 1)
        let jidError = try #require(throws: JIDError.self) { try JID("@example.org") }
        #expect(SyncFailure(jidError).exitCode == 64)
    }

    @Test func explaining__maps_connection_errors_and_leaves_the_rest() {
        #expect(SyncFailure.explaining(untrusted, account: "a@b") is SyncFailure)
        #expect(SyncFailure.explaining(SyncError.emptyMessage, account: "a@b") is SyncError)
        #expect(SyncFailure(connecting: SyncError.emptyMessage, account: "a@b") == nil)
    }
}
