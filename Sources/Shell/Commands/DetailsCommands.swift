/// Contact details and blocking on the command line (CLI.md, contacts): `tern info`, `tern vcard`,
/// `tern block`, `tern unblock`, `tern blocked`, `tern sharing` — XEP-0054/0292, 0092, 0012, 0115, 0191.
///
/// Everything prints from the Store. A command that needs the network stores an intent and
/// `IntentRunner` gets it carried out: a session of our own when no process owns the account,
/// else the owner, within a poll interval, while we watch the Store for the outcome.
import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: CommandTable.summary(ofSubcommand: "info"),
        discussion: "Fetched fresh when the account can connect; otherwise the cached details with their age.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contact's JID (a full JID also asks that resource), or a roster name.", completion: CompletionKinds.storedJIDs)
    var jid: String
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Only what is cached; never touch the network.") var cached = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let target = try DetailsFlows.parse(ContactNames.argument(jid, store: context.store, accountID: account.rowID))
            let note = cached ? "cached" : try await DetailsFlows.refresh(target, account: account, context: context, engine: nil)
            let details = try context.store.contactDetails(accountID: account.rowID, jid: target.bare.description)
            for line in DetailsFlows.render(details, note: note, json: json) { print(line) }
        }
    }
}

struct VCardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcard", abstract: "Show or edit your own vCard (XEP-0054).",
        subcommands: [VCardSetCommand.self, VCardShowCommand.self])

    @OptionGroup var global: GlobalOptions
}

struct VCardSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set one field of your vCard; an empty VALUE removes it. Queued while offline.",
        discussion: "Fields: " + VCard.Field.allCases.map(\.rawValue).joined(separator: ", "))

    @ParentCommand var group: VCardCommand
    @Argument(help: "The field (fn, nickname, email, url, note, …).") var field: String
    @Argument(help: "The new value (words are joined with spaces).") var value: [String] = []
    @Flag(help: "Only queue it; never touch the network.") var queueOnly = false

    func run() async throws {
        try await runReportingErrors {
            guard let field = VCard.Field(rawValue: field.lowercased()) else {
                throw UsageFailure("unknown vCard field \(field): use one of " + VCard.Field.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let context = try AppContext(group.global)
            let account = try context.account()
            let text = value.joined(separator: " ")
            let stored = try ContactIntents.setVCard(store: context.store, account: account, field: field, value: text)
            guard let id = stored.id, !queueOnly else { print("queued: \(field.rawValue) is set on the next connection"); return }
            let (intent, outcome) = try await IntentRunner(store: context.store, account: account).run(intent: id, wait: .seconds(20))
            switch intent?.state {
            case .done?: print(text.isEmpty ? "\(field.rawValue) removed" : "\(field.rawValue): \(Sanitizer.inert(text))")
            case .failed?: throw Failure("the server refused the vCard: \(intent?.error ?? "error")")
            default: print("queued: \(field.rawValue) is set when connected" + (outcome.note.map { " (\(Sanitizer.inert($0)))" } ?? ""))
            }
        }
    }
}

struct VCardShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show your own vCard (fetched when possible).")

    @ParentCommand var group: VCardCommand
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(group.global)
            let account = try context.account()
            let me = try DetailsFlows.parse(account.jid)
            let note = try await DetailsFlows.refresh(me, account: account, context: context, engine: nil)
            let details = try context.store.contactDetails(accountID: account.rowID, jid: me.description)
            if json {
                print(Renderer.json(["jid": me.description, "vcard": details.vcard ?? [:]]))
            } else {
                if let note { print("(\(note))") }
                for line in DetailsFlows.vcardLines(details.vcard ?? [:]) { print(line) }
            }
        }
    }
}

struct BlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block", abstract: CommandTable.summary(ofSubcommand: "block"),
        discussion: "Applied now when possible; otherwise queued and applied on the next connection.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The JID to block.") var jid: String

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            print(try await DetailsFlows.changeBlock(.block, jid, account: try context.account(), context: context, engine: nil))
        }
    }
}

struct UnblockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unblock", abstract: CommandTable.summary(ofSubcommand: "unblock"),
        discussion: "Applied now when possible; otherwise queued and applied on the next connection.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The JID to unblock.") var jid: String

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            print(try await DetailsFlows.changeBlock(.unblock, jid, account: try context.account(), context: context, engine: nil))
        }
    }
}

struct BlockedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocked", abstract: CommandTable.summary(ofSubcommand: "blocked"))

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON Lines.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            for line in try DetailsFlows.blockedLines(try context.account(), context.store, json: json) { print(line) }
        }
    }
}

struct SharingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sharing",
        abstract: "Show or set what tern tells others: `version` (XEP-0092) and `idle` (XEP-0012), on or off.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "version or idle.") var key: String?
    @Argument(help: "on or off.") var value: String?

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            var sharing = try context.store.sharing(accountID: account.rowID)
            if let key {
                guard let value, let on = ["on": true, "off": false, "true": true, "false": false][value.lowercased()] else {
                    throw UsageFailure("usage: tern sharing version|idle on|off")
                }
                switch key {
                case "version": sharing.version = on
                case "idle": sharing.idle = on
                default: throw UsageFailure("unknown key \(key): use version or idle")
                }
                try context.store.setSharing(accountID: account.rowID, sharing)
            }
            print("version: \(sharing.version ? "on" : "off")")
            print("idle: \(sharing.idle ? "on" : "off")")
        }
    }
}

/// What the subcommands and the shell's `/info`, `/block`, `/unblock`, `/blocked` share.
enum DetailsFlows {
    static func parse(_ text: String) throws -> JID {
        do { return try JID(text) } catch { throw UsageFailure("\(error)") }
    }

    /// Runs `body` on a session of our own when no process owns the account; nil when one does.
    static func withOwnSession<T: Sendable>(
        account: Account, context: AppContext, _ body: @escaping @Sendable (SyncEngine) async throws -> T
    ) async throws -> T? {
        guard account.state == .active else { throw Failure("\(account.jid) is logged out: `tern login \(account.jid)` connects it again") }
        guard let lock = try context.lock(account) else { return nil }
        defer { withExtendedLifetime(lock) {} }
        let engine = SyncEngine(store: context.store, account: account)
        do {
            return try await engine.withSession(body)
        } catch {
            throw SyncFailure.explaining(error, account: account.jid)
        }
    }

    /// Fetches fresh details where possible. Returns a note for the output when what is shown is
    /// not fresh ("cached: offline", …), nil when it is.
    /// `mayConnect` false (a shell that chose to stay offline): never start a session of our own.
    static func refresh(
        _ jid: JID, account: Account, context: AppContext, engine: SyncEngine?, mayConnect: Bool = true
    ) async throws -> String? {
        if let engine {
            guard await engine.isOnline else { return "cached: offline" }
            try await engine.refreshDetails(of: jid)
            return nil
        }
        guard mayConnect else { return "cached: offline" }
        guard account.state == .active else { return "cached: \(account.jid) is logged out" }
        let intent = try context.store.addDetailsIntent(accountID: account.rowID, .detailsRefresh, jid: jid.description)
        let (_, outcome) = try await IntentRunner(store: context.store, account: account).run(intent: intent.id ?? 0, wait: .seconds(20))
        guard !outcome.settled else { return nil }
        // Our own pass could not connect: the cached details were shown, no refresh is owed later.
        // (An owner that is merely slow still does it.)
        if outcome.ownSession != nil { _ = try? context.store.cancelIntent(intent) }
        return "cached: " + (outcome.note ?? "offline")
    }

    /// Stores a block or unblock intent and gets it carried out; returns the line to print.
    static func changeBlock(
        _ kind: Intent.Kind, _ text: String, account: Account, context: AppContext, engine: SyncEngine?,
        mayConnect: Bool = true
    ) async throws -> String {
        let jid = try parse(text)
        let key = jid.description
        let id = try context.store.addDetailsIntent(accountID: account.rowID, kind, jid: key).id ?? 0
        let verb = kind == .block ? "blocked" : "unblocked"
        let (intent, _) = try await IntentRunner(store: context.store, account: account)
            .run(intent: id, engine: engine, mayConnect: mayConnect && account.state == .active, wait: .seconds(5))
        switch intent?.state {
        case .done?: return "\(verb) \(Sanitizer.inert(key))"
        case .failed?: throw Failure("the server refused to change the blocklist for \(key): \(intent?.error ?? "error")")
        default: return "queued: \(Sanitizer.inert(key)) will be \(verb) on the next connection"
        }
    }

    static func blockedLines(_ account: Account, _ store: Store, json: Bool) throws -> [String] {
        let (jids, fetchedAt) = try store.blocklist(accountID: account.rowID)
        let pending = try store.pendingBlockIntents(accountID: account.rowID)
        if json {
            return jids.map { Renderer.json(["jid": $0]) }
                + pending.map { Renderer.json(["jid": $0.target, "pending": $0.kind.rawValue]) }
        }
        var lines = jids.map { Sanitizer.inert($0) }
        lines += pending.map { "\(Sanitizer.inert($0.target)) (pending \($0.kind.rawValue))" }
        if lines.isEmpty { lines.append("nobody is blocked") }
        lines.append(fetchedAt.map { "(blocklist as of \(age($0)))" } ?? "(never fetched: connect once to fetch the server's blocklist)")
        return lines
    }

    // MARK: - Rendering

    static func age(_ time: Double, now: Double = Store.now) -> String {
        let seconds = max(0, Int(now - time))
        return seconds < 5 ? "just now" : duration(seconds) + " ago"
    }

    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<5: "just now"
        case ..<60: "\(seconds) s"
        case ..<3600: "\(seconds / 60) min"
        case ..<86400: "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        default: "\(seconds / 86400) d"
        }
    }

    static func vcardLines(_ fields: [String: String]) -> [String] {
        let present = VCard.Field.allCases.compactMap { field in fields[field.rawValue].map { (field.label, $0) } }
        guard !present.isEmpty else { return ["  (no vCard)"] }
        let width = present.map(\.0.count).max() ?? 0
        return present.map { "  " + ($0.0 + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0) + Sanitizer.inert($0.1) }
    }

    static func render(_ details: Store.ContactDetails, note: String?, json: Bool) -> [String] {
        if json { return [Renderer.json(jsonObject(details, note: note))] }
        var lines: [String] = []
        var header = Sanitizer.inert(details.jid)
        if let note {
            header += " (\(Sanitizer.inert(note))" + (details.fetchedAt.map { ", fetched \(age($0))" } ?? ", never fetched") + ")"
        }
        lines.append(header)
        if let vcard = details.vcard {
            lines += vcardLines(vcard)
        } else {
            lines.append("  (vCard not fetched yet)")
        }
        if details.inRoster {
            var roster = "  roster: subscription \(details.subscription ?? "none")"
            if details.ask { roster += ", asked" }
            if let name = details.name { roster += ", name \(Sanitizer.inert(name))" }
            if !details.groups.isEmpty { roster += ", groups " + details.groups.map(Sanitizer.inert).joined(separator: ", ") }
            lines.append(roster)
        } else {
            lines.append("  roster: not a contact")
        }
        if !details.pendingIntents.isEmpty { lines.append("  pending: " + details.pendingIntents.joined(separator: ", ")) }
        if details.blocked { lines.append("  blocked") }
        if details.resources.isEmpty {
            lines.append("  resources: none known")
        } else {
            lines.append("  resources:")
            for r in details.resources { lines.append("    " + resourceLine(r)) }
        }
        if let seconds = details.lastActivitySeconds {
            var line = "  last seen: \(duration(seconds)) before \(details.lastActivityFetchedAt.map { age($0) } ?? "?")"
            if let status = details.lastActivityStatus { line += " (\(Sanitizer.inert(status)))" }
            lines.append(line)
        }
        return lines
    }

    static func resourceLine(_ r: Store.ContactDetails.Resource) -> String {
        var parts = [Renderer.sender(r.resource.isEmpty ? "(bare)" : r.resource)]
        switch r.available {
        case true?: parts.append(r.show ?? "available")
        case false?: parts.append("offline")
        case nil: break
        }
        if let status = r.status, !status.isEmpty { parts.append("\"\(Sanitizer.inert(status))\"") }
        if let name = r.clientName {
            var client = Sanitizer.inert(name)
            if let version = r.clientVersion, !version.isEmpty { client += " " + Sanitizer.inert(version) }
            if let os = r.clientOS { client += " (\(Sanitizer.inert(os)))" }
            parts.append(client)
        }
        if let idle = r.idleSeconds { parts.append(idle < 60 ? "active" : "idle \(duration(idle))") }
        if let features = r.features { parts.append("\(features.count) features") }
        if let error = r.error { parts.append("not answering: \(Sanitizer.inert(error))") }
        if let at = r.fetchedAt { parts.append("fetched \(age(at))") }
        return parts.joined(separator: " · ")
    }

    static func jsonObject(_ d: Store.ContactDetails, note: String?) -> [String: Any] {
        var object: [String: Any] = ["jid": d.jid, "cached": note != nil, "blocked": d.blocked]
        if let note { object["note"] = note }
        if let vcard = d.vcard { object["vcard"] = vcard }
        if let source = d.vcardSource { object["vcard_source"] = source }
        if let at = d.vcardFetchedAt { object["vcard_fetched_at"] = Renderer.isoTimestamp(at) }
        if let at = d.fetchedAt { object["fetched_at"] = Renderer.isoTimestamp(at) }
        if d.inRoster {
            var roster: [String: Any] = ["subscription": d.subscription ?? "none", "ask": d.ask, "groups": d.groups]
            if let name = d.name { roster["name"] = name }
            object["roster"] = roster
        }
        object["pending"] = d.pendingIntents
        object["resources"] = d.resources.map { r -> [String: Any] in
            var entry: [String: Any] = ["resource": r.resource]
            if let available = r.available { entry["available"] = available }
            if let show = r.show { entry["show"] = show }
            if let status = r.status { entry["status"] = status }
            if let priority = r.priority { entry["priority"] = priority }
            if let name = r.clientName {
                var client: [String: Any] = ["name": name, "version": r.clientVersion ?? ""]
                if let os = r.clientOS { client["os"] = os }
                entry["client"] = client
            }
            if let idle = r.idleSeconds { entry["idle_seconds"] = idle }
            if let ver = r.capsVer { entry["caps_ver"] = ver }
            if let features = r.features { entry["features"] = features }
            if let error = r.error { entry["error"] = error }
            if let at = r.fetchedAt { entry["fetched_at"] = Renderer.isoTimestamp(at) }
            return entry
        }
        if let seconds = d.lastActivitySeconds {
            var last: [String: Any] = ["seconds": seconds]
            if let status = d.lastActivityStatus { last["status"] = status }
            if let at = d.lastActivityFetchedAt { last["fetched_at"] = Renderer.isoTimestamp(at) }
            object["last_activity"] = last
        }
        return object
    }
}
