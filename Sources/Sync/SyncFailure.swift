import XMPP

/// A failure as the user is told it: one line, and the exit status CLI.md gives it (1: the
/// operation failed; 64: bad usage or a bad argument).
///
/// The errors of the layers below (a connection, TLS trust, registration, a JID, `SyncError`)
/// are mapped here, so the Shell prints and exits with these and never needs to know the
/// XMPP layer's error types.
public struct SyncFailure: Error, Sendable, CustomStringConvertible {
    /// CLI.md: the operation failed (network, server refusal, auth).
    public static let failed: Int32 = 1
    /// CLI.md: bad usage or a bad argument (sysexits EX_USAGE).
    public static let usage: Int32 = 64

    public let reason: String
    public let exitCode: Int32

    public init(_ reason: String, exitCode: Int32 = SyncFailure.failed) {
        self.reason = reason
        self.exitCode = exitCode
    }

    public var description: String { reason }

    /// What `error` means to the user; an error of no layer below keeps its description and status 1.
    /// - Parameters:
    ///   - jid: the account a connection was for, so a server key that is not trusted comes
    ///     with the command that trusts it.
    ///   - stored: whether that account is stored yet (`trust` for a stored one, `login --pin` else).
    public init(_ error: any Error, account jid: String? = nil, stored: Bool = true) {
        if let failure = SyncFailure(connecting: error, account: jid, stored: stored) {
            self = failure
            return
        }
        switch error {
        case let failure as SyncFailure: self = failure
        case let error as SyncError: self.init(error.description, exitCode: error.exitCode)
        case let error as JIDError: self.init("\(error)", exitCode: Self.usage)
        default: self.init("\(error)")
        }
    }

    /// Why connecting, or registering over the connection, failed; nil for any other error.
    public init?(connecting error: any Error, account jid: String?, stored: Bool = true) {
        switch error {
        case let error as ConnectionError: self.init(Self.explain(error, account: jid, stored: stored))
        case let error as Registration.RegistrationError: self.init(error.description)
        default: return nil
        }
    }

    /// `error` in the user's words when connecting or registering failed, else `error` itself:
    /// for a `catch` around a call that connects, which leaves every other error alone.
    public static func explaining(_ error: any Error, account jid: String, stored: Bool = true) -> any Error {
        SyncFailure(connecting: error, account: jid, stored: stored) ?? error
    }

    /// A server key that is not trusted: the line says how to trust it, if the user does.
    private static func explain(_ error: ConnectionError, account jid: String?, stored: Bool) -> String {
        guard let jid, case .tls(let tlsError) = error, case .verificationFailed(_, _, let spki) = tlsError else {
            return error.description
        }
        let fix = stored ? "tern --account \(jid) trust \(spki)" : "tern login \(jid) --pin \(spki) …"
        return "\(tlsError). If you trust this key: \(fix)"
    }
}
