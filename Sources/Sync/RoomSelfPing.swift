import Foundation
import Store
import XMPP

/// XEP-0410 MUC Self-Ping (Schrödinger's Chat) §3: a room silent for a while may have dropped
/// us without a word (a restarted service, a lost stanza). A ping to our own occupant JID
/// tells; a room that dropped us is joined again, and one that no longer exists is reported
/// gone rather than created anew by the join.
extension RoomFeature {
    func selfPingSilentRooms(_ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard let joined = try? context.store.rooms(accountID: accountID).filter({ $0.state == .joined }), !joined.isEmpty
        else { return }
        // Rooms this process never heard from (joined before a resumption) count from now.
        let silent = await tracker.silentRooms(accountID, among: joined.map(\.jid), after: Self.selfPingAfter)
        for room in joined where silent.contains(room.jid) {
            Task { await selfPing(room, context) }
        }
    }

    /// Pings every joined room now (`/sync`, tests) and returns once each is judged.
    func checkRooms(_ context: FeatureContext) async {
        guard let rooms = try? context.store.rooms(accountID: context.account.rowID) else { return }
        await withTaskGroup(of: Void.self) { group in
            for room in rooms where room.state == .joined { group.addTask { await selfPing(room, context) } }
        }
    }

    private func selfPing(_ room: Room, _ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard let occupant = JID(validating: "\(room.jid)/\(room.currentNick)"),
            await tracker.startPing(accountID, room: room.jid)
        else { return }
        let reply: Element?
        do {
            reply = try await context.engine.exchange(SelfPing.request(occupant: occupant, id: context.nextID()), timeout: Self.requestTimeout)
        } catch {
            reply = nil
        }
        await tracker.endPing(accountID, room: room.jid)
        guard SelfPing.verdict(reply: reply, occupant: occupant) == .notJoined else { return }
        // Out of the room. Rejoin it, unless it no longer exists: a join would create it anew.
        guard let roomJID = JID(validating: room.jid) else { return }
        if case .missing = await Self.roomInfo(roomJID, context) {
            try? context.store.stopWantingRoom(accountID: accountID, jid: room.jid, clearAutojoin: true)
            await refuse(room.jid, state: .gone, reason: "the room no longer exists", nick: room.currentNick, context)
        } else {
            try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .left, joinedNick: nil, error: "dropped from the room")
            await context.emit(.room(RoomEvent(kind: .left, room: room.jid, nick: room.currentNick, text: "dropped from the room; joining again")))
        }
    }
}
