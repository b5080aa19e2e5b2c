import Foundation
import Store
import Testing
@testable import Sync

/// What `tern send` / `/msg` make of a room's address (CLI.md: a joined or wanted room gets a
/// groupchat message; an occupant a private one; a room we are not in, nothing).
@Suite struct OutboxRoomTests {
    let store: Store
    let account: Account
    let room = "tea@rooms.example.org"

    init() throws {
        store = try Store(directory: NSTemporaryDirectory() + "tern-outbox-room-\(UUID().uuidString)")
        account = try store.saveAccount(Account(jid: "alice@example.org", resource: "t", createdAt: 0), credential: nil)
    }

    @Test func aWantedRoom_getsAGroupchatMessage_withoutReceiptRequest() throws {
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: nil, autojoin: false)
        let item = try Outbox.enqueueChat(store: store, account: account, to: room, body: "hi all")
        #expect(item.type == "groupchat")
        #expect(item.stanza.contains("type=\"groupchat\"") || item.stanza.contains("type='groupchat'"))
        #expect(!item.stanza.contains("urn:xmpp:receipts"))
        #expect(try store.queuedOutbox(accountID: account.rowID).isEmpty, "held until the room is joined")
        #expect(try store.queuedCount(accountID: account.rowID) == 1, "but counted as queued")
    }

    @Test func anOccupant_getsAPrivateMessage_inItsOwnConversation() throws {
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: nil, autojoin: false)
        let item = try Outbox.enqueueChat(store: store, account: account, to: "\(room)/bob", body: "psst")
        #expect(item.type == "chat")
        #expect(try store.history(accountID: account.rowID, conversation: "\(room)/bob", limit: 5).count == 1)
    }

    @Test func aRoomWeLeft_refusesTheMessage_ratherThanHoldItForever() throws {
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: nil, autojoin: false)
        _ = try store.leaveRoom(accountID: account.rowID, jid: room)
        #expect(throws: SyncError.self) { try Outbox.enqueueChat(store: store, account: account, to: room, body: "hello?") }
        #expect(try store.outbox(accountID: account.rowID).isEmpty, "nothing half-written")
    }
}
