import Foundation
import GRDB
import Testing
@testable import Store

/// Migration 0019: the conversation list, unread counts, the read mark and `/close`.
@Suite struct ConversationStoreTests {
    private func message(
        _ account: Account, in conversation: String, _ body: String, at time: Double, direction: StoredMessage.Direction = .incoming,
        type: String = "chat", nick: String? = nil
    ) -> StoredMessage {
        StoredMessage(
            accountID: account.rowID, conversation: conversation, direction: direction, type: type,
            sender: direction == .incoming ? conversation + "/" + (nick ?? "phone") : account.jid,
            recipient: direction == .incoming ? account.jid : conversation, nick: nick, body: body, timestamp: time,
            receivedAt: time, dedupKey: "\(conversation) \(body) \(time)", isRead: direction == .outgoing)
    }

    @discardableResult
    private func insert(_ store: Store, _ messages: [StoredMessage]) throws -> [Int64] {
        try store.insertMessages(messages).compactMap(\.id)
    }

    @Test func conversations__newest_activity_first_with_unread_counts_and_the_last_line() throws {
        let (store, account) = try makeStore()
        try insert(store, [
            message(account, in: "bob@example.org", "hi", at: 100),
            message(account, in: "bob@example.org", "there", at: 101),
            message(account, in: "carol@example.org", "later", at: 200),
            message(account, in: "bob@example.org", "my answer", at: 150, direction: .outgoing),
        ])
        let list = try store.conversations(accountID: account.rowID)
        #expect(list.map(\.conversation) == ["carol@example.org", "bob@example.org"])
        #expect(list.map(\.unread) == [1, 2], "our own line is never unread")
        #expect(list[1].last.message.body == "my answer")
        #expect(list.map(\.kind) == [.contact, .contact])
    }

    @Test func markRead__clears_the_count_and_new_messages_count_again() throws {
        let (store, account) = try makeStore()
        let ids = try insert(store, (1...3).map { message(account, in: "bob@example.org", "m\($0)", at: Double($0)) })
        try store.markRead(accountID: account.rowID, conversation: "bob@example.org", upTo: ids[1])
        #expect(try store.unreadCount(accountID: account.rowID, conversation: "bob@example.org") == 1)
        #expect(try store.lastReadID(accountID: account.rowID, conversation: "bob@example.org") == ids[1])
        try store.markRead(accountID: account.rowID, conversation: "bob@example.org")
        #expect(try store.unreadCount(accountID: account.rowID, conversation: "bob@example.org") == 0)
        // The mark never moves back.
        try store.markRead(accountID: account.rowID, conversation: "bob@example.org", upTo: ids[0])
        #expect(try store.lastReadID(accountID: account.rowID, conversation: "bob@example.org") == ids[2])
        try insert(store, [message(account, in: "bob@example.org", "m4", at: 4)])
        #expect(try store.conversations(accountID: account.rowID).first?.unread == 1)
    }

    @Test func unread__survives_reopening_the_store() throws {
        let directory = temporaryDirectory()
        do {
            let store = try Store(directory: directory)
            let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "r", createdAt: 0), credential: nil)
            try insert(store, (1...2).map { message(account, in: "bob@example.org", "m\($0)", at: Double($0)) })
        }
        let store = try Store(directory: directory)
        let account = try #require(try store.accounts().first)
        #expect(try store.conversations(accountID: account.rowID).map(\.unread) == [2])
    }

    @Test func unread_in_a_room__counts_others_lines_only() throws {
        let (store, account) = try makeStore()
        let room = "tea@conference.example.org"
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try insert(store, [
            message(account, in: room, "from carol", at: 1, type: "groupchat", nick: "carol"),
            message(account, in: room, "from my phone", at: 2, type: "groupchat", nick: "alice"),
            message(account, in: room + "/carol", "a private word", at: 3),
        ])
        let list = try store.conversations(accountID: account.rowID)
        #expect(list.map(\.conversation) == [room + "/carol", room])
        #expect(list.map(\.kind) == [.occupant, .room])
        #expect(list.map(\.unread) == [1, 1])
        #expect(try store.unreadCount(accountID: account.rowID, conversation: room) == 1)
    }

    @Test func close__leaves_the_list_keeps_history_and_a_new_message_brings_it_back() throws {
        let (store, account) = try makeStore()
        try insert(store, [message(account, in: "bob@example.org", "old", at: 1), message(account, in: "carol@example.org", "hi", at: 2)])
        try store.closeConversation(accountID: account.rowID, conversation: "bob@example.org")
        #expect(try store.conversations(accountID: account.rowID).map(\.conversation) == ["carol@example.org"])
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").map(\.message.body) == ["old"])
        // An archive backfill of an older message arrives later: still a new message, so listed again.
        try insert(store, [message(account, in: "bob@example.org", "new", at: 3)])
        let list = try store.conversations(accountID: account.rowID)
        #expect(list.map(\.conversation) == ["bob@example.org", "carol@example.org"])
        #expect(list.first?.unread == 1, "what it held when closed counts as read")
    }

    @Test func opening_a_closed_conversation__lists_it_again() throws {
        let (store, account) = try makeStore()
        try insert(store, [message(account, in: "bob@example.org", "old", at: 1)])
        try store.closeConversation(accountID: account.rowID, conversation: "bob@example.org")
        #expect(try store.conversations(accountID: account.rowID).isEmpty)
        try store.markRead(accountID: account.rowID, conversation: "bob@example.org")
        #expect(try store.conversations(accountID: account.rowID).map(\.conversation) == ["bob@example.org"])
    }

    @Test func unread__counts_only_what_was_stored_not_duplicates() throws {
        let (store, account) = try makeStore()
        let first = message(account, in: "bob@example.org", "once", at: 1)
        try insert(store, [first, first])
        try insert(store, [first, message(account, in: "bob@example.org", "twice", at: 2)])
        #expect(try store.unreadCount(accountID: account.rowID, conversation: "bob@example.org") == 2)
    }

    @Test func queries__use_indexes_not_scans_of_history() throws {
        let (store, _) = try makeStore()
        let plans = try store.read { db -> [String] in
            var lines: [String] = []
            let queries: [(String, StatementArguments)] = [
                (Store.conversationKeysSQL, [1]), (Store.lastEntrySQL, [1, "c"]), (Store.unreadAboveSQL, [10, 1, "c", "nick"]),
            ]
            for (sql, arguments) in queries {
                lines += try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
            }
            return lines
        }
        // Every access to `message` is an index search; no `SCAN message`, no sort.
        #expect(!plans.contains { $0.hasPrefix("SCAN message") || $0.contains("TEMP B-TREE") }, "\(plans)")
        #expect(plans.contains { $0.contains("INTEGER PRIMARY KEY (rowid>?)") }, "\(plans)")
        #expect(plans.contains { $0.contains("message_by_time") }, "\(plans)")
    }

    @Test func migration__counts_earlier_history_as_read() throws {
        // Stores before 0019 held incoming messages with is_read 0: read or not, nobody knew.
        let (directory, queue) = try storeAt(version: "0018_file_and_alert_settings")
        try queue.write { db in
            try db.execute(sql: "INSERT INTO account(id, jid, resource, created_at) VALUES (1, 'alice@example.org', 'r', 0)")
            for n in 1...3 {
                try db.execute(
                    sql: """
                        INSERT INTO message (account_id, conversation, direction, sender, recipient, body, timestamp, received_at, dedup_key)
                        VALUES (1, 'bob@example.org', 'in', 'bob@example.org/x', 'alice@example.org', ?, ?, ?, ?)
                        """, arguments: ["m\(n)", n, n, "k\(n)"])
            }
        }
        try queue.close()
        let store = try Store(directory: directory)
        let list = try store.conversations(accountID: 1)
        #expect(list.map(\.unread) == [0])
        #expect(list.first?.lastReadID == 3)
    }
}
