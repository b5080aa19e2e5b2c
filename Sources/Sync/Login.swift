import Foundation
import Store
import XMPP

/// First login: checks the credentials against the server, then stores the account.
///
/// Nothing is written unless the server accepted us, so a typo leaves no half-made account.
/// The password itself is never stored: only the SCRAM keys the login derived.
public enum Login {
    public struct Outcome: Sendable {
        public var account: Account
        public var boundJID: String
        public var mechanism: String
        /// The channel-binding type of the login (e.g. tls-unique), nil when it was not bound.
        public var channelBinding: String?
        public var isTLS13: Bool
        /// What was stored to log in again: SCRAM keys, the password (only with `remember`), or nothing.
        public var stored: Credential.Kind?
    }

    /// `tern trust --show`: the account's server certificate, reached as a login reaches it
    /// (host, TLS mode, CA file, pinned key), and whether it verified.
    public static func serverCertificate(of account: Account) async throws -> CertificateProbe.Result {
        try await CertificateProbe.fetch(SyncEngine.configuration(for: account, credential: .password("")))
    }

    /// - Parameter remember: keep the password itself when the server offers no SCRAM (PLAIN only).
    public static func login(store: Store, account draft: Account, password: String, remember: Bool = false) async throws -> Outcome {
        var account = draft
        if let existing = try store.account(jid: draft.jid) {
            // Keep the stable resource and anything not given again.
            account.resource = existing.resource
        }
        let configuration = try SyncEngine.configuration(for: account, credential: .password(password))
        let connection = Connection(configuration: configuration)
        let session = try await connection.connect()
        try? await connection.send(Presence.unavailable.element)
        await connection.close()

        account.state = .active
        let credential = Credentials.toStore(after: session, accountID: 0, password: password, remember: remember)
        let saved = try store.saveAccount(account, credential: credential)
        return Outcome(
            account: saved, boundJID: session.boundJID.description, mechanism: session.mechanism,
            channelBinding: session.channelBinding, isTLS13: session.isTLS13, stored: credential?.kind)
    }

    /// A resource that stays the same for the account: "tern." and a short random suffix.
    public static func newResource() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        return "tern." + String((0..<6).map { _ in alphabet.randomElement() ?? "x" })
    }
}
