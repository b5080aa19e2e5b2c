/// Per-account connection settings, RFC 6120 §3.2 (host and port, overriding SRV) and
/// RFC 6121 §4.7.2.3 (presence priority, −128…127): `tern accounts`, `tern account show`,
/// `tern account set KEY VALUE` (CLI.md, account set-up).
///
/// Several accounts share one data directory; these commands list them and change one at a
/// time, validating every value before anything is written.
import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "List the stored accounts: default, state, last connection state, queued messages.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON Lines.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            for line in try AccountListing.lines(context.store, json: json) { print(line) }
        }
    }
}

struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Show or change the settings of one account (--account JID, else the default).",
        subcommands: [AccountShowCommand.self, AccountSetCommand.self])

    // Here rather than in each subcommand: `tern --home D account show` arrives as
    // `account --home D show`, and only the group's own options may come before `show`.
    @OptionGroup var global: GlobalOptions
}

struct AccountShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print every setting of the account (never a secret).")

    @ParentCommand var group: AccountCommand
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(group.global)
            let account = try context.account()
            let credential = try context.store.credential(accountID: account.rowID)
            let isDefault = try context.store.defaultAccount()?.jid == account.jid
            let settings = AccountSettings.shown(account, isDefault: isDefault, credential: credential)
            if json {
                print(Renderer.json(Dictionary(uniqueKeysWithValues: settings.map { ($0.jsonKey, $0.json) })))
            } else {
                let width = settings.map(\.key.count).max() ?? 0
                for setting in settings {
                    print((setting.key + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0) + setting.text)
                }
            }
        }
    }
}

struct AccountSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change one setting of the account; it is used from the next connection.",
        usage: "tern account set <key> <value>",
        discussion: """
            KEY is one of:
              server      HOST[:PORT], or auto (SRV lookup: clears host and port)
              host        HOST, or auto (same as server auto)
              port        1-65535, or auto (5222, or 5223 with direct TLS); needs a host
              direct-tls  true/false (also yes/no, on/off): XEP-0368 direct TLS instead of STARTTLS
              ca-file     a readable PEM file to trust as well as the system CAs, or none
              resource    the resource part of the full JID
              priority    presence priority, -128 to 127 (RFC 6121 §4.7.2.3)
              default     true: make this the account used when --account is not given
              download-dir          where tern download saves, or default ($XDG_DOWNLOAD_DIR/tern, ~/Downloads/tern)
              download-limit        the cap on one download in MB, or default (512)
              allow-http-downloads  true/false: fetch offers with plain http: URLs (uploads are always https)
              notify-command        "PROGRAM [ARGS]" run for each alert with the title and text added as
                                    arguments (never through a shell), or none
              desktop-notify        off, osc9 or osc777: the terminal escape that raises a desktop notification
            """)

    @ParentCommand var group: AccountCommand
    @Argument(help: "The setting (see below).") var key: String
    // Unrecognised words too, so a negative priority is a value rather than an unknown option.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The new value.", valueName: "value")) var values: [String] = []

    private var value: String { values.first ?? "" }

    func validate() throws {
        guard values.count == 1 else {
            throw ValidationError(values.isEmpty ? "Missing expected argument '<value>'" : "Give exactly one value (quote it if it has spaces)")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(group.global)
            let account = try context.account()
            let updated: Account
            if try AccountSettings.key(key) == "default" {
                // Validated before anything is written, like every other key.
                guard try AccountSettings.bool(value, key: key) else {
                    throw UsageFailure("default: only `true` is accepted; make another account the default instead")
                }
                guard account.state != .deleted else { throw Failure("\(account.jid) is deleted") }
                guard let chosen = try context.store.setDefaultAccount(jid: account.jid) else {
                    throw Failure("no account \(account.jid) here")
                }
                updated = chosen
            } else {
                updated = try AccountSettings.applying(key, value, to: account)
                try context.store.updateAccount(updated)
            }
            let isDefault = try context.store.defaultAccount()?.jid == updated.jid
            print(try AccountSettings.describe(key, of: updated, isDefault: isDefault))
        }
    }
}

/// One line (or JSON object) per stored account, for `tern accounts` and the shell's `/account`.
enum AccountListing {
    static func lines(_ store: Store, json: Bool) throws -> [String] {
        let defaultJID = try store.defaultAccount()?.jid
        return try store.accounts().map { account in
            var sync = try store.syncState(accountID: account.rowID)
            if !AccountLock.hasLiveHolder(directory: store.directory, accountJID: account.jid) {
                sync.connection = SyncEvent.ConnectionState.offline.rawValue
            }
            let queued = try store.queuedCount(accountID: account.rowID)
            let error = sync.connection == SyncEvent.ConnectionState.offline.rawValue ? sync.lastError : nil
            let isDefault = account.jid == defaultJID
            if json {
                var object: [String: Any] = [
                    "jid": account.jid, "default": isDefault, "state": AccountSettings.stateName(account.state),
                    "connection": sync.connection, "queued": queued,
                    "server": AccountSettings.server(of: account) ?? NSNull(), "resource": account.resource,
                ]
                if let error { object["last_error"] = error }
                return Renderer.json(object)
            }
            var line = account.jid + (isDefault ? " (default)" : "")
            line += "  \(AccountSettings.stateName(account.state).replacingOccurrences(of: "-", with: " "))"
            line += ", " + Sanitizer.inert(sync.connection)
            if let error { line += " (\(Sanitizer.inert(error)))" }
            line += ", \(queued) queued"
            return line
        }
    }
}

/// Parsing, validating and describing the per-account settings of `tern account set`.
/// Pure apart from reading a CA file, so it is tested without a store or a server.
enum AccountSettings {
    static let keys = [
        "server", "host", "port", "direct-tls", "ca-file", "resource", "priority", "default",
        "download-dir", "download-limit", "allow-http-downloads", "notify-command", "desktop-notify",
    ]
    static let priorities = -128...127

    /// The key, or a usage error that lists the valid ones.
    static func key(_ key: String) throws -> String {
        guard keys.contains(key) else {
            throw UsageFailure("unknown setting \(key): use one of \(keys.joined(separator: ", "))")
        }
        return key
    }

    /// The account with KEY set to VALUE, or a one-line usage error (the account is untouched).
    /// `default` is not an account field but a choice among accounts: see `Store.setDefaultAccount`.
    static func applying(_ key: String, _ value: String, to account: Account) throws -> Account {
        var account = account
        switch try self.key(key) {
        case "server", "host":
            if value == "auto" {
                account.host = nil
                account.port = nil
            } else if key == "server" {
                let (host, port) = try ServerOptions.split(value)
                account.host = try self.host(host, given: value, key: key)
                account.port = port
            } else {
                account.host = try self.host(value, given: value, key: key)
            }
        case "port":
            if value == "auto" {
                account.port = nil
            } else {
                guard let port = Int(value), (1...65535).contains(port) else {
                    throw UsageFailure("port: expected 1-65535 or auto, not \(value)")
                }
                guard account.host != nil else {
                    throw UsageFailure("port: set a host first (`server HOST:PORT`); without one, SRV records give the port")
                }
                account.port = port
            }
        case "direct-tls":
            account.directTLS = try bool(value, key: key)
        case "ca-file":
            account.caFile = value == "none" ? nil : try caFile(value)
        case "resource":
            account.resource = try resource(value, of: account)
        case "priority":
            guard let priority = Int(value), priorities.contains(priority) else {
                throw UsageFailure("priority: expected an integer from -128 to 127, not \(value)")
            }
            account.priority = priority
        case "download-dir":
            account.downloadDir = value == "default" ? nil : Paths.absolute((value as NSString).expandingTildeInPath)
        case "download-limit":
            if value == "default" {
                account.downloadLimitMB = nil
            } else {
                guard let megabytes = Int(value), (1...1_000_000).contains(megabytes) else {
                    throw UsageFailure("download-limit: expected megabytes from 1 to 1000000, or default, not \(value)")
                }
                account.downloadLimitMB = megabytes
            }
        case "allow-http-downloads":
            account.allowsHTTPDownloads = try bool(value, key: key)
        case "notify-command":
            account.notifyCommand = try notifyCommand(value)
        case "desktop-notify":
            guard let choice = Account.DesktopNotify(rawValue: value) else {
                throw UsageFailure("desktop-notify: expected off, osc9 or osc777, not \(value)")
            }
            account.desktopNotify = choice
        default:
            throw UsageFailure("\(key) is not set this way")
        }
        return account
    }

    static func bool(_ value: String, key: String) throws -> Bool {
        switch value.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw UsageFailure("\(key): expected true or false, not \(value)")
        }
    }

    /// A host name or IP address: brackets around IPv6 are dropped, and anything that would
    /// change the meaning of `host:port` or of a URL is refused.
    static func host(_ text: String, given: String, key: String) throws -> String {
        var host = text
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let forbidden = CharacterSet.whitespacesAndNewlines.union(.controlCharacters).union(CharacterSet(charactersIn: "/@[]"))
        guard !host.isEmpty, host.rangeOfCharacter(from: forbidden) == nil else {
            throw UsageFailure("\(key): not a host name or address: \(given)")
        }
        guard host.filter({ $0 == ":" }).count != 1 else {
            throw UsageFailure("host: \(given) has a port; use `server HOST:PORT`")
        }
        return host
    }

    /// An absolute path to a readable file that holds at least one PEM certificate.
    static func caFile(_ path: String) throws -> String {
        let absolute = Paths.absolute(path)
        guard FileManager.default.isReadableFile(atPath: absolute),
            let data = FileManager.default.contents(atPath: absolute)
        else {
            throw UsageFailure("ca-file: cannot read \(path)")
        }
        guard data.range(of: Data("-----BEGIN CERTIFICATE-----".utf8)) != nil else {
            throw UsageFailure("ca-file: \(path) holds no PEM certificate")
        }
        return absolute
    }

    /// A program (and fixed arguments) to run for each alert, or nil for "none". It is run
    /// directly, never through a shell, so it must name an executable file.
    static func notifyCommand(_ value: String) throws -> String? {
        let words = value.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let program = words.first, value != "none" else { return nil }
        let path = program.contains("/") ? Paths.absolute((program as NSString).expandingTildeInPath) : program
        guard program.contains("/") ? FileManager.default.isExecutableFile(atPath: path) : Alerts.findInPath(program) != nil else {
            throw UsageFailure("notify-command: \(program) is not an executable program")
        }
        return ([path] + words.dropFirst()).joined(separator: " ")
    }

    /// The resource as RFC 7622 prepares it, checked as part of the account's own full JID.
    static func resource(_ value: String, of account: Account) throws -> String {
        guard !value.isEmpty else { throw UsageFailure("resource: must not be empty") }
        let full: JID
        do { full = try JID(account.jid).withResource(value) } catch { throw UsageFailure("resource: \(error)") }
        guard let prepared = full.resource, !prepared.isEmpty else { throw UsageFailure("resource: must not be empty") }
        return prepared
    }

    /// `host:port` with the port the connection will use, or nil when SRV decides.
    static func server(of account: Account) -> String? {
        guard let host = account.host else { return nil }
        let port = account.port ?? (account.directTLS ? 5223 : 5222)
        return (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    static func stateName(_ state: Account.State) -> String {
        switch state {
        case .active: "active"
        case .loggedOut: "logged-out"
        case .deleted: "deleted"
        }
    }

    static func credentialName(_ credential: Credential?) -> String {
        switch credential?.kind {
        case .scram: "scram"
        case .password: "password"
        case nil: "none"
        }
    }

    /// One setting as `account show` prints it: a key, its JSON value, and its text.
    struct Shown {
        let key: String
        let json: Any
        let text: String

        var jsonKey: String { key.replacingOccurrences(of: "-", with: "_") }
    }

    static func shown(_ account: Account, isDefault: Bool, credential: Credential?) -> [Shown] {
        func optional(_ key: String, _ value: String?, none: String) -> Shown {
            Shown(key: key, json: value ?? NSNull(), text: value ?? none)
        }
        let credentialText: String
        switch credential?.kind {
        case .scram: credentialText = "SCRAM keys" + (credential?.mechanism.map { " (\($0))" } ?? "")
        case .password: credentialText = "remembered password"
        case nil: credentialText = "none (asked at the next login)"
        }
        return [
            Shown(key: "jid", json: account.jid, text: account.jid),
            Shown(key: "resource", json: account.resource, text: Sanitizer.inert(account.resource)),
            optional("host", account.host, none: "auto (SRV lookup)"),
            Shown(key: "port", json: account.port ?? NSNull(), text: account.port.map(String.init) ?? "auto"),
            Shown(key: "direct-tls", json: account.directTLS, text: String(account.directTLS)),
            optional("ca-file", account.caFile, none: "none (system CAs only)"),
            optional("pinned-spki", account.pinnedSPKI, none: "none"),
            Shown(key: "priority", json: account.priority, text: String(account.priority)),
            Shown(key: "default", json: isDefault, text: String(isDefault)),
            Shown(key: "state", json: stateName(account.state), text: stateName(account.state)),
            Shown(key: "credentials", json: credentialName(credential), text: credentialText),
            optional("download-dir", account.downloadDir, none: "default ($XDG_DOWNLOAD_DIR/tern, else ~/Downloads/tern)"),
            Shown(
                key: "download-limit", json: account.downloadLimitMB ?? NSNull(),
                text: account.downloadLimitMB.map { "\($0) MB" } ?? "default (512 MB)"),
            Shown(key: "allow-http-downloads", json: account.allowsHTTPDownloads, text: String(account.allowsHTTPDownloads)),
            optional("notify-command", account.notifyCommand.map(Sanitizer.inert), none: "none"),
            Shown(key: "desktop-notify", json: account.desktopNotify.rawValue, text: account.desktopNotify.rawValue),
        ]
    }

    /// The line `account set` prints: the setting's new value.
    static func describe(_ key: String, of account: Account, isDefault: Bool) throws -> String {
        switch try self.key(key) {
        case "server": return "server: " + (server(of: account) ?? "auto (SRV lookup)")
        case "host": return "host: " + (account.host ?? "auto (SRV lookup)")
        case "port": return "port: " + (account.port.map(String.init) ?? "auto")
        case "direct-tls": return "direct-tls: \(account.directTLS)"
        case "ca-file": return "ca-file: " + (account.caFile ?? "none")
        case "resource": return "resource: " + Sanitizer.inert(account.resource)
        case "priority": return "priority: \(account.priority)"
        case "download-dir": return "download-dir: " + (account.downloadDir.map(Sanitizer.inert) ?? "default")
        case "download-limit": return "download-limit: " + (account.downloadLimitMB.map { "\($0) MB" } ?? "default")
        case "allow-http-downloads": return "allow-http-downloads: \(account.allowsHTTPDownloads)"
        case "notify-command": return "notify-command: " + (account.notifyCommand.map(Sanitizer.inert) ?? "none")
        case "desktop-notify": return "desktop-notify: \(account.desktopNotify.rawValue)"
        default: return "default: \(isDefault)"
        }
    }
}
