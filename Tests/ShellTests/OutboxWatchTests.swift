import Foundation
import Store
import Testing
@testable import Shell

/// The live outbox view: which rows a later look reports, and when the shell's view ends.
@Suite struct OutboxWatchTests {
    let store: Store
    let accountID: Int64

    init() throws {
        store = try Store(directory: NSTemporaryDirectory() + "tern-outbox-watch-\(UUID().uuidString)")
        accountID = try store.saveAccount(
            Account(jid: "alice@example.org", resource: "tern.test", createdAt: Store.now), credential: nil
        ).rowID
    }

    @discardableResult
    private func enqueue(_ id: String) throws -> OutboxItem {
        try store.enqueue(Store.NewOutgoing(
            id: id, accountID: accountID, sender: "alice@example.org/tern.test", recipient: "bob@example.org",
            conversation: "bob@example.org", type: "chat", body: "body \(id)", stanza: "<message id='\(id)'/>"))
        return try #require(try store.outboxItem(id: id))
    }

    private func states(_ items: [OutboxItem]) -> [String] { items.map { "\($0.id):\($0.state.rawValue)" } }

    @Test func changes__reportEachStep_onceEach_untilDelivered() throws {
        try enqueue("m1")
        try enqueue("m2")
        var watch = OutboxWatch(try store.outbox(accountID: accountID), followsNewRows: false)
        #expect(try watch.changes(in: store, accountID: accountID).isEmpty, "nothing moved yet")

        try store.markOutbox(ids: ["m1", "m2"], as: .sent, from: [.queued])
        #expect(states(try watch.changes(in: store, accountID: accountID)) == ["m1:sent", "m2:sent"])
        try store.markOutbox(ids: ["m1"], as: .acked, from: [.sent])
        #expect(states(try watch.changes(in: store, accountID: accountID)) == ["m1:acked"])
        #expect(!watch.isSettled)

        // Delivered rows leave the open list: the watch still reports where they went.
        try store.settleOutbox(delivered: ["m1"], failed: [("m2", "recipient-unavailable")])
        let last = try watch.changes(in: store, accountID: accountID)
        #expect(states(last) == ["m1:delivered", "m2:failed"])
        #expect(last.last?.error == "recipient-unavailable")
        #expect(watch.isSettled, "the shell stops following here")
        #expect(try watch.changes(in: store, accountID: accountID).isEmpty, "and says nothing twice")
    }

    @Test func newRows__areFollowedOnlyWhenAskedFor_andAFailedOneIsToldOnce() throws {
        var shell = OutboxWatch([], followsNewRows: false)
        var script = OutboxWatch([], followsNewRows: true)
        try enqueue("n1")
        #expect(try shell.changes(in: store, accountID: accountID).isEmpty)
        #expect(states(try script.changes(in: store, accountID: accountID)) == ["n1:queued"])

        try store.markOutbox(ids: ["n1"], as: .sent, from: [.queued])
        try store.settleOutbox(delivered: [], failed: [("n1", "bounced")])
        #expect(states(try script.changes(in: store, accountID: accountID)) == ["n1:failed"])
        #expect(try script.changes(in: store, accountID: accountID).isEmpty, "a failed row stays open, told once")
        _ = try store.retryOutbox(matching: "n1", accountID: accountID)
        #expect(states(try script.changes(in: store, accountID: accountID)) == ["n1:queued"], "a retry shows again")
    }

    @Test func cancelledRow__isReported_andNoLongerFollowed() throws {
        try enqueue("c1")
        var watch = OutboxWatch(try store.outbox(accountID: accountID), followsNewRows: false)
        _ = try store.cancelOutbox(matching: "c1", accountID: accountID)
        #expect(states(try watch.changes(in: store, accountID: accountID)) == ["c1:cancelled"])
        #expect(watch.isSettled)
    }

    @Test func intents__are_followed_too_each_change_told_once_until_done() throws {
        let block = try store.addDetailsIntent(accountID: accountID, .block, jid: "spam@example.org")
        let id = try #require(block.id)
        var watch = OutboxWatch([], intents: try store.intents(accountID: accountID), followsNewRows: false)
        #expect(!watch.isSettled)
        #expect(try store.takeIntent(id: id))
        #expect(try watch.intentChanges(in: store, accountID: accountID).map(\.state) == [.sent])
        #expect(try watch.intentChanges(in: store, accountID: accountID).isEmpty, "told once")
        try store.finishIntent(id: id)
        #expect(try watch.intentChanges(in: store, accountID: accountID).map(\.state) == [.done], "off the open list, still told")
        #expect(watch.isSettled)
        #expect(try watch.intentChanges(in: store, accountID: accountID).isEmpty)
    }
}
