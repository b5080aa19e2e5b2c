import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

/// `tern join`, `tern leave`, `tern rooms` (CLI.md, Rooms): the Store records what the user
/// wants, and whichever process holds the connection makes the session match it.
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join a room (creating it if it is new) and bookmark it with autojoin.",
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

    /// With no other owner: one sync pass, which joins the wanted rooms and waits for their
    /// answers. With one: its poll joins the room; wait a little for the outcome.
    private func settle(_ room: Room, account: Account, context: AppContext) async throws -> Room {
        if let lock = try context.lock(account) {
            let report = await SyncEngine(store: context.store, account: account).syncOnce()
            withExtendedLifetime(lock) {}
            if let error = report.error, !report.connected { Terminal.error("not connected: \(error)") }
            // syncOnce disconnects at the end, which leaves the room: the outcome is what it saw.
            return try context.store.room(accountID: account.rowID, jid: room.jid).map { settledView($0, from: report) } ?? room
        }
        let deadline = ContinuousClock.now + SyncEngine.roomJoinWait
        while ContinuousClock.now < deadline {
            if let current = try context.store.room(accountID: account.rowID, jid: room.jid),
                current.state == .joined || current.state == .failed || current.state == .gone
            {
                return current
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try context.store.room(accountID: account.rowID, jid: room.jid) ?? room
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
        commandName: "leave", abstract: "Leave a room and turn its bookmark's autojoin off.")

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
        commandName: "rooms", abstract: "List rooms (state, nick, autojoin, subject) and pending invitations.")

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
