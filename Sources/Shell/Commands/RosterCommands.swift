/// RFC 6121 §2–4 on the command line (CLI.md, contacts and presence): `tern roster`, `add`,
/// `edit`, `remove`, `accept`, `deny` and `status`.
///
/// Each writes an intent to the Store first, so all of them work offline; `IntentRunner` gets
/// it carried out (a pass of our own, or the owner process) and we print the outcome.
import ArgumentParser
import Foundation
import Store
import Sync

struct RosterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roster",
        abstract: CommandTable.summary(ofSubcommand: "roster"))

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON Lines, one roster item per line.") var json = false
    @Flag(help: "Only what awaits an answer: incoming subscription requests, then contacts with pending edits.")
    var pending = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            for line in try Self.lines(store: context.store, account: account, json: json, pending: pending, colour: Terminal.isInteractive) {
                print(line)
            }
        }
    }

    static func lines(store: Store, account: Account, json: Bool, pending: Bool, colour: Bool) throws -> [String] {
        var entries = try store.rosterEntries(accountID: account.rowID)
        var out: [String] = []
        if pending {
            let requests = try store.subscriptionRequests(accountID: account.rowID)
            out += requests.map { json ? RosterRenderer.requestJSON($0) : RosterRenderer.requestLine($0) }
            entries = entries.filter { $0.pending != nil || $0.ask }
        }
        if json {
            out += entries.map(RosterRenderer.json)
        } else {
            out += RosterRenderer.lines(entries, colour: colour && !json)
        }
        return out
    }
}

struct AddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: CommandTable.summary(ofSubcommand: "add"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contact's bare JID.") var jid: String
    @Option(help: "A display name.") var name: String?
    @Option(help: "A roster group (repeat for several).") var group: [String] = []

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let intent = try ContactCommandSupport.store {
                try ContactIntents.add(store: context.store, account: account, jid: jid, name: name, groups: group)
            }
            try await ContactCommandSupport.settle(intent, account: account, context: context)
        }
    }
}

struct EditContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Rename a contact or change its groups (queued while offline).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contact's bare JID.") var jid: String
    @Option(help: "The new display name.") var name: String?
    @Option(help: "The groups it should be in (repeat for several); replaces the current ones.") var group: [String] = []
    @Flag(help: "Take it out of every group.") var noGroups = false

    func run() async throws {
        try await runReportingErrors {
            guard name != nil || !group.isEmpty || noGroups else { throw UsageFailure("nothing to change: give --name, --group or --no-groups") }
            let context = try AppContext(global)
            let account = try context.account()
            let groups: [String]? = noGroups ? [] : (group.isEmpty ? nil : group)
            let intent = try ContactCommandSupport.store {
                try ContactIntents.update(store: context.store, account: account, jid: jid, name: name, groups: groups)
            }
            try await ContactCommandSupport.settle(intent, account: account, context: context)
        }
    }
}

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: CommandTable.summary(ofSubcommand: "remove"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contact's bare JID.") var jid: String

    func run() async throws {
        try await ContactCommandSupport.simple(.remove, global, jid)
    }
}

struct AcceptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept", abstract: CommandTable.summary(ofSubcommand: "accept"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contact's bare JID.") var jid: String

    func run() async throws {
        try await ContactCommandSupport.simple(.accept, global, jid)
    }
}

struct DenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deny", abstract: CommandTable.summary(ofSubcommand: "deny"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contact's bare JID.") var jid: String

    func run() async throws {
        try await ContactCommandSupport.simple(.deny, global, jid)
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: CommandTable.summary(ofSubcommand: "status"),
        discussion: "Without arguments, prints the stored presence. A first word that is not a show keeps the show and sets the message.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "online, chat, away, xa or dnd, then the status message.") var words: [String] = []
    @Option(help: ArgumentHelp("The shell marks you away after this many idle minutes (0: never).", valueName: "MINUTES"))
    var autoAway: Int?
    @Flag(help: "Print the stored presence as JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            if let autoAway {
                guard autoAway >= 0 else { throw UsageFailure("--auto-away must be 0 or more minutes") }
                try context.store.setAutoAway(accountID: account.rowID, minutes: autoAway)
            }
            var own = try context.store.ownPresence(accountID: account.rowID)
            if !words.isEmpty {
                let (show, message) = ContactCommandSupport.parseStatus(words, current: own)
                own = try ContactIntents.setStatus(store: context.store, account: account, show: show, status: message)
            }
            if json {
                print(Renderer.json([
                    "show": own.show ?? "online", "status": own.status ?? NSNull(), "auto_away_minutes": own.autoAwayMinutes,
                ]))
            } else {
                print((own.show ?? "online") + (own.status.map { ": \(Sanitizer.inert($0))" } ?? ""))
            }
        }
    }
}

enum ContactCommandSupport {
    /// Maps the Sync layer's argument errors to exit status 64.
    static func store(_ body: () throws -> Intent) throws -> Intent {
        do { return try body() } catch let error as SyncError { throw UsageFailure(error.description) }
    }

    static func simple(_ action: RosterAction, _ global: GlobalOptions, _ jid: String) async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let intent = try store {
                try ContactIntents.simple(action, store: context.store, account: account, jid: jid)
            }
            try await settle(intent, account: account, context: context)
        }
    }

    /// "away back soon" → (away, "back soon"); "back soon" → (the current show, "back soon").
    static func parseStatus(_ words: [String], current: OwnPresence) -> (show: String?, message: String?) {
        guard let first = words.first else { return (current.show, current.status) }
        if ContactIntents.showWords.contains(first.lowercased()) {
            let rest = words.dropFirst().joined(separator: " ")
            return (first.lowercased(), rest.isEmpty ? nil : rest)
        }
        return (current.show, words.joined(separator: " "))
    }

    /// Executes the intent now if we can, and prints `JID ACTION STATE` (like `send` prints its state).
    static func settle(_ intent: Intent, account: Account, context: AppContext) async throws {
        let action = intent.rosterAction?.rawValue ?? intent.kind.rawValue
        var row = intent
        if account.state == .active, let id = intent.id {
            let (stored, outcome) = try await IntentRunner(store: context.store, account: account).run(intent: id, wait: .seconds(5))
            row = stored ?? row
            if let failure = outcome.ownSession?.error { Terminal.error("queued; not sent now: \(failure)") }
        }
        print("\(Sanitizer.inert(intent.target)) \(action) \(ContactCommandSupport.word(row.state))")
        if row.state == .failed {
            throw Failure("the server refused to \(action) \(intent.target): \(row.error ?? "error")")
        }
    }

    /// The roster's words for an intent's state, as `tern add` always printed them.
    static func word(_ state: Intent.State) -> String {
        switch state {
        case .queued, .sent: "pending"
        case .done, .failed, .cancelled: state.rawValue
        }
    }
}
