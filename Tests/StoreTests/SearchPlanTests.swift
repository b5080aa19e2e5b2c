import Foundation
import GRDB
import Testing
@testable import Store

/// The bounded search walks (migration 0015) against a brute-force reference: whatever the
/// filter terms and rowid ranges narrow, the candidates must be exactly the newest
/// `searchCandidateCount` rows (by rowid) that match the text and pass every filter, with
/// rows arriving out of time order (an archive backfill) and filters on their boundaries.
@Suite struct SearchPlanTests {
    static let start = 1_700_000_000.0
    static let words = ["alpha", "alpine", "alps", "beta", "bet", "café", "cafeteria", "delta", "deltas", "echo", "élan", "gamma", "gam"]

    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        /// Skewed towards the first words, so some are common and some rare.
        mutating func word() -> String { SearchPlanTests.words[min(next(SearchPlanTests.words.count), next(SearchPlanTests.words.count))] }
    }

    /// Who writes in each conversation: (sender, type, nick).
    static let writers: [String: [(String, String, String?)]] = [
        "bob@x": [("bob@x/phone", "chat", nil), ("bob@x/pc", "chat", nil), ("alice@example.org/tern.test", "chat", nil)],
        "carol@x": [("carol@x/a", "chat", nil)],
        "room@muc.x": [("room@muc.x/Bobby", "groupchat", "Bobby"), ("room@muc.x/Eve", "groupchat", "Eve")],
        "tiny@x": [("tiny@x/r", "chat", nil)],
    ]

    /// 3,000 rows in time order, a 700-row backfill of old timestamps at higher rowids, then
    /// 800 newer rows: several blocks of `message_time_block`, some spanning all of time.
    static func history() throws -> (Store, Account) {
        let (store, account) = try makeStore()
        _ = try store.wantRoom(accountID: account.rowID, jid: "room@muc.x", nick: "me", autojoin: false)
        try store.applyOccupants(
            accountID: account.rowID, room: "room@muc.x",
            upserts: [Occupant(accountID: account.rowID, room: "room@muc.x", nick: "Bobby", realJID: "bob@x/laptop")], removals: [])
        var random = Generator(state: 12)
        var messages: [StoredMessage] = []
        func add(at time: Double) {
            let conversation = random.next(40) == 0 ? "tiny@x" : ["bob@x", "bob@x", "carol@x", "room@muc.x"][random.next(4)]
            let writers = Self.writers[conversation]!
            let (sender, type, nick) = writers[random.next(writers.count)]
            let body = (0..<(2 + random.next(6))).map { _ in random.word() }.joined(separator: " ")
            messages.append(StoredMessage(
                accountID: account.rowID, conversation: conversation, direction: sender.hasPrefix("alice") ? .outgoing : .incoming,
                type: type, sender: sender, recipient: account.jid, nick: nick, body: body, timestamp: time, receivedAt: time,
                dedupKey: "k\(messages.count)"))
        }
        for n in 0..<3000 { add(at: start + Double(n) * 60) }
        for _ in 0..<700 { add(at: start + Double(random.next(3000)) * 60) }
        for n in 3000..<3800 { add(at: start + Double(n) * 60) }
        for first in stride(from: 0, to: messages.count, by: 500) {
            _ = try store.insertMessages(Array(messages[first..<min(first + 500, messages.count)]))
        }
        try store.catchUpSearchIndex()
        return (store, account)
    }

    /// A message as the reference sees it.
    struct Plain {
        let id: Int64
        let conversation: String
        let sender: String
        let realJID: String?
        let timestamp: Double
    }

    /// Every row, newest rowid first, with the real JID its room revealed for its nick.
    static func plainRows(_ db: Database) throws -> [Plain] {
        let realJIDs = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT room, nick, real_jid FROM occupant").map { row in
            ("\(row["room"] as String)/\(row["nick"] as String)", row["real_jid"] as String?)
        })
        return try Row.fetchAll(db, sql: "SELECT id, conversation, sender, type, nick, timestamp FROM message ORDER BY id DESC").map { row in
            let conversation: String = row["conversation"]
            let nick: String? = row["nick"]
            let type: String = row["type"]
            return Plain(
                id: row["id"], conversation: conversation, sender: row["sender"],
                realJID: type == "groupchat" ? (realJIDs["\(conversation)/\(nick ?? "")"] ?? nil) : nil, timestamp: row["timestamp"])
        }
    }

    /// The reference: FTS5 says which rows hold the text; the filters are applied here, row by row.
    static func reference(_ db: Database, rows: [Plain], query: SearchQuery, filters: SearchFilters) throws -> [Int64] {
        let matching = Set(try Int64.fetchAll(
            db, sql: "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", arguments: [SearchFilterTerms.bodyExpression(query)]))
        func names(_ jid: String?, _ wanted: String) -> Bool {
            guard let jid else { return false }
            return jid == wanted || jid.utf8.starts(with: (wanted + "/").utf8)
        }
        return rows.filter { row in
            guard matching.contains(row.id) else { return false }
            if let conversation = filters.conversation, row.conversation != conversation { return false }
            if let after = filters.after, row.timestamp < after { return false }
            if let before = filters.before, row.timestamp >= before { return false }
            if let sender = filters.sender, !names(row.sender, sender), !names(row.realJID, sender) { return false }
            return true
        }.prefix(Store.searchCandidateCount).map(\.id)
    }

    static let queries = ["alpha", "cafe", "al*", "alpi*", "delta*", "cafet*", "\"alpha beta\"", "alpha -beta", "echo OR élan", "gam delta", "c6*", "s7*"]

    static func filters() -> [SearchFilters] {
        let quarter = start + 750 * 60
        let middle = start + 1500 * 60
        let edge = start + 2999 * 60  // a timestamp rows hold exactly, in order and backfilled
        var all: [SearchFilters] = [SearchFilters()]
        for conversation in [nil, "bob@x", "tiny@x", "room@muc.x", "nobody@x"] as [String?] {
            for sender in [nil, "bob@x", "bob@x/pc", "room@muc.x/Eve", "carol@x", "bob@xy", ""] as [String?] {
                all.append(SearchFilters(conversation: conversation, sender: sender))
            }
        }
        for (after, before) in [(nil, quarter), (middle, nil), (quarter, middle), (edge, nil), (nil, edge), (edge, edge + 1), (middle, quarter)] as [(Double?, Double?)] {
            all.append(SearchFilters(after: after, before: before))
            all.append(SearchFilters(conversation: "tiny@x", after: after, before: before))
            all.append(SearchFilters(sender: "bob@x", after: after, before: before))
        }
        return all
    }

    @Test func candidates__match_the_brute_force_reference_for_every_shape_and_filter() throws {
        let (store, account) = try Self.history()
        let (compared, nonEmpty, capped) = try store.read { db in
            let rows = try Self.plainRows(db)
            var compared = 0
            var nonEmpty = 0
            var capped = 0
            for text in Self.queries {
                let query = try SearchQuery(parsing: text)
                for filters in Self.filters() {
                    let expected = try Self.reference(db, rows: rows, query: query, filters: filters)
                    let found = try Store.searchCandidates(db, accountID: account.rowID, query: query, filters: filters).map { $0.entry.message.id! }
                    #expect(found == expected, "\(text) \(filters)")
                    compared += 1
                    if !expected.isEmpty { nonEmpty += 1 }
                    if expected.count == Store.searchCandidateCount { capped += 1 }
                }
            }
            return (compared, nonEmpty, capped)
        }
        // Both sides of the bound are exercised: empty results, a few hits, and walks stopped at the cap.
        #expect(nonEmpty > compared / 3 && capped > compared / 10)
    }

    @Test func time_filter__finds_backfilled_rows_above_every_newer_one() throws {
        let (store, account) = try makeStore()
        let filler = (0..<2500).map { n in incoming(account, "filler \(n)", key: "f\(n)", at: Self.start + Double(n)) }
        _ = try store.insertMessages(filler)
        // Arrives last, with the oldest timestamp of all; and one with a timestamp from the future, first.
        _ = try store.insertMessages([incoming(account, "needle old", key: "old", at: Self.start - 1000)])
        try store.catchUpSearchIndex()
        try store.write { db in
            try db.execute(sql: "UPDATE message SET timestamp = ?, body = 'needle future' WHERE id = 1", arguments: [Self.start + 99_999])
        }
        func bodies(_ filters: SearchFilters) throws -> [String] {
            try store.search(accountID: account.rowID, query: SearchQuery(parsing: "needle"), filters: filters, now: Self.start)
                .map(\.entry.message.body)
        }
        #expect(try bodies(SearchFilters(before: Self.start)) == ["needle old"])
        #expect(try bodies(SearchFilters(after: Self.start + 50_000)) == ["needle future"])
        #expect(try bodies(SearchFilters(after: Self.start + 99_999, before: Self.start + 99_999.5)) == ["needle future"])
        #expect(try bodies(SearchFilters(after: Self.start + 99_999.5)) == [])
    }

    @Test func filter_terms__never_match_user_words() throws {
        let (store, account) = try makeStore()
        // `c`/`s` and the hex of the JIDs: what the meta column holds for this row.
        _ = try store.insertMessages([incoming(account, "plain words", key: "a")])
        let hexBob = "626F62406578616D706C652E6F7267"
        for text in ["c\(hexBob)", "s\(hexBob)", "c6*", "s62*"] {
            let hits = try store.search(accountID: account.rowID, query: SearchQuery(parsing: text), filters: SearchFilters(), now: 0)
            #expect(hits.isEmpty, "\(text)")
        }
        let hits = try store.search(
            accountID: account.rowID, query: SearchQuery(parsing: "plain"), filters: SearchFilters(conversation: "bob@example.org"), now: 0)
        #expect(hits.map(\.entry.message.body) == ["plain words"])
    }

    @Test func edits_and_deletions__keep_the_index_and_filters_right() throws {
        let (store, account) = try makeStore()
        let rows = try store.insertMessages((0..<5).map { incoming(account, "first \($0)", key: "e\($0)") })
        try store.catchUpSearchIndex()
        try store.write { db in
            try db.execute(sql: "UPDATE message SET body = 'second' WHERE id = ?", arguments: [rows[0].id!])
            try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [rows[1].id!])
            try db.execute(sql: "INSERT INTO message_fts(message_fts) VALUES('integrity-check')")
        }
        let filters = SearchFilters(conversation: "bob@example.org", sender: "bob@example.org")
        let found = try store.search(accountID: account.rowID, query: SearchQuery(parsing: "second"), filters: filters, now: 0)
        #expect(found.map(\.entry.message.id) == [rows[0].id])
        #expect(try store.search(accountID: account.rowID, query: SearchQuery(parsing: "first"), filters: filters, now: 0).count == 3)
    }

    @Test func ranges__consecutive_blocks_join__too_many_runs_merge_across_the_smallest_gaps() {
        #expect(SearchFilterTerms.mergedRuns([9, 8, 7, 5, 2, 1]) == [7...9, 5...5, 1...2])
        let scattered: [Int64] = (0..<100).reversed().map { (n: Int) -> Int64 in Int64(n * 3 + (n % 10 == 0 ? 1 : 0)) }
        let runs = SearchFilterTerms.mergedRuns(scattered)
        #expect(runs.count <= SearchFilterTerms.maximumRanges)
        // Every block is still inside a run, newest first.
        #expect(scattered.allSatisfy { block in runs.contains { $0.contains(block) } })
        #expect(zip(runs, runs.dropFirst()).allSatisfy { $0.lowerBound > $1.upperBound })
    }

    @Test func migration_0015__indexes_each_row_once_with_its_filter_terms_and_takes_the_backlog_in_after() throws {
        let (directory, queue) = try storeAt(version: "0014_outbox_edit_undo")
        try queue.write { db in
            try db.execute(sql: "INSERT INTO account(id, jid, resource, created_at) VALUES (1, 'alice@example.org', 'r', 0)")
            for (n, conversation) in ["bob@x", "carol@x", "bob@x", "carol@x"].enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO message (account_id, conversation, direction, sender, recipient, body, timestamp, received_at, dedup_key)
                        VALUES (1, ?, 'in', ? || '/r', 'alice@example.org', 'word ' || ?, ?, ?, ?)
                        """,
                    arguments: [conversation, conversation, n, Double(n), Double(n), "k\(n)"])
            }
            // Version 14's indexer had taken in the first two rows; the other two were its backlog.
            try db.execute(sql: "INSERT INTO message_fts(rowid, body) SELECT id, body FROM message WHERE id <= 2")
            try db.execute(sql: "UPDATE search_index SET indexed_up_to = 2")
        }
        try queue.close()
        let store = try Store(directory: directory)
        try store.catchUpSearchIndex()
        try store.write { db in try db.execute(sql: "INSERT INTO message_fts(message_fts) VALUES('integrity-check')") }
        let hits = try store.search(accountID: 1, query: SearchQuery(parsing: "word"), filters: SearchFilters(conversation: "carol@x"), now: 0)
        #expect(Set(hits.map(\.entry.message.body)) == ["word 1", "word 3"])
        let blocks = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT min_timestamp, max_timestamp FROM message_time_block").map { [$0[0] as Double, $0[1] as Double] }
        }
        #expect(blocks == [[0, 3]])
    }
}
