import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

/// Connection settings given on the command line (`--server HOST[:PORT]`, `--direct-tls`, `--ca-file`).
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Connect to this host instead of looking up SRV records.", valueName: "HOST[:PORT]"))
    var server: String?

    @Flag(help: "Use direct TLS (XEP-0368) instead of STARTTLS.")
    var directTLS = false

    @Option(help: ArgumentHelp("Also trust the CA certificates in this PEM file.", valueName: "PEM"))
    var caFile: String?

    @Option(help: ArgumentHelp("Accept the server key with this SPKI SHA-256 (from a failed verification).", valueName: "SPKI"))
    var pin: String?

    func apply(to account: inout Account) throws {
        if let server {
            let (host, port) = try Self.split(server)
            account.host = host
            account.port = port
        }
        if directTLS { account.directTLS = true }
        if let caFile {
            let path = Paths.absolute(caFile)
            guard FileManager.default.isReadableFile(atPath: path) else { throw UsageFailure("cannot read the CA file \(caFile)") }
            account.caFile = path
        }
        if let pin { account.pinnedSPKI = try TrustCommand.normalise(pin) }
    }

    /// The bare JID of an account to create or log in: it needs a user part.
    static func accountJID(_ text: String) throws -> JID {
        let bare: JID
        do { bare = try JID(text).bare } catch { throw UsageFailure("\(error)") }
        guard bare.local != nil else { throw UsageFailure("\(text) has no user part (expected user@domain)") }
        return bare
    }

    static func split(_ server: String) throws -> (String, Int?) {
        if server.hasPrefix("[") {  // [v6]:port
            guard let close = server.firstIndex(of: "]") else { throw UsageFailure("bad --server \(server)") }
            let host = String(server[server.index(after: server.startIndex)..<close])
            let rest = server[server.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw UsageFailure("bad --server \(server)") }
            return (host, rest.isEmpty ? nil : try port(String(rest.dropFirst()), server))
        }
        let parts = server.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (server, nil)
        case 2: return (String(parts[0]), try port(String(parts[1]), server))
        default: return (server, nil)  // a bare IPv6 address
        }
    }

    private static func port(_ text: String, _ server: String) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw UsageFailure("bad port in --server \(server)") }
        return port
    }
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check credentials against the server, then store the account (SCRAM keys, never the password).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The account's JID, e.g. alice@example.org.") var jid: String
    @OptionGroup var server: ServerOptions
    @Option(help: ArgumentHelp("Read the password from this file.", valueName: "FILE")) var passwordFile: String?
    @Flag(help: "If the server offers no SCRAM (PLAIN only), keep the password itself in the store (mode 0600).")
    var remember = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let bare = try ServerOptions.accountJID(jid)
            var account = try context.store.account(jid: bare.description)
                ?? Account(jid: bare.description, resource: Login.newResource(), createdAt: Store.now)
            try server.apply(to: &account)
            let password = try Password.obtain(file: passwordFile, prompt: "Password for \(bare): ")
            do {
                let outcome = try await Login.login(store: context.store, account: account, password: password, remember: remember)
                // How the login was secured: "(SCRAM-SHA-1-PLUS) over TLS 1.2, channel binding tls-unique".
                let binding = outcome.channelBinding.map { ", channel binding \($0)" } ?? ""
                print("logged in as \(Sanitizer.inert(outcome.boundJID)) (\(outcome.mechanism)) over TLS \(outcome.isTLS13 ? "1.3" : "1.2")\(binding)")
                switch outcome.stored {
                case .scram: break
                case .password:
                    print("note: the server offers no SCRAM, so the password itself is stored (readable only by you)")
                case nil:
                    print("note: the server offers no SCRAM, so nothing was stored; log in again next time, or use --remember")
                }
            } catch {
                throw SyncFailure.explaining(error, account: bare.description, stored: try context.store.account(jid: bare.description) != nil)
            }
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: CommandTable.summary(ofSubcommand: "logout"))

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Also drop the stored credentials.") var forget = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            var account = try context.account()
            account.state = .loggedOut
            try context.store.updateAccount(account)
            if forget { try context.store.deleteCredential(accountID: account.rowID) }
            // A connected owner notices the state change and closes its stream cleanly.
            print("logged out \(account.jid)" + (forget ? "; credentials removed" : ""))
        }
    }
}

struct TrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: CommandTable.summary(ofSubcommand: "trust"))

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Connect and show the server certificate.") var show = false
    @Argument(help: "The SPKI SHA-256 to pin, as printed by a failed verification.") var spki: String?

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            var account = try context.account()
            if let spki {
                account.pinnedSPKI = try Self.normalise(spki)
                try context.store.updateAccount(account)
                print("pinned \(account.pinnedSPKI ?? "") for \(account.jid)")
            } else if show {
                print(try await Self.describeCertificate(of: account))
            } else {
                print(account.pinnedSPKI.map { "pinned: \($0)" } ?? "no key pinned for \(account.jid)")
            }
        }
    }

    static func describeCertificate(of account: Account) async throws -> String {
        let result = try await Login.serverCertificate(of: account)
        let certificate = result.certificate
        let validity = Date.ISO8601FormatStyle()
        var lines = [
            "subject:   " + Sanitizer.inert(certificate.subject),
            "names:     " + certificate.subjectAltNames.map(Sanitizer.inert).joined(separator: ", "),
            "issuer:    " + Sanitizer.inert(certificate.issuer),
            "valid:     \(certificate.notBefore.formatted(validity)) to \(certificate.notAfter.formatted(validity))",
            "SPKI SHA-256: \(certificate.spkiSHA256)",
        ]
        if let error = result.verificationError {
            lines.append("verdict:   NOT trusted: \(error)")
            lines.append("to pin it: tern --account \(account.jid) trust \(certificate.spkiSHA256)")
        } else {
            lines.append(account.pinnedSPKI == nil ? "verdict:   trusted (CA and name verified)" : "verdict:   trusted (matches the pinned key)")
        }
        return lines.joined(separator: "\n")
    }

    static func normalise(_ text: String) throws -> String {
        let hex = text.lowercased().filter { $0 != ":" }
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw UsageFailure("not an SPKI SHA-256: expected 64 hex digits")
        }
        return hex
    }
}
