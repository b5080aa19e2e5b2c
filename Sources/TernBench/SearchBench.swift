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
        let conversation: String?
        var before: Double? = nil
    }

    static func run(messages: Int, runs: Int = 50, referenceRuns: Int = 10) throws {
        let start = ContinuousClock.now
        let fixture = try HistoryFixture.make(messages: messages)
        defer { fixture.remove() }
        print(String(format: "search: generated %d messages (index built) in %.1f s", messages, TernBench.seconds(ContinuousClock.now - start)))
        let words = fixture.vocabulary
        let shapes = [
            Shape(name: "rare word", query: words[20_000], conversation: nil),
            Shape(name: "common word", query: words[4], conversation: nil),
            Shape(name: "phrase of two common words", query: "\"\(words[0]) \(words[1])\"", conversation: nil),
            Shape(name: "prefix (3 letters)", query: String(words[2].prefix(3)) + "*", conversation: nil),
            Shape(name: "prefix (5 letters)", query: String(words.first { $0.count >= 6 }!.prefix(5)) + "*", conversation: nil),
            Shape(name: "two words", query: "\(words[3]) \(words[300])", conversation: nil),
            Shape(name: "common word, mid conversation", query: words[4], conversation: fixture.conversations[6]),
            Shape(name: "common word, smallest conversation", query: words[4], conversation: fixture.conversations.last),
            // Time filters are checked on each match, newest first: an old cutoff walks past the newer ones.
            Shape(name: "common word, before (oldest 20%)", query: words[4], conversation: nil,
                  before: fixture.newest - 0.8 * HistoryFixture.span),
        ]
        print("shape                                  tern p50   tern p99    raw p50    raw p99  p99 ratio  (query)")
        for shape in shapes {
            let query = try SearchQuery(parsing: shape.query)
            let filters = SearchFilters(conversation: shape.conversation, before: shape.before, limit: 50)
            _ = try fixture.store.search(accountID: fixture.account.rowID, query: query, filters: filters, now: fixture.newest)
            let tern = try measure(runs) {
                _ = try fixture.store.search(accountID: fixture.account.rowID, query: query, filters: filters, now: fixture.newest)
            }
            let raw = try measure(referenceRuns) {
                _ = try fixture.store.read { db in
                    try rawRanked(db, expression: query.expression, conversation: shape.conversation, before: shape.before)
                }
            }
            print(
                shape.name.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + String(format: " %8.2f ms %8.2f ms %8.1f ms %8.1f ms %9.3f   %@", tern.p50, tern.p99, raw.p50, raw.p99, tern.p99 / raw.p99, shape.query))
        }
        print("search: tern over \(runs) runs, raw over \(referenceRuns); ratio < 1 means tern is faster")
    }

    /// FTS5's own ranking over every match, with the shape's filter joined in.
    static func rawRanked(_ db: Database, expression: String, conversation: String?, before: Double?) throws -> Int {
        var filter = ""
        var arguments: StatementArguments = [expression]
        if let conversation {
            filter += " AND message.conversation = ?"
            arguments += [conversation]
        }
        if let before {
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
