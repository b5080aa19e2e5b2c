import Foundation
import Store
import XMPP

/// What a user asks of a room they are in: XEP-0045 §8.1 (subject), §7.6 (nick), §8.2 (kick),
/// §9.1 (ban), and XEP-0249 direct invitations. Each needs the live session: the room is the
/// judge of whether it is allowed, and its answer is the result.
public enum RoomAction: Sendable, Equatable {
    case setSubject(String)
    case changeNick(String)
    case kick(nick: String, reason: String?)
    case ban(jid: String, reason: String?)
    case invite(jid: String, reason: String?)
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

extension SyncEngine {
    /// How long `tern join` waits for another process (the connection's owner) to join for it.
    public static let roomJoinWait: Duration = .seconds(20)

    /// Carries out `action` in `room` and returns once the room has answered (or, for a
    /// subject or an invitation, once it is sent: the room reflects a subject change).
    public func perform(_ action: RoomAction, in room: String) async throws(RoomActionError) {
        guard let context = featureContext(), let feature = feature(RoomFeature.self) else { throw .offline }
        guard let roomJID = JID(validating: room)?.bare,
            let stored = (try? store.room(accountID: account.rowID, jid: roomJID.description)) ?? nil
        else { throw .notJoined(room) }
        if case .invite = action {} else if stored.state != .joined { throw .notJoined(stored.jid) }
        do {
            switch action {
            case .setSubject(let subject):
                try await context.send([MUC.subjectChange(room: roomJID, subject: subject, id: context.nextID())])
            case .changeNick(let nick):
                guard let occupant = JID(validating: "\(stored.jid)/\(nick)") else { throw RoomActionError.invalid("not a valid nick: \(nick)") }
                let answer = await feature.tracker.expect(account.rowID, room: stored.jid)
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
                    to: invitee, room: roomJID, reason: reason, password: stored.password, id: context.nextID())])
            }
        } catch let error as RoomActionError {
            throw error
        } catch let error as StanzaError {
            throw .refused(Self.refusal(error))
        } catch {
            throw .offline
        }
    }

    /// XEP-0410: pings every joined room now, rejoining or reporting gone what no longer has us.
    public func checkRooms() async {
        guard let context = featureContext(), let feature = feature(RoomFeature.self) else { return }
        await feature.checkRooms(context)
    }

    private static func refusal(_ error: StanzaError) -> String {
        switch error.condition {
        case "forbidden", "not-allowed": "the room refused: you lack the role or affiliation (\(error.condition))"
        case "item-not-found": "no such occupant"
        default: "the room refused: \(error.condition)" + (error.text.map { " (\($0))" } ?? "")
        }
    }
}
