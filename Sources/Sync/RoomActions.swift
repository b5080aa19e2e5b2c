import Foundation
import Store
import XMPP

/// What a user asks of a room: XEP-0045 §8.1 (subject), §7.6 (nick), §8.2 (kick), §9.1 (ban),
/// and XEP-0249 direct invitations. Each is stored as an `Intent` first, so it can be typed
/// offline or beside another owning process; the owner carries it out once the room is
/// joined, and the room's answer is its outcome.
public enum RoomAction: Sendable, Equatable {
    case setSubject(String)
    case changeNick(String)
    case kick(nick: String, reason: String?)
    case ban(jid: String, reason: String?)
    case invite(jid: String, reason: String?)
    /// One field of the room's configuration form (§10.2), by its variable or short name.
    case configure(field: String, value: String)

    var kind: Intent.Kind {
        switch self {
        case .setSubject: .roomSubject
        case .changeNick: .roomNick
        case .kick: .roomKick
        case .ban: .roomBan
        case .invite: .roomInvite
        case .configure: .roomConfig
        }
    }

    var payload: Intent.Payload {
        switch self {
        case .setSubject(let text): Intent.Payload(text: text)
        case .changeNick(let nick): Intent.Payload(nick: nick)
        case .kick(let nick, let reason): Intent.Payload(nick: nick, reason: reason)
        case .ban(let jid, let reason), .invite(let jid, let reason): Intent.Payload(jid: jid, reason: reason)
        case .configure(let field, let value): Intent.Payload(text: value, field: field)
        }
    }

    /// The action a stored room intent stands for.
    init?(_ intent: Intent) {
        let args = intent.arguments
        switch intent.kind {
        case .roomSubject: self = .setSubject(args.text ?? "")
        case .roomNick: guard let nick = args.nick else { return nil }; self = .changeNick(nick)
        case .roomKick: guard let nick = args.nick else { return nil }; self = .kick(nick: nick, reason: args.reason)
        case .roomBan: guard let jid = args.jid else { return nil }; self = .ban(jid: jid, reason: args.reason)
        case .roomInvite: guard let jid = args.jid else { return nil }; self = .invite(jid: jid, reason: args.reason)
        case .roomConfig: guard let field = args.field else { return nil }; self = .configure(field: field, value: args.text ?? "")
        default: return nil
        }
    }
}

public enum RoomActionError: Error, Sendable, Equatable, CustomStringConvertible {
    case offline
    case notJoined(String)
    case invalid(String)
    case refused(String)

    public var description: String {
        switch self {
        case .offline: "not connected: try again once online"
        case .notJoined(let room): "not in \(room): /join it first"
        case .invalid(let why): why
        case .refused(let why): why
        }
    }
}

public enum RoomActions {
    /// Stores `action` for `room` (ROOM@SERVICE). Only a room we are in or mean to join takes
    /// one: it waits (queued) until the room is joined. Bad arguments throw `SyncError`.
    @discardableResult
    public static func enqueue(_ action: RoomAction, room text: String, store: Store, account: Account) throws -> Intent {
        guard let roomJID = JID(validating: text), roomJID.local != nil, roomJID.resource == nil else {
            throw SyncError.invalidRecipient("\(text) is not a room address: use ROOM@SERVICE")
        }
        guard let room = try store.room(accountID: account.rowID, jid: roomJID.description), room.wanted || room.state == .joined
        else { throw SyncError.notInRoom(roomJID.description) }
        switch action {
        case .setSubject: break
        case .changeNick(let nick), .kick(let nick, _):
            guard !nick.isEmpty, JID(validating: "\(room.jid)/\(nick)") != nil else {
                throw SyncError.invalidRecipient("not a valid nick: \(nick)")
            }
        case .ban(let jid, _), .invite(let jid, _):
            guard let target = JID(validating: jid), target.local != nil else {
                throw SyncError.invalidRecipient("not a valid JID: \(jid)")
            }
        case .configure(let field, _):
            guard !field.isEmpty, !field.contains(where: \.isWhitespace) else {
                throw SyncError.invalidRecipient("not a configuration field: \(field)")
            }
        }
        return try store.enqueueIntent(
            Intent(accountID: account.rowID, kind: action.kind, target: room.jid, payload: action.payload, createdAt: Store.now))
    }

    /// Carries out a stored room action in its joined room, returning once the room has
    /// answered (or, for a subject or an invitation, once it is sent: the room reflects a
    /// subject change, and an invitation has no answer). A refusal throws `.refused`; a
    /// lost link anything else.
    static func carryOut(_ intent: Intent, _ context: FeatureContext) async throws {
        guard let action = RoomAction(intent) else { throw RoomActionError.invalid("unreadable room action") }
        guard let roomJID = JID(validating: intent.target)?.bare,
            let room = try context.store.room(accountID: context.account.rowID, jid: roomJID.description)
        else { throw RoomActionError.notJoined(intent.target) }
        do {
            switch action {
            case .setSubject(let subject):
                try await context.send([MUC.subjectChange(room: roomJID, subject: subject, id: context.nextID())])
            case .changeNick(let nick):
                guard let occupant = JID(validating: "\(room.jid)/\(nick)"),
                    let feature = await context.engine.feature(RoomFeature.self)
                else { throw RoomActionError.invalid("not a valid nick: \(nick)") }
                let answer = await feature.tracker.expect(context.account.rowID, room: room.jid)
                try await context.send([MUC.nickChangePresence(newOccupant: occupant)])
                switch await feature.tracker.wait(answer, timeout: RoomFeature.joinTimeout) {
                case .joined: return
                case .failed(let error): throw RoomActionError.refused(error == .nickConflict ? "the nick \(nick) is taken" : error.message)
                case .left: throw RoomActionError.refused("the room did not answer")
                }
            case .kick(let nick, let reason):
                _ = try await context.request(MUC.kickRequest(room: roomJID, nick: nick, reason: reason, id: context.nextID()))
            case .ban(let jid, let reason):
                guard let target = JID(validating: jid)?.bare else { throw RoomActionError.invalid("not a valid JID: \(jid)") }
                _ = try await context.request(MUC.banRequest(room: roomJID, jid: target, reason: reason, id: context.nextID()))
            case .invite(let jid, let reason):
                guard let invitee = JID(validating: jid)?.bare else { throw RoomActionError.invalid("not a valid JID: \(jid)") }
                try await context.send([DirectInvite.message(
                    to: invitee, room: roomJID, reason: reason, password: room.password, id: context.nextID())])
            case .configure(let name, let value):
                let reply = try await context.request(MUC.configurationRequest(room: roomJID, id: context.nextID()))
                guard let form = MUC.configurationForm(in: reply) else { throw RoomActionError.refused("the room sent no configuration form") }
                let field = try configurationField(name, in: form)
                let values = try configurationValues(value, for: field)
                _ = try await context.request(
                    MUC.configurationSubmission(room: roomJID, form: form, changes: [field.variable ?? name: values], id: context.nextID()))
            }
        } catch let error as StanzaError {
            throw RoomActionError.refused(refusal(error))
        }
    }

    /// The form's field for `name`, or a refusal that lists what the room offers.
    static func configurationField(_ name: String, in form: DataForm) throws -> DataForm.Field {
        if let field = MUC.configurationField(name, in: form), field.type != .hidden, field.type != .fixed { return field }
        let offered = form.fields.compactMap { field -> String? in
            guard field.type != .hidden, field.type != .fixed, let variable = field.variable else { return nil }
            return variable.hasPrefix("muc#roomconfig_") ? String(variable.dropFirst("muc#roomconfig_".count)) : variable
        }
        throw RoomActionError.refused("the room has no setting \(name); it has: \(offered.joined(separator: ", "))")
    }

    /// `text` as the values `field` takes (XEP-0004 §3.3): a yes or no for a boolean, one of
    /// the options for a list, comma-separated items for a multi-valued field.
    static func configurationValues(_ text: String, for field: DataForm.Field) throws -> [String] {
        let name = field.variable ?? "?"
        switch field.type {
        case .boolean:
            switch text.lowercased() {
            case "1", "true", "yes", "on": return ["1"]
            case "0", "false", "no", "off": return ["0"]
            default: throw RoomActionError.invalid("\(name) takes yes or no")
            }
        case .listSingle:
            guard field.options.isEmpty || field.options.contains(where: { $0.value == text }) else {
                throw RoomActionError.invalid("\(name) takes one of: \(field.options.map(\.value).joined(separator: ", "))")
            }
            return [text]
        default:
            guard field.type.allowsMultipleValues else { return [text] }
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    static func refusal(_ error: StanzaError) -> String {
        switch error.condition {
        case "forbidden", "not-allowed": "the room refused: you lack the role or affiliation (\(error.condition))"
        case "item-not-found": "no such occupant"
        default: "the room refused: \(error.condition)" + (error.text.map { " (\($0))" } ?? "")
        }
    }
}

extension SyncEngine {
    /// How long `tern join` waits for another process (the connection's owner) to join for it.
    public static let roomJoinWait: Duration = .seconds(20)

    /// Stores `action` as an intent and carries it out now on this engine's live session
    /// (the room must be joined); returns its outcome.
    public func perform(_ action: RoomAction, in room: String) async throws(RoomActionError) {
        guard isOnline else { throw .offline }
        let intent: Intent
        do {
            intent = try RoomActions.enqueue(action, room: room, store: store, account: account)
        } catch {
            throw .invalid("\(error)")
        }
        await runIntents()
        guard let id = intent.id, let outcome = try? store.intent(id: id) else { throw .offline }
        switch outcome.state {
        case .done: return
        case .failed: throw .refused(outcome.error ?? "refused")
        case .queued where (try? store.room(accountID: account.rowID, jid: outcome.target))??.state != .joined:
            throw .notJoined(outcome.target)
        default: throw .offline
        }
    }

    /// XEP-0410: pings every joined room now, rejoining or reporting gone what no longer has us.
    public func checkRooms() async {
        guard let context = featureContext(), let feature = feature(RoomFeature.self) else { return }
        await feature.checkRooms(context)
    }
}
