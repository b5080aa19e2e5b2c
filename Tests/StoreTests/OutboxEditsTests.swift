import Foundation
import GRDB
import Testing
@testable import Store

/// `Store.cancelOutbox` / `retryOutbox`: conditional edits, id prefixes, history cleanup.
@Suite struct OutboxEditsTests {
    @discardableResult
    private func enqueue(
        _ store: Store, _ account: Account, id: String, body: String = "hi", recipient: String = "bob@example.org",
        conversation: String = "bob@example.org"
    ) throws -> OutboxItem {
        try store.enqueue(Store.NewOutgoing(
            id: id, accountID: account.rowID, sender: "alice@example.org/tern", recipient: recipient,
            conversation: conversation, type: "chat", body: body, stanza: "<message id='\(id)'/>"))
    }

    private func historyBodies(_ store: Store, _ account: Account, _ conversation: String = "bob@example.org") throws -> [String] {
        try store.history(accountID: account.rowID, conversation: conversation).map(\.message.body)
    }

    private func ftsMatches(_ store: Store, _ word: String) throws -> Int {
        try store.catchUpSearchIndex()
        return try store.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM message_fts WHERE message_fts MATCH ?", arguments: [word]) ?? 0
        }
    }

    @Test func cancel__a_queued_message__becomes_cancelled_and_leaves_history_and_search() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "11111111-aaaa", body: "keep this")
        try enqueue(store, account, id: "22222222-bbbb", body: "regret that", recipient: "bob@example.org/phone")
        let cancelled = try store.cancelOutbox(matching: "22222222-bbbb", accountID: account.rowID)
        #expect(cancelled.state == .cancelled)
        #expect(try store.outboxItem(id: "22222222-bbbb")?.state == .cancelled)
        #expect(try historyBodies(store, account) == ["keep this"], "a never-sent message does not show as said")
        #expect(try ftsMatches(store, "regret") == 0)
        #expect(try ftsMatches(store, "keep") == 1)
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["11111111-aaaa"])
        #expect(try store.outbox(accountID: account.rowID).map(\.id) == ["11111111-aaaa"], "the listing drops it")
    }

    @Test func cancel__history_entry_outside_the_recipients_conversation__is_found_by_outbox_id() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "33333333-cccc", body: "elsewhere", conversation: "room@muc.example.org")
        try store.cancelOutbox(matching: "33333333", accountID: account.rowID)
        #expect(try historyBodies(store, account, "room@muc.example.org").isEmpty)
    }

    /// Queues our edit of our message `target` as `/correct` and `/retract` do.
    @discardableResult
    private func enqueueEdit(
        _ store: Store, _ account: Account, id: String, _ kind: EditRequest.Kind, body: String, of targetID: String
    ) throws -> StoredMessage {
        let target = try #require(try store.ownMessage(accountID: account.rowID, conversation: "bob@example.org", id: targetID))
        return try store.enqueueEdit(
            Store.NewOutgoing(id: id, accountID: account.rowID, sender: "alice@example.org/tern", recipient: "bob@example.org",
                              conversation: "bob@example.org", type: "chat", body: body, stanza: "<message id='\(id)'/>"),
            kind, of: target
        ).1
    }

    private func onlyMessage(_ store: Store, _ account: Account) throws -> StoredMessage {
        let rows = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        try #require(rows.count == 1)
        return rows[0].message
    }

    @Test func cancel__a_queued_correction__puts_the_message_back_in_history_and_search() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "aaaa0001", body: "helo wrold")
        _ = try ftsMatches(store, "wrold")  // indexed before the edit: the index must follow the undo
        #expect(try enqueueEdit(store, account, id: "aaaa0002", .correction, body: "hello world", of: "aaaa0001").body == "hello world")
        #expect(try ftsMatches(store, "wrold") == 0)
        try store.cancelOutbox(matching: "aaaa0002", accountID: account.rowID)
        let message = try onlyMessage(store, account)
        #expect(message.body == "helo wrold")
        #expect(message.editedAt == nil, "no longer shown as edited")
        #expect(try ftsMatches(store, "wrold") == 1)
        #expect(try ftsMatches(store, "world") == 0)
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["aaaa0001"])
    }

    @Test func cancel__a_queued_retraction__brings_the_message_back() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "bbbb0001", body: "still here")
        try enqueueEdit(store, account, id: "bbbb0002", .retraction, body: "fallback", of: "bbbb0001")
        #expect(try onlyMessage(store, account).retractedAt != nil)
        try store.cancelOutbox(matching: "bbbb0002", accountID: account.rowID)
        let message = try onlyMessage(store, account)
        #expect(message.body == "still here")
        #expect(message.retractedAt == nil)
        #expect(try store.lastOwnMessage(accountID: account.rowID, conversation: "bob@example.org")?.id == message.id,
                "retractable again")
    }

    @Test func cancel__corrections_in_any_order__ends_on_the_text_last_sent() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "cccc0001", body: "one")
        try enqueueEdit(store, account, id: "cccc0002", .correction, body: "two", of: "cccc0001")
        try enqueueEdit(store, account, id: "cccc0003", .correction, body: "three", of: "cccc0001")
        // The first correction, superseded: the second stays shown.
        try store.cancelOutbox(matching: "cccc0002", accountID: account.rowID)
        #expect(try onlyMessage(store, account).body == "three")
        // Then the second: back to the original, not to the cancelled "two".
        try store.cancelOutbox(matching: "cccc0003", accountID: account.rowID)
        #expect(try onlyMessage(store, account).body == "one")
        #expect(try onlyMessage(store, account).editedAt == nil)
    }

    @Test func cancel__a_later_correction__leaves_the_earlier_one_shown() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "dddd0001", body: "one")
        try enqueueEdit(store, account, id: "dddd0002", .correction, body: "two", of: "dddd0001")
        try enqueueEdit(store, account, id: "dddd0003", .correction, body: "three", of: "dddd0001")
        try store.cancelOutbox(matching: "dddd0003", accountID: account.rowID)
        #expect(try onlyMessage(store, account).body == "two")
        try store.cancelOutbox(matching: "dddd0002", accountID: account.rowID)
        #expect(try onlyMessage(store, account).body == "one")
    }

    @Test func cancel__a_sent_message__is_refused_and_changes_nothing() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "44444444-dddd", body: "gone already")
        try store.markOutbox(ids: ["44444444-dddd"], as: .sent, from: [.queued])
        #expect(throws: OutboxEditError.notQueued(id: "44444444-dddd", state: .sent)) {
            try store.cancelOutbox(matching: "44444444-dddd", accountID: account.rowID)
        }
        #expect(try store.outboxItem(id: "44444444-dddd")?.state == .sent)
        #expect(try historyBodies(store, account) == ["gone already"])
    }

    @Test func cancel__a_message_queued_again_after_an_unconfirmed_send__is_refused() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "55555555-eeee", body: "maybe arrived")
        try store.markOutboxSent(accountID: account.rowID, ids: ["55555555-eeee"], streamManagementState: nil)
        // The stream ended before the server confirmed it: it goes back to the queue.
        try store.beginStreamSession(accountID: account.rowID, acknowledged: [], requeue: ["55555555-eeee"], streamManagementState: nil)
        #expect(try store.outboxItem(id: "55555555-eeee")?.state == .queued)
        #expect(throws: OutboxEditError.alreadySent(id: "55555555-eeee")) {
            try store.cancelOutbox(matching: "55555555-eeee", accountID: account.rowID)
        }
        #expect(try historyBodies(store, account) == ["maybe arrived"])
    }

    @Test func cancel__after_a_flusher_read_the_queue_and_marked_it_sent__the_flusher_wins() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "55555555-eeee", body: "racing")
        // The flusher's view: it read the row while queued, then committed queued → sent.
        let seen = try store.queuedOutbox(accountID: account.rowID)
        try store.markOutbox(ids: seen.map(\.id), as: .sent, from: [.queued])
        #expect(throws: OutboxEditError.self) { try store.cancelOutbox(matching: "5555", accountID: account.rowID) }
        let row = try #require(try store.outboxItem(id: "55555555-eeee"))
        #expect(row.state == .sent)
        #expect(row.attempts == 1)
        #expect(try historyBodies(store, account) == ["racing"])
    }

    @Test func cancel__that_commits_first__is_not_undone_by_a_later_mark_sent() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "66666666-ffff")
        try store.cancelOutbox(matching: "6666", accountID: account.rowID)
        try store.markOutbox(ids: ["66666666-ffff"], as: .sent, from: [.queued])
        #expect(try store.outboxItem(id: "66666666-ffff")?.state == .cancelled)
        #expect(throws: OutboxEditError.notQueued(id: "66666666-ffff", state: .cancelled)) {
            try store.cancelOutbox(matching: "66666666-ffff", accountID: account.rowID)
        }
    }

    @Test func prefix__unique_prefixes_of_four_or_more_resolve_case_insensitively() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "abcd1234-0000")
        try enqueue(store, account, id: "abce9999-0000")
        #expect(try store.outboxItem(matching: "abcd", accountID: account.rowID).id == "abcd1234-0000")
        #expect(try store.outboxItem(matching: "ABCE9", accountID: account.rowID).id == "abce9999-0000")
        #expect(try store.outboxItem(matching: "abcd1234-0000", accountID: account.rowID).id == "abcd1234-0000")
        #expect(throws: OutboxEditError.idTooShort("abc")) { try store.outboxItem(matching: "abc", accountID: account.rowID) }
        #expect(throws: OutboxEditError.idTooShort("")) { try store.outboxItem(matching: "", accountID: account.rowID) }
        #expect(throws: OutboxEditError.unknownID("abcf")) { try store.outboxItem(matching: "abcf", accountID: account.rowID) }
        #expect(throws: OutboxEditError.unknownID("ab%_")) { try store.outboxItem(matching: "ab%_", accountID: account.rowID) }
        #expect(throws: OutboxEditError.unknownID("abcd1234-0000-and-more")) {
            try store.outboxItem(matching: "abcd1234-0000-and-more", accountID: account.rowID)
        }
    }

    @Test func prefix__a_whole_short_id_is_accepted_but_not_as_a_prefix() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "x")
        #expect(try store.cancelOutbox(matching: "x", accountID: account.rowID).state == .cancelled)
    }

    @Test func prefix__ambiguous__names_the_matches_and_changes_nothing() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "beef0001", body: "one")
        try enqueue(store, account, id: "beef0002", body: "two")
        #expect(throws: OutboxEditError.ambiguousID("beef", matches: ["beef0001", "beef0002"])) {
            try store.cancelOutbox(matching: "beef", accountID: account.rowID)
        }
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["beef0001", "beef0002"])
        #expect(try historyBodies(store, account) == ["one", "two"])
        #expect(try store.cancelOutbox(matching: "beef0002", accountID: account.rowID).id == "beef0002")
    }

    @Test func prefix__another_accounts_row__is_unknown() throws {
        let (store, account) = try makeStore()
        let other = try store.saveAccount(Account(jid: "carol@example.org", resource: "tern.c", createdAt: Store.now), credential: nil)
        try enqueue(store, other, id: "cafe0001-0000")
        #expect(throws: OutboxEditError.unknownID("cafe0001-0000")) {
            try store.cancelOutbox(matching: "cafe0001-0000", accountID: account.rowID)
        }
        #expect(try store.outboxItem(id: "cafe0001-0000")?.state == .queued)
    }

    @Test func retry__a_failed_message__is_queued_again_in_its_place_with_the_error_cleared() throws {
        let (store, account) = try makeStore()
        let original = try enqueue(store, account, id: "77777777-0001", body: "bounced")
        try store.markOutbox(ids: [original.id], as: .sent, from: [.queued])
        try store.settleOutbox(delivered: [], failed: [(id: original.id, reason: "service-unavailable")])
        try enqueue(store, account, id: "77777777-0002", body: "newer")
        #expect(try store.outboxItem(id: original.id)?.error == "service-unavailable")

        let retried = try store.retryOutbox(matching: "77777777-0001", accountID: account.rowID)
        #expect(retried.state == .queued)
        #expect(retried.error == nil)
        let row = try #require(try store.outboxItem(id: original.id))
        #expect(row == retried)
        #expect(row.seq == original.seq && row.stanza == original.stanza, "same stanza, same place in the order")
        #expect(row.attempts == 1, "past attempts still count")
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["77777777-0001", "77777777-0002"])
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").map(\.state) == [.queued, .queued])
    }

    @Test func retry__a_message_in_any_other_state__is_refused_and_changes_nothing() throws {
        let (store, account) = try makeStore()
        let states: [OutboxItem.State] = [.queued, .sent, .acked, .delivered, .cancelled]
        for (n, state) in states.enumerated() {
            let id = "8888888\(n)-0000"
            try enqueue(store, account, id: id)
            try store.write { db in
                try db.execute(sql: "UPDATE outbox SET state = ?, error = 'kept' WHERE id = ?", arguments: [state.rawValue, id])
            }
            #expect(throws: OutboxEditError.notFailed(id: id, state: state)) {
                try store.retryOutbox(matching: id, accountID: account.rowID)
            }
            let row = try #require(try store.outboxItem(id: id))
            #expect(row.state == state && row.error == "kept", "\(state)")
        }
    }

    @Test func errors__are_one_line_and_name_the_id() {
        let errors: [OutboxEditError] = [
            .idTooShort("ab"), .unknownID("abcd"), .ambiguousID("abcd", matches: ["abcd1", "abcd2"]),
            .notQueued(id: "abcd1", state: .sent), .notQueued(id: "abcd1", state: .cancelled),
            .notFailed(id: "abcd1", state: .delivered),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
        }
        #expect(OutboxEditError.ambiguousID("abcd", matches: ["abcd1", "abcd2"]).description.contains("abcd1, abcd2"))
        #expect(OutboxEditError.notFailed(id: "abcd1", state: .delivered).description.contains("abcd1 is delivered"))
    }
}
