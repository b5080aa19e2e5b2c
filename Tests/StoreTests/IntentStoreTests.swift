import Foundation
import GRDB
import Testing
@testable import Store

/// Intents (migration 0016): every outgoing action but messages, one table, one life cycle.
@Suite struct IntentStoreTests {
    private func room(_ store: Store, _ account: Account, _ jid: String = "room@muc.example.org") throws {
        _ = try store.wantRoom(accountID: account.rowID, jid: jid, nick: "alice", password: nil, autojoin: true)
    }

    private func subject(_ store: Store, _ account: Account, _ text: String, room: String = "room@muc.example.org") throws -> Intent {
        try store.enqueueIntent(Intent(
            accountID: account.rowID, kind: .roomSubject, target: room, payload: Intent.Payload(text: text), createdAt: Store.now))
    }

    @Test func lifeCycle__queued_taken_once_then_done_or_failed_never_again() throws {
        let (store, account) = try makeStore()
        let vcard = try store.enqueueIntent(Intent(
            accountID: account.rowID, kind: .vcard, target: account.jid, payload: Intent.Payload(text: "Alice", field: "fn"),
            createdAt: Store.now))
        let id = try #require(vcard.id)
        #expect(vcard.arguments.field == "fn" && vcard.arguments.text == "Alice")
        #expect(try store.readyIntents(accountID: account.rowID).map(\.id) == [id])
        #expect(try store.takeIntent(id: id))
        #expect(!(try store.takeIntent(id: id)), "taken once: a second run loses the race")
        #expect(try store.intent(id: id)?.state == .sent)
        #expect(try store.intent(id: id)?.attempts == 1)
        #expect(try store.readyIntents(accountID: account.rowID).isEmpty)
        try store.finishIntent(id: id)
        try store.finishIntent(id: id, error: "late")  // finished: stays done
        let done = try #require(try store.intent(id: id))
        #expect(done.state == .done && done.error == nil && done.doneAt != nil)
        #expect(try store.intents(accountID: account.rowID).isEmpty, "done is off the outbox listing")
        #expect(try store.intents(accountID: account.rowID, includeFinished: true).map(\.id) == [id])
    }

    @Test func aLostLink__puts_a_taken_intent_back__and_a_new_session_requeues_leftovers() throws {
        let (store, account) = try makeStore()
        let first = try #require(try store.addDetailsIntent(accountID: account.rowID, .block, jid: "bad@x").id)
        let second = try #require(try store.addDetailsIntent(accountID: account.rowID, .unblock, jid: "bad@x").id)
        #expect(try store.takeIntent(id: first) && store.takeIntent(id: second))
        try store.requeueIntent(id: first)
        #expect(try store.intent(id: first)?.state == .queued)
        #expect(try store.requeueTakenIntents(accountID: account.rowID) == 1, "the one a killed owner left taken")
        #expect(try store.readyIntents(accountID: account.rowID).map(\.id) == [first, second], "in the order written")
    }

    @Test func roomActions__wait_until_their_room_is_joined() throws {
        let (store, account) = try makeStore()
        try room(store, account)
        let block = try #require(try store.addDetailsIntent(accountID: account.rowID, .block, jid: "bad@x").id)
        let topic = try #require(try subject(store, account, "New topic").id)
        #expect(try store.readyIntents(accountID: account.rowID).map(\.id) == [block], "the room is not joined yet")
        #expect(try store.readyIntents(accountID: account.rowID, kinds: [.roomSubject]).isEmpty)
        try store.setRoomState(accountID: account.rowID, jid: "room@muc.example.org", state: .joined, joinedNick: "alice")
        #expect(try store.readyIntents(accountID: account.rowID).map(\.id) == [block, topic])
        #expect(try store.readyIntents(accountID: account.rowID, kinds: [.roomSubject]).map(\.id) == [topic])
    }

    @Test func cancel_and_retry__by_outbox_id__where_the_state_allows() throws {
        let (store, account) = try makeStore()
        try room(store, account)
        let queued = try subject(store, account, "one")
        let outboxID = Store.outboxID(of: queued)
        #expect(outboxID == "i\(queued.id ?? 0)")
        #expect(try store.intent(matching: "abcd1234", accountID: account.rowID) == nil, "a message id is no intent id")
        #expect(throws: OutboxEditError.unknownID("i999")) { try store.intent(matching: "i999", accountID: account.rowID) }
        let found = try #require(try store.intent(matching: outboxID.uppercased(), accountID: account.rowID))
        #expect(try store.cancelIntent(found).state == .cancelled)
        #expect(throws: OutboxEditError.intentNotQueued(id: outboxID, state: .cancelled)) { try store.cancelIntent(found) }
        #expect(try store.readyIntents(accountID: account.rowID).isEmpty)

        // Taken once and put back: it may have reached the room, so it cannot be cancelled.
        let resent = try subject(store, account, "two")
        try store.setRoomState(accountID: account.rowID, jid: "room@muc.example.org", state: .joined, joinedNick: "alice")
        let resentID = try #require(resent.id)
        #expect(try store.takeIntent(id: resentID))
        try store.requeueIntent(id: resentID)
        #expect(throws: OutboxEditError.alreadySent(id: Store.outboxID(of: resent))) { try store.cancelIntent(resent) }

        #expect(throws: OutboxEditError.intentNotFailed(id: Store.outboxID(of: resent), state: .queued)) { try store.retryIntent(resent) }
        #expect(try store.takeIntent(id: resentID))
        try store.finishIntent(id: resentID, error: "forbidden")
        #expect(try store.intents(accountID: account.rowID).map(\.state) == [.failed], "a failed one stays listed")
        let retried = try store.retryIntent(resent)
        #expect(retried.state == .queued && retried.error == nil)
        #expect(try store.readyIntents(accountID: account.rowID).map(\.id) == [resentID])
    }

    @Test func a_file_upload_under_way__can_be_cancelled__other_taken_intents_cannot() throws {
        let (store, account) = try makeStore()
        let file = try store.enqueueIntent(Intent(
            accountID: account.rowID, kind: .file, target: "bob@x", payload: Intent.Payload(name: "a.bin", path: "/tmp/a", size: 9),
            createdAt: 1))
        let block = try #require(try store.addDetailsIntent(accountID: account.rowID, .block, jid: "bad@x").id)
        #expect(try store.takeIntent(id: file.id!))
        #expect(try store.takeIntent(id: block))
        try store.setIntentProgress(id: file.id!, bytes: 4)
        #expect(try store.cancelIntent(file).state == .cancelled)
        #expect(throws: OutboxEditError.self) { try store.cancelIntent(try #require(try store.intent(id: block))) }
        // The uploader's own outcome no longer changes it.
        try store.finishIntent(id: file.id!, error: "cancelled")
        let after = try #require(try store.intent(id: file.id!))
        #expect(after.state == .cancelled && after.error == nil && after.progress == 4)
    }

    @Test func summary__says_what_each_kind_does() {
        func intent(_ kind: Intent.Kind, _ payload: Intent.Payload) -> Intent {
            Intent(accountID: 1, kind: kind, target: "t@x", payload: payload, createdAt: 0)
        }
        #expect(intent(.roomKick, Intent.Payload(nick: "bob", reason: "spam")).summary == "bob: spam")
        #expect(intent(.roomInvite, Intent.Payload(jid: "carol@x")).summary == "carol@x")
        #expect(intent(.vcard, Intent.Payload(text: "", field: "fn")).summary == "remove fn")
        #expect(intent(.rosterAdd, Intent.Payload(name: "Bob", groups: ["Friends"])).summary == "name Bob; groups Friends")
        #expect(Intent.Kind.roomBan.needsJoinedRoom && !Intent.Kind.vcard.needsJoinedRoom)
    }

    /// Migration 0016 moves the two older intent tables' rows in, kinds renamed, order kept.
    @Test func migration_0016__moves_roster_and_details_intents_in() throws {
        let (directory, queue) = try storeAt(version: "0015_search_filters")
        try queue.write { db in
            try db.execute(sql: "INSERT INTO account(id, jid, resource, created_at) VALUES (1, 'alice@example.org', 'r', 0)")
            try db.execute(sql: """
                INSERT INTO roster_intent(account_id, jid, action, name, groups, state, created_at)
                VALUES (1, 'bob@x', 'add', 'Bob', '["G"]', 'pending', 1), (1, 'carol@x', 'remove', NULL, NULL, 'failed', 2);
                INSERT INTO details_intent(account_id, action, jid, created_at) VALUES (1, 'block', 'bad@x', 3), (1, 'refresh', 'bob@x', 4);
                """)
        }
        try queue.close()
        let store = try Store(directory: directory)
        let all = try store.intents(accountID: 1, includeFinished: true)
        #expect(all.map(\.kind) == [.rosterAdd, .rosterRemove, .block], "the refresh is not listed")
        #expect(all.map(\.state) == [.queued, .failed, .queued])
        #expect(all[0].arguments == Intent.Payload(name: "Bob", groups: ["G"]))
        #expect(try store.readyIntents(accountID: 1).map(\.kind) == [.rosterAdd, .block, .detailsRefresh])
        #expect(try store.rosterEntries(accountID: 1).first { $0.jid == "bob@x" }?.pending == .add)
    }
}
