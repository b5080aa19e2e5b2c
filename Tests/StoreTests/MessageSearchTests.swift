import Foundation
import GRDB
import Testing
@testable import Store

@Suite struct MessageSearchTests {
    static let day = 86_400.0
    static let now = 1_800_000_000.0

    private func store(_ rows: [(conversation: String, from: String, body: String, daysAgo: Double)]) throws -> (Store, Account) {
        let (store, account) = try makeStore()
        _ = try store.insertMessages(rows.enumerated().map { index, row in
            StoredMessage(
                accountID: account.rowID, conversation: row.conversation, direction: .incoming, sender: row.from,
                recipient: account.jid, body: row.body, timestamp: Self.now - row.daysAgo * Self.day,
                receivedAt: Self.now, dedupKey: "k\(index)")
        })
        return (store, account)
    }

    private func bodies(_ store: Store, _ account: Account, _ text: String, _ filters: SearchFilters = SearchFilters()) throws -> [String] {
        try store.search(accountID: account.rowID, query: SearchQuery(parsing: text), filters: filters, now: Self.now)
            .map(\.entry.message.body)
    }

    @Test func search__folds_case_and_diacritics() throws {
        let (store, account) = try store([
            ("bob@x", "bob@x/a", "Un Café à Paris", 1), ("bob@x", "bob@x/a", "tea only", 1),
        ])
        #expect(try bodies(store, account, "cafe paris") == ["Un Café à Paris"])
        #expect(try bodies(store, account, "CAFÉ") == ["Un Café à Paris"])
    }

    @Test func search__phrase_prefix_exclusion_or() throws {
        let (store, account) = try store([
            ("bob@x", "bob@x/a", "good morning team", 3), ("bob@x", "bob@x/a", "morning, good team", 2),
            ("bob@x", "bob@x/a", "meeting moved", 1), ("bob@x", "bob@x/a", "tea or coffee", 1),
        ])
        #expect(try bodies(store, account, #""good morning""#) == ["good morning team"])
        #expect(Set(try bodies(store, account, "good -moved")) == ["good morning team", "morning, good team"])
        #expect(try bodies(store, account, "mee*") == ["meeting moved"])
        #expect(Set(try bodies(store, account, "coffee OR moved")) == ["meeting moved", "tea or coffee"])
    }

    @Test func rank__more_relevant_first_at_equal_age() throws {
        let (store, account) = try store([
            ("bob@x", "bob@x/a", "deploy", 10), ("bob@x", "bob@x/a", "we talked about many things and one was deploy", 10),
        ])
        #expect(try bodies(store, account, "deploy") == ["deploy", "we talked about many things and one was deploy"])
    }

    @Test func rank__recent_beats_old_at_equal_relevance() throws {
        let (store, account) = try store([
            ("bob@x", "bob@x/a", "release notes", 400), ("bob@x", "bob@x/a", "release notes", 0),
        ])
        let hits = try store.search(accountID: account.rowID, query: SearchQuery(parsing: "release"), filters: SearchFilters(), now: Self.now)
        #expect(hits.map(\.entry.message.timestamp) == [Self.now, Self.now - 400 * Self.day])
        #expect(hits[0].rank > hits[1].rank)
    }

    @Test func rank__rarer_alternative_of_an_or_weighs_more() throws {
        var rows: [(String, String, String, Double)] = (0..<20).map { _ in ("bob@x", "bob@x/a", "common word", 5) }
        rows.append(("bob@x", "bob@x/a", "rare word", 5))
        let (store, account) = try store(rows)
        #expect(try bodies(store, account, "common OR rare").first == "rare word")
    }

    @Test func filters__conversation_sender_dates_limit() throws {
        let (store, account) = try store([
            ("bob@x", "bob@x/phone", "lunch today", 1), ("carol@x", "carol@x/pc", "lunch tomorrow", 2),
            ("bob@x", "bob@x/pc", "lunch last year", 300),
        ])
        #expect(Set(try bodies(store, account, "lunch", SearchFilters(conversation: "bob@x"))) == ["lunch today", "lunch last year"])
        #expect(try bodies(store, account, "lunch", SearchFilters(sender: "carol@x")) == ["lunch tomorrow"])
        #expect(try bodies(store, account, "lunch", SearchFilters(sender: "carol@x/pc")) == ["lunch tomorrow"])
        #expect(try bodies(store, account, "lunch", SearchFilters(sender: "carol@xy")) == [])
        #expect(Set(try bodies(store, account, "lunch", SearchFilters(after: Self.now - 10 * Self.day))) == ["lunch today", "lunch tomorrow"])
        #expect(try bodies(store, account, "lunch", SearchFilters(before: Self.now - 10 * Self.day)) == ["lunch last year"])
        #expect(try bodies(store, account, "lunch", SearchFilters(limit: 1)).count == 1)
    }

    @Test func filters__room_sender_matches_the_occupants_real_jid() throws {
        let (store, account) = try makeStore()
        _ = try store.wantRoom(accountID: account.rowID, jid: "room@muc.x", nick: "me", autojoin: false)
        try store.applyOccupants(
            accountID: account.rowID, room: "room@muc.x",
            upserts: [Occupant(accountID: account.rowID, room: "room@muc.x", nick: "Bobby", realJID: "bob@x/laptop")], removals: [])
        _ = try store.insertMessages([
            StoredMessage(
                accountID: account.rowID, conversation: "room@muc.x", direction: .incoming, type: "groupchat",
                sender: "room@muc.x/Bobby", recipient: account.jid, nick: "Bobby", body: "standup now", timestamp: Self.now,
                receivedAt: Self.now, dedupKey: "r1"),
            StoredMessage(
                accountID: account.rowID, conversation: "room@muc.x", direction: .incoming, type: "groupchat",
                sender: "room@muc.x/Eve", recipient: account.jid, nick: "Eve", body: "standup later", timestamp: Self.now,
                receivedAt: Self.now, dedupKey: "r2"),
        ])
        #expect(try bodies(store, account, "standup", SearchFilters(sender: "bob@x")) == ["standup now"])
        #expect(try bodies(store, account, "standup", SearchFilters(sender: "room@muc.x/Eve")) == ["standup later"])
    }

    @Test func snippet__marks_the_match() throws {
        let (store, account) = try store([("bob@x", "bob@x/a", "see you at the Café tonight", 1)])
        let hit = try #require(store.search(accountID: account.rowID, query: SearchQuery(parsing: "cafe"), filters: SearchFilters(), now: Self.now).first)
        #expect(hit.snippet == [SnippetPart("see you at the ", isMatch: false), SnippetPart("Café", isMatch: true), SnippetPart(" tonight", isMatch: false)])
    }

    @Test func snippet__marker_characters_in_the_body_cannot_forge_a_match() throws {
        let hostile = "fake \u{E000}boss\u{E001} and \u{E002}x\u{E003} real word"
        let (store, account) = try store([("bob@x", "bob@x/a", hostile, 1)])
        let hit = try #require(store.search(accountID: account.rowID, query: SearchQuery(parsing: "word"), filters: SearchFilters(), now: Self.now).first)
        #expect(hit.snippet.filter(\.isMatch).map(\.text) == ["word"])
        #expect(hit.snippet.map(\.text).joined() == hostile)
    }

    @Test func search__hostile_query_text_is_never_fts5_syntax() throws {
        let (store, account) = try store([("bob@x", "bob@x/a", "body NEAR secret", 1)])
        for text in ["body:secret", "NEAR(body secret)", "secret^", "{body}: x", "\"body\" \"NEAR\""] {
            _ = try bodies(store, account, text)  // any database error fails the test
        }
        #expect(try bodies(store, account, "NEAR") == ["body NEAR secret"])
    }

    @Test func around__shows_neighbours_oldest_first_within_the_conversation() throws {
        let rows = (0..<10).map { ("bob@x", "bob@x/a", "m\($0)", Double(10 - $0)) } + [("carol@x", "carol@x/a", "other", 5.5)]
        let (store, account) = try store(rows)
        let hit = try #require(store.history(accountID: account.rowID, conversation: "bob@x", limit: 10).first { $0.message.body == "m5" })
        let context = try #require(try store.history(accountID: account.rowID, around: hit.message.id!, limit: 5))
        #expect(context.map(\.message.body) == ["m3", "m4", "m5", "m6", "m7"])
        let edge = try #require(try store.history(accountID: account.rowID, around: hit.message.id! - 5, limit: 4))
        #expect(edge.map(\.message.body) == ["m0", "m1", "m2"])
        #expect(try store.history(accountID: account.rowID, around: 9999, limit: 5) == nil)
    }

    @Test func migration_0011__messages_indexed_before_stay_searchable_and_new_ones_are_indexed() throws {
        let directory = try versionNineStore { db in
            try db.execute(sql: """
                INSERT INTO message (account_id, conversation, direction, sender, recipient, body, timestamp, received_at, dedup_key)
                VALUES (1, 'b@x', 'in', 'b@x/r', 'a@x', 'before the upgrade', 0, 0, 'k1')
                """)
        }
        let store = try Store(directory: directory)
        _ = try store.insertMessages([StoredMessage(
            accountID: 1, conversation: "b@x", direction: .incoming, sender: "b@x/r", recipient: "a@x",
            body: "after the upgrade", timestamp: 1, receivedAt: 1, dedupKey: "k2")])
        try store.catchUpSearchIndex()
        let found = try store.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid", arguments: ["\"up\"*"])
        }
        #expect(found == ["before the upgrade", "after the upgrade"])
    }

    @Test func ranking__tokens_fold_like_the_index() {
        #expect(SearchRanking.tokens("Café, NAÏVE-test 42") == ["cafe", "naive", "test", "42"])
        #expect(SearchRanking.occurrences(of: ["good", "mor"], prefix: true, in: ["good", "morning", "good", "mo"]) == 1)
    }
}
