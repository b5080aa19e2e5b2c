import ArgumentParser
import Foundation
import Store
import Sync

/// `tern join`, `tern leave`, `tern rooms` (CLI.md, Rooms): the Store records what the user
/// wants, and whichever process holds the connection makes the session match it.
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: CommandTable.summary(ofSubcommand: "join"),
        discussion: "Works offline: the room is joined on the next connection, and messages to it wait until then.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Option(help: "The nick to use (default: the account's local part, or the room's last nick).") var nick: String?
    @Option(help: ArgumentHelp("A file whose first line is the room's password.", valueName: "FILE")) var passwordFile: String?
    @Flag(help: "Print the room as JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let password = try passwordFile.map { try RoomCommandSupport.readPassword(file: $0) }
            var wanted = try RoomCommandSupport.want(
                store: context.store, account: account, room: room, nick: nick, password: password)
            if account.state == .active {
                wanted = try await settle(wanted, account: account, context: context)
            }
            if json { print(RoomRenderer.json(wanted)); return }
            switch wanted.state {
            case .joined: print("joined \(Sanitizer.inert(wanted.jid)) as \(Sanitizer.inert(wanted.currentNick))")
            case .failed, .gone:
                throw Failure("cannot join \(wanted.jid): \(wanted.lastError ?? "refused")")
            case .left, .joining:
                print("\(Sanitizer.inert(wanted.jid)) will be joined when connected"
                    + (wanted.lastError.map { " (\(Sanitizer.inert($0)))" } ?? ""))
            }
        }
    }

    /// Through `IntentRunner`: with no other owner, one sync pass, which joins the wanted rooms
    /// and waits for their answers; with one, its poll joins the room while we watch the Store.
    private func settle(_ room: Room, account: Account, context: AppContext) async throws -> Room {
        let store = context.store
        let (accountID, jid) = (account.rowID, room.jid)
        let outcome = try await IntentRunner(store: store, account: account).run(wait: SyncEngine.roomJoinWait) {
            guard let current = try store.room(accountID: accountID, jid: jid) else { return true }
            return current.state == .joined || current.state == .failed || current.state == .gone
        }
        let current = try store.room(accountID: accountID, jid: jid) ?? room
        guard let report = outcome.ownSession else { return current }
        if let error = report.error, !report.connected { Terminal.error("not connected: \(error)") }
        // syncOnce disconnects at the end, which leaves the room: the outcome is what it saw.
        return settledView(current, from: report)
    }

    private func settledView(_ room: Room, from report: SyncReport) -> Room {
        guard report.connected, room.state == .left, room.lastError == nil else { return room }
        var joined = room
        joined.state = .joined  // the pass joined it and left it again on disconnect
        return joined
    }
}

struct LeaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave", abstract: CommandTable.summary(ofSubcommand: "leave"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Flag(help: "Also delete the room's bookmark (on the server too).") var forget = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let left = try RoomCommandSupport.leave(store: context.store, account: account, room: room, forget: forget)
            print("left \(Sanitizer.inert(left.jid)); " + (forget ? "its bookmark is deleted" : "autojoin is off"))
        }
    }
}

struct RoomsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rooms", abstract: CommandTable.summary(ofSubcommand: "rooms"))

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON Lines.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            for room in try context.store.rooms(accountID: account.rowID) {
                print(json ? RoomRenderer.json(room) : RoomRenderer.line(room))
            }
            for invite in try context.store.invites(accountID: account.rowID, pendingOnly: true) {
                if json {
                    var object: [String: Any] = ["event": "invite", "room": invite.room, "kind": invite.kind.rawValue]
                    if let inviter = invite.inviter { object["from"] = inviter }
                    if let reason = invite.reason { object["reason"] = reason }
                    print(Renderer.json(object))
                } else {
                    print(RoomRenderer.inviteLine(invite))
                }
            }
        }
    }
}

/// `tern topic|nick|kick|ban|invite ROOM …` (CLI.md, Rooms): each stores a room action as an
/// intent, carried out once the room is joined, by a pass of our own or by the process that
/// owns the connection; `--queue-only` only stores it.
struct RoomActionOptions: ParsableArguments {
    @Flag(help: "Only queue it; never touch the network.") var queueOnly = false
    @Flag(help: "Print the outcome as JSON (the outbox item).") var json = false
}

struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic", abstract: CommandTable.summary(ofSubcommand: "topic"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Argument(help: "The new subject (words are joined with spaces).") var text: [String] = []
    @OptionGroup var options: RoomActionOptions

    func run() async throws {
        try await RoomCommandSupport.act(.setSubject(text.joined(separator: " ")), room: room, global, options)
    }
}

struct NickCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nick", abstract: CommandTable.summary(ofSubcommand: "nick"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Argument(help: "The new nick.") var nick: String
    @OptionGroup var options: RoomActionOptions

    func run() async throws {
        try await RoomCommandSupport.act(.changeNick(nick), room: room, global, options)
    }
}

struct KickCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kick", abstract: CommandTable.summary(ofSubcommand: "kick"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Argument(help: "The occupant's nick.") var nick: String
    @Option(help: "Why, shown to the occupant.") var reason: String?
    @OptionGroup var options: RoomActionOptions

    func run() async throws {
        try await RoomCommandSupport.act(.kick(nick: nick, reason: reason), room: room, global, options)
    }
}

struct BanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ban", abstract: CommandTable.summary(ofSubcommand: "ban"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Argument(help: "The bare JID to ban.") var jid: String
    @Option(help: "Why, shown to the occupant.") var reason: String?
    @OptionGroup var options: RoomActionOptions

    func run() async throws {
        try await RoomCommandSupport.act(.ban(jid: jid, reason: reason), room: room, global, options)
    }
}

struct InviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: CommandTable.summary(ofSubcommand: "invite"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Argument(help: "The invitee's bare JID.") var jid: String
    @Option(help: "A line for the invitee.") var reason: String?
    @OptionGroup var options: RoomActionOptions

    func run() async throws {
        try await RoomCommandSupport.act(.invite(jid: jid, reason: reason), room: room, global, options)
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: CommandTable.summary(ofSubcommand: "config"),
        discussion: """
            FIELD is the form's variable or its short name: roomname, roomdesc, persistentroom, publicroom, \
            membersonly, moderatedroom, passwordprotectedroom, roomsecret, maxusers, whois, … A yes/no \
            setting takes yes or no; a list takes one of its options; a multi-valued one comma-separated items.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The room, ROOM@SERVICE.") var room: String
    @Argument(help: "The setting.") var field: String
    @Argument(help: "Its new value (words are joined with spaces).") var value: [String] = []
    @OptionGroup var options: RoomActionOptions

    func run() async throws {
        try await RoomCommandSupport.act(.configure(field: field, value: value.joined(separator: " ")), room: room, global, options)
    }
}

extension RoomCommandSupport {
    /// How long a room action waits for the owner's outcome: a nick change waits for the
    /// room's answer (`RoomFeature.joinTimeout`), a kick for the room's IQ result.
    static let actionWait: Duration = .seconds(20)

    /// Stores the action, gets it carried out unless `--queue-only`, and prints
    /// `ID KIND STATE` (or the outbox item as JSON). A refusal exits 1.
    static func act(_ action: RoomAction, room: String, _ global: GlobalOptions, _ options: RoomActionOptions) async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let stored: Intent
            do {
                stored = try RoomActions.enqueue(action, room: room, store: context.store, account: account)
            } catch let error as SyncError {
                if case .notInRoom(let jid) = error { throw Failure("\(jid) is not a room you joined: `tern join \(jid)` first") }
                throw UsageFailure(error.description)
            }
            var intent = stored
            if !options.queueOnly, let id = stored.id {
                let (row, outcome) = try await IntentRunner(store: context.store, account: account).run(intent: id, wait: actionWait)
                intent = row ?? stored
                if !outcome.settled, let note = outcome.note { Terminal.error("queued: \(note)") }
            }
            print(options.json ? Renderer.intentJSON(intent) : "\(Store.outboxID(of: intent)) \(intent.kind.rawValue) \(intent.state.rawValue)")
            if intent.state == .failed { throw Failure(intent.error ?? "refused") }
        }
    }
}
