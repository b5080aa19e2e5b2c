import Foundation
import GRDB
import Store

/// The conversation list and unread counts at scale (issue 15): what `/list` and the prompt
/// cost with a big history, against the plain GROUP BY over the history that a first version
/// would write, in the same run on the same store; and what counting unread messages per burst
/// (0019) costs the store path, against the same rows stored as outgoing, which are not counted.
enum ConversationBench {
    static func run(messages: Int, runs: Int = 50, referenceRuns: Int = 5) throws {
        let start = ContinuousClock.now
        let fixture = try HistoryFixture.make(messages: messages)
        defer { fixture.remove() }
        print(String(format: "conversations: generated %d messages in %.1f s", messages, TernBench.seconds(ContinuousClock.now - start)))
        let store = fixture.store
        let account = fixture.account.rowID
        let biggest = fixture.conversations[0]

        // The fixture's rows went in raw, past the Store's counting: count them as insertMessages would have.
        try store.write { db in
            try db.execute(sql: """
                INSERT INTO conversation_view (account_id, conversation, unread)
                SELECT account_id, conversation, count(*) FROM message WHERE direction = 'in' GROUP BY account_id, conversation
                """)
        }
        // Nothing read yet: every incoming message is unread.
        print("state                              query                      tern p50   tern p99    ref p50    ref p99  p99 ratio")
        try report("all unread (an import)", store, account, biggest, runs: runs, referenceRuns: referenceRuns)

        let opened = ContinuousClock.now
        try store.markRead(accountID: account, conversation: biggest)
        print(String(format: "conversations: opening the biggest conversation (marking it read): %.2f ms", TernBench.seconds(ContinuousClock.now - opened) * 1000))
        for conversation in fixture.conversations.dropFirst() + [HistoryFixture.tinyConversation] {
            try store.markRead(accountID: account, conversation: conversation)
        }
        // Steady state: everything read, then a few new messages here and there.
        let newest = fixture.newest
        let arrivals = (0..<60).map { n in
            let conversation = fixture.conversations[n % 6]
            return StoredMessage(
                accountID: account, conversation: conversation, direction: .incoming, sender: conversation + "/phone",
                recipient: "alice@example.org", body: "new \(n)", timestamp: newest + Double(n), receivedAt: newest + Double(n),
                dedupKey: "new\(n)")
        }
        _ = try store.insertMessages(arrivals)
        try report("read, then 60 new", store, account, biggest, runs: runs, referenceRuns: referenceRuns)
        print("conversations: tern over \(runs) runs, reference over \(referenceRuns); ratio < 1 means tern is faster")

        try ingest(StorePathBench.rows(100_000))
    }

    static func report(_ state: String, _ store: Store, _ account: Int64, _ biggest: String, runs: Int, referenceRuns: Int) throws {
        let reference = try SearchBench.measure(referenceRuns) { _ = try store.read { db in try naiveList(db, account) } }
        let list = try SearchBench.measure(runs) { _ = try store.conversations(accountID: account) }
        let one = try SearchBench.measure(runs) { _ = try store.unreadCount(accountID: account, conversation: biggest) }
        for (name, tern) in [("/list (all conversations)", list), ("prompt (one conversation)", one)] {
            print(
                state.padding(toLength: 34, withPad: " ", startingAt: 0) + " " + name.padding(toLength: 26, withPad: " ", startingAt: 0)
                    + String(format: " %8.2f ms %8.2f ms %8.1f ms %8.1f ms %9.3f", tern.p50, tern.p99, reference.p50, reference.p99, tern.p99 / reference.p99))
        }
    }

    /// Every conversation's last message and unread count in one GROUP BY over the history.
    static func naiveList(_ db: Database, _ account: Int64) throws -> Int {
        try Row.fetchAll(
            db,
            sql: """
                SELECT message.conversation, max(message.id),
                       sum(message.direction = 'in' AND message.id > coalesce(view.last_read_id, 0))
                FROM message LEFT JOIN conversation_view AS view
                  ON view.account_id = message.account_id AND view.conversation = message.conversation
                WHERE message.account_id = ? GROUP BY message.conversation
                """,
            arguments: [account]
        ).count
    }

    /// The store path with the rows incoming (counted as unread per burst) and outgoing (not
    /// counted), rounds alternating, best of 3 each.
    static func ingest(_ rows: [StorePathBench.Row]) throws {
        var best = (incoming: 0.0, outgoing: 0.0)
        for _ in 0..<3 {
            best.incoming = max(best.incoming, try StorePathBench.measureStore(rows, burst: StorePathBench.burst))
            best.outgoing = max(best.outgoing, try StorePathBench.measureStore(rows, burst: StorePathBench.burst, direction: .outgoing))
        }
        print(String(format: "store path, %d messages in bursts of %d, best of 3:", rows.count, StorePathBench.burst))
        print(String(format: "  stored as outgoing (no unread count)   %9.0f msgs/s   (reference)", best.outgoing))
        print(String(format: "  stored as incoming (counted unread)    %9.0f msgs/s", best.incoming))
        print(String(format: "  ratio: %.3f", best.incoming / best.outgoing))
    }
}
