import Foundation
import GRDB
import Testing
@testable import Store

private func fromBob(_ account: Account, _ body: String, stanzaKey: String, at time: Double, edit: EditRequest? = nil,
                     sender: String = "bob@example.org/phone") -> StoredMessage {
    var message = incoming(account, body, key: "i:\(stanzaKey)", from: sender, at: time)
    message.stanzaKey = stanzaKey
    message.edit = edit
    return message
}

private func roomMessage(_ account: Account, nick: String, _ body: String, key: String, at time: Double,
                         edit: EditRequest? = nil) -> StoredMessage {
    var message = StoredMessage(
        accountID: account.rowID, conversation: "room@muc.example.org", direction: .incoming, type: "groupchat",
        sender: "room@muc.example.org/\(nick)", recipient: account.jid, nick: nick, body: body, timestamp: time,
        receivedAt: time, stanzaKey: key, stanzaID: "sid-" + key, dedupKey: "o:\(nick)/" + key)
    message.edit = edit
    return message
}

/// What the search index holds for a word (the FTS5 table itself, through the Store).
private func indexed(_ store: Store, _ word: String) throws -> [Int64] {
    try store.catchUpSearchIndex()
    return try store.read { db in try Int64.fetchAll(db, sql: "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", arguments: [word]) }
}

@Suite struct MessageEditsTests {
    @Test func correction__from_the_original_sender__replaces_the_body_and_the_index_entry() throws {
        let (store, account) = try makeStore()
        let original = try store.insertApplyingEdits([fromBob(account, "teh typo", stanzaKey: "m1", at: 100)]).inserted[0]
        let outcome = try store.insertApplyingEdits([
            fromBob(account, "the typo", stanzaKey: "m2", at: 110, edit: EditRequest(.correction, of: "m1"), sender: "bob@example.org/laptop"),
        ])
        #expect(outcome.inserted.isEmpty, "a correction is not a message of its own")
        #expect(outcome.edited.map(\.id) == [original.id])
        let rows = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(rows.map(\.message.body) == ["the typo"])
        #expect(rows[0].message.editedAt == 110)
        #expect(try indexed(store, "teh").isEmpty)
        #expect(try indexed(store, "the") == [original.id!])
    }

    @Test func correction__from_someone_else__is_kept_as_an_ordinary_message() throws {
        let (store, account) = try makeStore()
        _ = try store.insertApplyingEdits([fromBob(account, "original", stanzaKey: "m1", at: 100)])
        // Mallory names Bob's message id, in Bob's conversation (as a server could relay it).
        var forged = fromBob(account, "forged", stanzaKey: "x1", at: 110, edit: EditRequest(.correction, of: "m1"),
                             sender: "mallory@example.org/x")
        forged.conversation = "bob@example.org"
        let outcome = try store.insertApplyingEdits([forged])
        #expect(outcome.edited.isEmpty)
        let bodies = try store.history(accountID: account.rowID, conversation: "bob@example.org").map(\.message.body)
        #expect(bodies == ["original", "forged"])
    }

    @Test func correction__of_our_own_message__is_refused_from_the_peer() throws {
        let (store, account) = try makeStore()
        var ours = fromBob(account, "mine", stanzaKey: "o1", at: 100)
        ours.direction = .outgoing
        ours.sender = account.jid + "/tern.test"
        _ = try store.insertApplyingEdits([ours])
        _ = try store.insertApplyingEdits([fromBob(account, "yours now", stanzaKey: "m2", at: 110, edit: EditRequest(.correction, of: "o1"))])
        let rows = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(rows.map(\.message.body) == ["mine", "yours now"])
        #expect(rows[0].message.editedAt == nil)
    }

    @Test func correction__in_the_same_burst_as_its_original__applies() throws {
        let (store, account) = try makeStore()
        let outcome = try store.insertApplyingEdits([
            fromBob(account, "frist", stanzaKey: "m1", at: 100),
            fromBob(account, "first", stanzaKey: "m2", at: 101, edit: EditRequest(.correction, of: "m1")),
        ])
        #expect(outcome.inserted.count == 1)
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").map(\.message.body) == ["first"])
    }

    @Test func retraction__by_the_sender__empties_the_body_and_the_index() throws {
        let (store, account) = try makeStore()
        var original = fromBob(account, "secret plans", stanzaKey: "m1", at: 100)
        original.originID = "origin-1"
        _ = try store.insertApplyingEdits([original])
        let outcome = try store.insertApplyingEdits([
            fromBob(account, "fallback text", stanzaKey: "r1", at: 120, edit: EditRequest(.retraction, of: "origin-1")),
        ])
        #expect(outcome.edited.count == 1)
        let rows = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(rows.count == 1, "the fallback body is not stored")
        #expect(rows[0].message.body == "")
        #expect(rows[0].message.retractedAt == 120)
        #expect(try indexed(store, "secret").isEmpty)
        #expect(try indexed(store, "fallback").isEmpty)
    }

    @Test func retraction__by_someone_else__changes_nothing_and_stores_nothing() throws {
        let (store, account) = try makeStore()
        var original = fromBob(account, "keep me", stanzaKey: "m1", at: 100)
        original.originID = "origin-1"
        _ = try store.insertApplyingEdits([original])
        var forged = fromBob(account, "fallback", stanzaKey: "r1", at: 120, edit: EditRequest(.retraction, of: "origin-1"),
                             sender: "mallory@example.org/x")
        forged.conversation = "bob@example.org"
        let outcome = try store.insertApplyingEdits([forged])
        #expect(outcome.changed.isEmpty)
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").map(\.message.body) == ["keep me"])
        #expect(try indexed(store, "keep") .count == 1)
    }

    @Test func correction__replayed_after_a_retraction__changes_nothing_and_stores_nothing() throws {
        let (store, account) = try makeStore()
        var original = fromBob(account, "draft", stanzaKey: "m1", at: 100)
        original.originID = "m1"
        _ = try store.insertApplyingEdits([
            original,
            fromBob(account, "final", stanzaKey: "m2", at: 101, edit: EditRequest(.correction, of: "m1")),
            fromBob(account, "fallback", stanzaKey: "m3", at: 102, edit: EditRequest(.retraction, of: "m1")),
        ])
        // What an archive catch-up replays: the same correction again.
        let outcome = try store.insertApplyingEdits([
            fromBob(account, "final", stanzaKey: "m2", at: 101, edit: EditRequest(.correction, of: "m1")),
        ])
        #expect(outcome.changed.isEmpty)
        let rows = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(rows.map(\.message.body) == [""])
    }

    @Test func room_edit__needs_the_same_nick() throws {
        let (store, account) = try makeStore()
        _ = try store.insertApplyingEdits([roomMessage(account, nick: "carol", "hello all", key: "c1", at: 100)])
        _ = try store.insertApplyingEdits([
            roomMessage(account, nick: "dave", "dave was here", key: "d1", at: 110, edit: EditRequest(.correction, of: "c1")),
            roomMessage(account, nick: "dave", "fallback", key: "d2", at: 111, edit: EditRequest(.retraction, of: "sid-c1")),
        ])
        var bodies = try store.history(accountID: account.rowID, conversation: "room@muc.example.org").map(\.message.body)
        #expect(bodies == ["hello all", "dave was here"])
        _ = try store.insertApplyingEdits([
            roomMessage(account, nick: "carol", "fallback", key: "c2", at: 120, edit: EditRequest(.retraction, of: "sid-c1")),
        ])
        bodies = try store.history(accountID: account.rowID, conversation: "room@muc.example.org").map(\.message.body)
        #expect(bodies == ["", "dave was here"])
    }

    @Test func room_edit__with_occupant_ids__needs_the_same_occupant_id_not_the_nick() throws {
        let (store, account) = try makeStore()
        var original = roomMessage(account, nick: "carol", "hello all", key: "c1", at: 100)
        original.occupantID = "oid-carol"
        _ = try store.insertApplyingEdits([original])
        // Carol left; Mallory took the nick. The room stamps Mallory's own occupant-id.
        var forged = roomMessage(account, nick: "carol", "carol was wrong", key: "m1", at: 110, edit: EditRequest(.correction, of: "c1"))
        forged.occupantID = "oid-mallory"
        var forgedRetraction = roomMessage(account, nick: "carol", "fallback", key: "m2", at: 111, edit: EditRequest(.retraction, of: "sid-c1"))
        forgedRetraction.occupantID = "oid-mallory"
        var outcome = try store.insertApplyingEdits([forged, forgedRetraction])
        #expect(outcome.edited.isEmpty)
        var bodies = try store.history(accountID: account.rowID, conversation: "room@muc.example.org").map(\.message.body)
        #expect(bodies == ["hello all", "carol was wrong"], "refused, and the correction kept as what Mallory said")
        // Carol, back under another nick: the same occupant-id.
        var correction = roomMessage(account, nick: "carol_", "hello everyone", key: "c2", at: 120, edit: EditRequest(.correction, of: "c1"))
        correction.occupantID = "oid-carol"
        outcome = try store.insertApplyingEdits([correction])
        #expect(outcome.edited.map(\.body) == ["hello everyone"])
        bodies = try store.history(accountID: account.rowID, conversation: "room@muc.example.org").map(\.message.body)
        #expect(bodies == ["hello everyone", "carol was wrong"])
    }

    @Test func room_edit__with_real_jids__needs_the_same_real_jid() throws {
        let (store, account) = try makeStore()
        var original = roomMessage(account, nick: "carol", "hello all", key: "c1", at: 100)
        original.senderRealJID = "carol@example.org"
        _ = try store.insertApplyingEdits([original])
        var forged = roomMessage(account, nick: "carol", "fallback", key: "m1", at: 110, edit: EditRequest(.retraction, of: "sid-c1"))
        forged.senderRealJID = "mallory@example.org"
        #expect(try store.insertApplyingEdits([forged]).edited.isEmpty)
        var retraction = roomMessage(account, nick: "carol", "fallback", key: "c2", at: 120, edit: EditRequest(.retraction, of: "sid-c1"))
        retraction.senderRealJID = "Carol@example.org"
        #expect(try store.insertApplyingEdits([retraction]).edited.count == 1)
        #expect(try store.history(accountID: account.rowID, conversation: "room@muc.example.org").map(\.message.body) == [""])
    }

    @Test func room_edit__identities_are_stored_with_the_message() throws {
        let (store, account) = try makeStore()
        var original = roomMessage(account, nick: "carol", "hello all", key: "c1", at: 100)
        original.occupantID = "oid-carol"
        original.senderRealJID = "carol@example.org"
        _ = try store.insertApplyingEdits([original])
        let stored = try store.read { db in try StoredMessage.fetchOne(db, sql: "SELECT * FROM message") }
        #expect(stored?.occupantID == "oid-carol")
        #expect(stored?.senderRealJID == "carol@example.org")
    }

    @Test func edit__looks_only_at_the_newest_messages_of_the_conversation() throws {
        let (store, account) = try makeStore()
        var rows = [fromBob(account, "ancient", stanzaKey: "old", at: 1)]
        for n in 0..<Store.editSearchDepth { rows.append(fromBob(account, "filler \(n)", stanzaKey: "f\(n)", at: Double(10 + n))) }
        _ = try store.insertApplyingEdits(rows)
        let outcome = try store.insertApplyingEdits([
            fromBob(account, "too late", stanzaKey: "e1", at: 1e6, edit: EditRequest(.correction, of: "old")),
        ])
        #expect(outcome.edited.isEmpty)
        #expect(outcome.inserted.map(\.body) == ["too late"])
    }

    @Test func enqueue_edit__queues_the_stanza_and_changes_history_at_once() throws {
        let (store, account) = try makeStore()
        try store.enqueue(Store.NewOutgoing(
            id: "out-1", accountID: account.rowID, sender: account.jid, recipient: "bob@example.org",
            conversation: "bob@example.org", type: "chat", body: "helo", stanza: "<message/>"))
        let target = try #require(try store.lastOwnMessage(accountID: account.rowID, conversation: "bob@example.org"))
        #expect(try store.ownMessage(accountID: account.rowID, conversation: "bob@example.org", id: "out-1")?.id == target.id)
        #expect(try store.ownMessage(accountID: account.rowID, conversation: "bob@example.org", id: String(target.id!))?.id == target.id)
        let (item, changed) = try store.enqueueEdit(
            Store.NewOutgoing(id: "out-2", accountID: account.rowID, sender: account.jid, recipient: "bob@example.org",
                              conversation: "bob@example.org", type: "chat", body: "hello", stanza: "<message/>"),
            .correction, of: target)
        #expect(item.state == .queued)
        #expect(changed.body == "hello")
        let rows = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(rows.map(\.message.body) == ["hello"], "the correction is no history row of its own")
        #expect(try store.outbox(accountID: account.rowID).map(\.id) == ["out-1", "out-2"])
    }
}

@Suite struct MessageStreamTests {
    @Test func stream__newest_n_comes_oldest_first_with_ties_by_insertion() throws {
        let (store, account) = try makeStore()
        let rows = (0..<10).map { fromBob(account, "m\($0)", stanzaKey: "k\($0)", at: Double(100 + $0 / 2)) }
        _ = try store.insertMessages(rows)
        var seen: [String] = []
        try store.streamMessages(Store.MessageRange(accountID: account.rowID, conversation: "bob@example.org", newest: 5)) {
            seen.append($0.message.body)
        }
        #expect(seen == ["m5", "m6", "m7", "m8", "m9"])
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org", limit: 3, before: 104)
            .map(\.message.body) == ["m5", "m6", "m7"])
    }

    @Test func stream__all_conversations_in_order_within_dates() throws {
        let (store, account) = try makeStore()
        var carol = fromBob(account, "from carol", stanzaKey: "c", at: 50, sender: "carol@example.org/x")
        carol.conversation = "carol@example.org"
        _ = try store.insertMessages([
            fromBob(account, "late", stanzaKey: "b2", at: 300), carol, fromBob(account, "early", stanzaKey: "b1", at: 100),
            fromBob(account, "too early", stanzaKey: "b0", at: 10),
        ])
        var seen: [String] = []
        try store.streamMessages(Store.MessageRange(accountID: account.rowID, after: 50, before: 301)) { seen.append($0.message.body) }
        #expect(seen == ["early", "late", "from carol"])
    }
}
