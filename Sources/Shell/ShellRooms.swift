import Foundation
import Store
import Sync
import XMPP

/// The shell's group-chat commands (XEP-0045): `/join`, `/leave`, `/rooms`, `/who`, `/topic`,
/// `/nick`, `/kick`, `/ban`, `/invite`, `/invites`.
///
/// Joining and leaving only write the Store, like `tern join`: the engine (this shell's or
/// another process's) makes the session match. The room actions are intents too: stored at
/// once (offline as well), carried out by whichever process owns the connection once the
/// room is joined; the outcome prints above the prompt when it is known.
extension InteractiveShell {
    /// `/join [ROOM] [NICK] [--password-file F]`; without ROOM, the newest pending invitation.
    func joinRoom(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        var words = arguments
        var password: String?
        if let flag = words.firstIndex(of: "--password-file") {
            guard flag + 1 < words.count else { throw Failure("usage: /join ROOM [NICK] [--password-file FILE]") }
            password = try RoomCommandSupport.readPassword(file: words[flag + 1])
            words.removeSubrange(flag...(flag + 1))
        }
        let target: String
        if let first = words.first {
            target = first
        } else if let invite = try context.store.invites(accountID: account.rowID, pendingOnly: true).first {
            target = invite.room
            password = password ?? invite.password
        } else {
            throw Failure("usage: /join ROOM [NICK] (no pending invitation to accept)")
        }
        let room = try RoomCommandSupport.want(
            store: context.store, account: account, room: target, nick: words.dropFirst().first, password: password)
        enterConversation(room.jid)
        say("-- joining \(Sanitizer.inert(room.jid)) as \(Sanitizer.inert(room.nick))" + (hasLiveSession ? "" : " when connected"))
        pokeEngine()
    }

    func leaveRoom(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        guard let jid = arguments.first ?? currentRoom()?.jid else { throw Failure("which room? /leave ROOM") }
        let room = try RoomCommandSupport.leave(store: context.store, account: account, room: jid)
        say("-- leaving \(Sanitizer.inert(room.jid)); autojoin is off")
        pokeEngine()
    }

    /// `/decline ROOM`: the room's pending invitations are turned down (nothing is sent).
    func declineInvites(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        let jid = try RoomCommandSupport.roomJID(arguments[0])
        let pending = try context.store.invites(accountID: account.rowID, pendingOnly: true).filter { $0.room == jid }
        guard !pending.isEmpty else { throw Failure("no pending invitation to \(jid)") }
        for invite in pending { if let id = invite.id { try context.store.declineInvite(accountID: account.rowID, id: id) } }
        say("-- declined the invitation to \(Sanitizer.inert(jid))")
    }

    func showRooms() throws {
        let account = try requireCurrentAccount()
        let rooms = try context.store.rooms(accountID: account.rowID)
        if rooms.isEmpty { say("no rooms: /join ROOM@SERVICE") }
        for room in rooms { say(RoomRenderer.line(room)) }
        for invite in try context.store.invites(accountID: account.rowID, pendingOnly: true) {
            say(RoomRenderer.inviteLine(invite))
        }
    }

    /// `/who [ROOM]`: occupants with role and affiliation, as the room last told us.
    func who(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        guard let room = try arguments.first.map({ try RoomCommandSupport.room(store: context.store, account: account, $0) })
            ?? currentRoom()
        else { throw Failure("which room? /who ROOM") }
        let occupants = try context.store.occupants(accountID: account.rowID, room: room.jid)
        if occupants.isEmpty { say("nobody in \(Sanitizer.inert(room.jid)) (we are \(room.state.rawValue))") }
        for occupant in occupants { say(RoomRenderer.occupantLine(occupant)) }
    }

    /// `/topic` shows the subject; `/topic TEXT` asks the room to change it.
    func topic(_ raw: String) async throws {
        guard let room = currentRoom() else { throw Failure("/topic works in a room: /chat ROOM first") }
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            say("topic of \(Sanitizer.inert(room.jid)): " + (room.subject.map(Sanitizer.inert) ?? "(none)")
                + (room.subjectBy.map { " (set by \(Sanitizer.inert($0)))" } ?? ""))
            return
        }
        try await act(.setSubject(text), in: room)
    }

    func configure(_ field: String, value: String) async throws {
        guard let room = currentRoom() else { throw Failure("/config works in a room: /chat ROOM first") }
        try await act(.configure(field: field, value: value), in: room)
    }

    func changeNick(_ arguments: [String]) async throws {
        guard let room = currentRoom() else { throw Failure("/nick works in a room: /chat ROOM first") }
        try await act(.changeNick(arguments[0]), in: room)
    }

    func moderate(_ kick: Bool, _ arguments: [String], raw: String) async throws {
        guard let room = currentRoom() else { throw Failure("/\(kick ? "kick" : "ban") works in a room: /chat ROOM first") }
        let reason = CommandTable.afterFirstWord(raw)
        let action: RoomAction = kick
            ? .kick(nick: arguments[0], reason: reason.isEmpty ? nil : reason)
            : .ban(jid: arguments[0], reason: reason.isEmpty ? nil : reason)
        try await act(action, in: room)
    }

    func invite(_ arguments: [String], raw: String) async throws {
        guard let room = currentRoom() else { throw Failure("/invite works in a room: /chat ROOM first") }
        let reason = CommandTable.afterFirstWord(raw)
        try await act(.invite(jid: arguments[0], reason: reason.isEmpty ? nil : reason), in: room)
    }

    /// Stores the action and says so; the outcome follows as its own line (`followIntent`).
    private func act(_ action: RoomAction, in room: Room) async throws {
        let account = try requireCurrentAccount()
        let intent: Intent
        do {
            intent = try RoomActions.enqueue(action, room: room.jid, store: context.store, account: account)
        } catch let error as SyncError {
            throw Failure(error.description)
        }
        say("-- \(Store.outboxID(of: intent)) \(intent.kind.rawValue) queued"
            + (room.state == .joined && hasLiveSession ? "" : ": carried out once \(Sanitizer.inert(room.jid)) is joined"))
        followIntent(intent, account: account)
    }
    /// The room the current conversation is, if it is one (a private chat with an occupant is not).
    func currentRoom() -> Room? {
        guard let account = try? requireCurrentAccount(), let conversation = currentConversation,
            !conversation.contains("/")
        else { return nil }
        return (try? context.store.room(accountID: account.rowID, jid: conversation)) ?? nil
    }
}

/// The parts of `join`/`leave` the subcommands and the shell share.
enum RoomCommandSupport {
    static func room(store: Store, account: Account, _ text: String) throws -> Room {
        let jid = try roomJID(text)
        guard let room = try store.room(accountID: account.rowID, jid: jid) else {
            throw Failure("\(jid) is not a room you joined: join it first")
        }
        return room
    }

    static func roomJID(_ text: String) throws -> String {
        let jid: JID
        do { jid = try JID(text) } catch { throw UsageFailure("\(error)") }
        guard jid.local != nil, jid.resource == nil else {
            throw UsageFailure("\(text) is not a room address: use ROOM@SERVICE")
        }
        return jid.description
    }

    /// Marks the room wanted (joined by the engine, bookmarked with autojoin).
    static func want(store: Store, account: Account, room text: String, nick: String?, password: String?) throws -> Room {
        let jid = try roomJID(text)
        let known = try store.room(accountID: account.rowID, jid: jid)
        let chosen = nick ?? known?.nick ?? defaultNick(account)
        guard JID(validating: "\(jid)/\(chosen)") != nil else { throw UsageFailure("not a valid nick: \(chosen)") }
        return try store.wantRoom(accountID: account.rowID, jid: jid, nick: chosen, password: password, autojoin: true)
    }

    static func leave(store: Store, account: Account, room text: String, forget: Bool = false) throws -> Room {
        let jid = try roomJID(text)
        guard let room = try store.leaveRoom(accountID: account.rowID, jid: jid, forget: forget) else {
            throw Failure("\(jid) is not a room you joined")
        }
        return room
    }

    /// The account's local part: what people see unless a nick is given.
    static func defaultNick(_ account: Account) -> String {
        (try? JID(account.jid))?.local ?? "tern"
    }

    /// A room password from a file (never from the command line, CLI.md): its first line.
    static func readPassword(file: String) throws -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw UsageFailure("cannot read the password file \(file)")
        }
        let password = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !password.isEmpty else { throw UsageFailure("the password file \(file) is empty") }
        return password
    }
}

/// Rooms, occupants, invitations and room events as terminal lines and JSON.
enum RoomRenderer {
    static func line(_ room: Room) -> String {
        var line = "\(Sanitizer.inert(room.jid))  \(room.state.rawValue)  as \(Sanitizer.inert(room.currentNick))"
        if room.autojoin { line += "  autojoin" }
        if let error = room.lastError, room.state != .joined { line += "  [\(Sanitizer.inert(error))]" }
        if let subject = room.subject { line += "  — \(Sanitizer.inert(subject))" }
        return line
    }

    static func json(_ room: Room) -> String {
        var object: [String: Any] = [
            "jid": room.jid, "nick": room.currentNick, "state": room.state.rawValue, "autojoin": room.autojoin,
            "bookmarked": room.bookmarked,
        ]
        if let name = room.name { object["name"] = name }
        if let subject = room.subject { object["subject"] = subject }
        if let error = room.lastError { object["error"] = error }
        return Renderer.json(object)
    }

    static func occupantLine(_ occupant: Occupant) -> String {
        var line = "\(Sanitizer.inert(occupant.nick))\(occupant.isSelf ? " (you)" : "")  \(occupant.role ?? "none")/\(occupant.affiliation ?? "none")"
        if let jid = occupant.realJID { line += "  \(Sanitizer.inert(jid))" }
        if let show = occupant.show { line += "  \(Sanitizer.inert(show))" }
        if let status = occupant.status { line += ": \(Sanitizer.inert(status))" }
        return line
    }

    /// A stored invitation, as the event that announced it was shown.
    static func inviteLine(_ invite: RoomInvite) -> String {
        event(RoomEvent(kind: .invite, room: invite.room, inviter: invite.inviter, text: invite.reason), json: false)
    }

    /// One room event as a line (`--` prefixed, like other events) or as a JSON event.
    static func event(_ event: RoomEvent, json: Bool) -> String {
        if json {
            var object: [String: Any] = ["event": event.kind.rawValue, "room": event.room]
            if let nick = event.nick { object["nick"] = nick }
            if let inviter = event.inviter { object["from"] = inviter }
            if let text = event.text { object[event.kind == .subject ? "subject" : "detail"] = text }
            return Renderer.json(object)
        }
        let room = Sanitizer.inert(event.room)
        let nick = event.nick.map(Sanitizer.inert) ?? ""
        let text = event.text.map(Sanitizer.inert)
        switch event.kind {
        case .joined: return "-- joined \(room) as \(nick)" + (text.map { " (\($0))" } ?? "")
        case .left: return "-- left \(room)" + (text.map { ": \($0)" } ?? "")
        case .failed: return "-- cannot join \(room): \(text ?? "refused")"
        case .nickRetry: return "-- \(room): \(text ?? "nick taken"), trying \(nick)"
        case .occupant: return "-- \(room): \(nick) \(text ?? "")"
        case .subject: return "-- \(room) topic: \(text.flatMap { $0.isEmpty ? nil : $0 } ?? "(cleared)")" + (nick.isEmpty ? "" : " (by \(nick))")
        case .invite:
            return "-- invitation to \(room)" + (event.inviter.map { " from \(Sanitizer.inert($0))" } ?? "")
                + (text.map { ": \($0)" } ?? "") + " — /join \(room) to accept"
        }
    }
}
