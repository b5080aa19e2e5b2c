import Foundation
import GRDB
import Store

/// Ranked search at scale (DESIGN §7, budget: p99 ≤ 20 ms at 1M messages for every shape).
///
/// For each query shape, tern's search (rank + snippet, 50 hits) runs `runs` times; the
/// reference is raw FTS5 in the same run on the same store: `ORDER BY rank LIMIT 50` with
/// `snippet()`, which ranks every match. The reference is slow, so it runs fewer times.
enum SearchBench {
    struct Shape {
        let name: String
        let query: String
        var conversation: String? = nil
        var sender: String? = nil
        var after: Double? = nil
        var before: Double? = nil

        var filters: SearchFilters {
            SearchFilters(conversation: conversation, sender: sender, after: after, before: before, limit: 50)
        }
    }

    static func run(messages: Int, runs: Int = 50, referenceRuns: Int = 10) throws {
        let start = ContinuousClock.now
        let fixture = try HistoryFixture.make(messages: messages)
        defer { fixture.remove() }
        print(String(format: "search: generated %d messages (index built) in %.1f s", messages, TernBench.seconds(ContinuousClock.now - start)))
        let indexBytes = try fixture.store.read { db in
            try Int.fetchOne(db, sql: "SELECT sum(length(block)) FROM message_fts_data") ?? 0
        }
        print(String(format: "search: full-text index %.0f MB", Double(indexBytes) / 1e6))
        let words = fixture.vocabulary
        let common = words[4]
        /// The commonest words long enough for a prefix of `letters` that leaves letters out.
        func prefix(_ letters: Int) -> String { String(words.first { $0.count > letters }!.prefix(letters)) + "*" }
        let oldestFifth = fixture.newest - 0.8 * HistoryFixture.span
        let shapes = [
            Shape(name: "rare word", query: words[20_000]),
            Shape(name: "common word", query: common),
            Shape(name: "phrase of two common words", query: "\"\(words[0]) \(words[1])\""),
            Shape(name: "prefix (3 letters)", query: String(words[2].prefix(3)) + "*"),
            Shape(name: "prefix (4 letters)", query: prefix(4)),
            Shape(name: "prefix (5 letters)", query: prefix(5)),
            Shape(name: "prefix (6 letters)", query: prefix(6)),
            Shape(name: "two words", query: "\(words[3]) \(words[300])"),
            Shape(name: "common word -common word", query: "\(common) -\(words[7])"),
            Shape(name: "common word OR word", query: "\(common) OR \(words[30])"),
            Shape(name: "common word, mid conversation", query: common, conversation: fixture.conversations[6]),
            Shape(name: "common word, smallest conversation", query: common, conversation: fixture.conversations.last),
            Shape(name: "common word, tiny conversation", query: common, conversation: HistoryFixture.tinyConversation),
            Shape(name: "rare word, mid conversation", query: words[20_000], conversation: fixture.conversations[6]),
            Shape(name: "common word, from a rare sender", query: common, sender: HistoryFixture.rareSender),
            Shape(name: "phrase, from a rare sender", query: "\"\(words[0]) \(words[1])\"", sender: HistoryFixture.rareSender),
            Shape(name: "common word, after (recent 5%)", query: common, after: fixture.newest - 0.05 * HistoryFixture.span),
            // Rows walked newest first: an old cutoff walks past every newer match unless bounded.
            Shape(name: "common word, before (oldest 20%)", query: common, before: oldestFifth),
            Shape(name: "rare word, before (oldest 20%)", query: words[20_000], before: oldestFifth),
            Shape(name: "common word, tiny conversation, before", query: common, conversation: HistoryFixture.tinyConversation, before: oldestFifth),
        ]
        print("shape                                      tern p50   tern p99    raw p50    raw p99  p99 ratio  (query)")
        // TERN_BENCH_SHAPE=text runs only the shapes whose name contains it (to profile one).
        let only = ProcessInfo.processInfo.environment["TERN_BENCH_SHAPE"]
        for shape in shapes where only.map({ shape.name.contains($0) }) ?? true {
            let query = try SearchQuery(parsing: shape.query)
            let filters = shape.filters
            _ = try fixture.store.search(accountID: fixture.account.rowID, query: query, filters: filters, now: fixture.newest)
            let tern = try measure(runs) {
                _ = try fixture.store.search(accountID: fixture.account.rowID, query: query, filters: filters, now: fixture.newest)
            }
            let raw = try measure(referenceRuns) {
                _ = try fixture.store.read { db in
                    try rawRanked(db, expression: query.expression, shape: shape)
                }
            }
            print(
                shape.name.padding(toLength: 40, withPad: " ", startingAt: 0)
                    + String(format: " %8.2f ms %8.2f ms %8.1f ms %8.1f ms %9.3f   %@", tern.p50, tern.p99, raw.p50, raw.p99, tern.p99 / raw.p99, shape.query))
        }
        print("search: tern over \(runs) runs, raw over \(referenceRuns); ratio < 1 means tern is faster")
    }

    /// FTS5's own ranking over every match, with the shape's filter joined in.
    static func rawRanked(_ db: Database, expression: String, shape: Shape) throws -> Int {
        var filter = ""
        var arguments: StatementArguments = [expression]
        if let conversation = shape.conversation {
            filter += " AND message.conversation = ?"
            arguments += [conversation]
        }
        if let sender = shape.sender {
            filter += " AND (message.sender = ? OR message.sender LIKE ? || '/%')"
            arguments += [sender, sender]
        }
        if let after = shape.after {
            filter += " AND message.timestamp >= ?"
            arguments += [after]
        }
        if let before = shape.before {
            filter += " AND message.timestamp < ?"
            arguments += [before]
        }
        // Without a filter, no join: the reference is FTS5 alone.
        let join = filter.isEmpty ? "" : " JOIN message ON message.id = message_fts.rowid"
        return try Row.fetchAll(
            db,
            sql: """
                SELECT message_fts.rowid, snippet(message_fts, 0, '[', ']', '…', 12) FROM message_fts\(join)
                WHERE message_fts MATCH ?\(filter) ORDER BY rank LIMIT 50
                """,
            arguments: arguments).count
    }

    /// p50 and p99 in milliseconds (nearest rank).
    static func measure(_ runs: Int, _ body: () throws -> Void) throws -> (p50: Double, p99: Double) {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            times.append(TernBench.seconds(ContinuousClock.now - start) * 1000)
        }
        times.sort()
        func percentile(_ p: Double) -> Double { times[min(times.count - 1, Int((p * Double(times.count)).rounded(.up)) - 1)] }
        return (percentile(0.5), percentile(0.99))
    }
}
