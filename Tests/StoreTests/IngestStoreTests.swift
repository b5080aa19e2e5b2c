import Foundation
import GRDB
import Testing
@testable import Migrations
@testable import Store

/// Migration 0010 and what it brings (issue 12, DESIGN §7): dedup by a compact hash checked
/// against the full key, and a search index that trails the inserts behind a high-water mark.
@Suite struct IngestStoreTests {
    private func searchable(_ store: Store, _ word: String) throws -> [Int64] {
        try store.read { db in
            try Int64.fetchAll(db, sql: "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid", arguments: [word])
        }
    }

    private func mark(_ store: Store) throws -> Int64 {
        try store.read { db in try Int64.fetchOne(db, sql: "SELECT indexed_up_to FROM search_index") ?? -1 }
    }

    @Test func dedupHash__is_stable_and_scoped() {
        // Stored values: a change to the function would make every old row look new.
        #expect(DedupHash.of(accountID: 1, conversation: "bob@example.org", key: "o:1") == DedupHash.of(accountID: 1, conversation: "bob@example.org", key: "o:1"))
        // FNV-1a 64 of the bytes 01 00×7, "bob@example.org", 00, "o:1", as computed by hand.
        #expect(DedupHash.of(accountID: 1, conversation: "bob@example.org", key: "o:1") == -4_045_638_749_072_511_527)
        #expect(DedupHash.of(accountID: 1, conversation: "ab", key: "c") != DedupHash.of(accountID: 1, conversation: "a", key: "bc"))
        #expect(DedupHash.of(accountID: 1, conversation: "a", key: "k") != DedupHash.of(accountID: 2, conversation: "a", key: "k"))
    }

    @Test func dedup__a_hash_collision_with_another_key__still_stores_the_message() throws {
        let (store, account) = try makeStore()
        let first = try store.insertMessages([incoming(account, "first", key: "o:1")])
        let newcomer = incoming(account, "second", key: "o:2")
        // Forge the stored row's hash to the newcomer's: only the full key may decide.
        try store.write { db in
            try db.execute(
                sql: "UPDATE message SET dedup_hash = ? WHERE id = ?",
                arguments: [DedupHash.of(accountID: account.rowID, conversation: newcomer.conversation, key: "o:2"), first[0].id!])
        }
        #expect(try store.insertMessages([newcomer]).map(\.body) == ["second"])
        #expect(try store.insertMessages([newcomer]).isEmpty, "and the real duplicate is still caught")
    }

    @Test func dedup__within_one_burst_and_across_conversations() throws {
        let (store, account) = try makeStore()
        var elsewhere = incoming(account, "same key, other chat", key: "o:1")
        elsewhere.conversation = "carol@example.org"
        let inserted = try store.insertMessages([incoming(account, "a", key: "o:1"), incoming(account, "a again", key: "o:1"), elsewhere])
        #expect(inserted.map(\.body) == ["a", "same key, other chat"])
        #expect(inserted.allSatisfy { $0.dedupHash != nil && $0.id != nil })
    }

    @Test func searchIndex__trails_the_inserts_and_a_pass_catches_it_up() throws {
        let (store, account) = try makeStore()
        let inserted = try store.insertMessages((1...5).map { incoming(account, "word\($0) common", key: "k\($0)") })
        // Searchable after a pass, whether the background one or this one runs it.
        try store.catchUpSearchIndex()
        #expect(try searchable(store, "common") == inserted.map { $0.id! })
        #expect(try mark(store) == inserted.last!.id!)
        #expect(try store.searchIndexBacklog() == 0)
    }

    @Test func searchIndex__the_background_pass_runs_within_a_second() async throws {
        let (store, account) = try makeStore()
        let inserted = try store.insertMessages([incoming(account, "eventually findable", key: "k")])
        let deadline = ContinuousClock.now + .seconds(10)
        while try searchable(store, "findable").isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try searchable(store, "findable") == [inserted[0].id!])
    }

    @Test func searchIndex__a_batch_limit_moves_the_mark_only_past_what_it_indexed() throws {
        let (store, account) = try makeStore()
        try store.catchUpSearchIndex()
        let inserted = try store.insertMessages((1...5).map { incoming(account, "batch\($0)", key: "b\($0)") })
        let before = try mark(store)
        if before < inserted[1].id! {
            #expect(try store.indexPendingMessages(limit: 2) >= 1)
            let after = try mark(store)
            #expect(after > before && after <= inserted.last!.id!)
            #expect(try searchable(store, "batch5").isEmpty == (after < inserted[4].id!))
        }
        try store.catchUpSearchIndex()
        #expect(try searchable(store, "batch5") == [inserted[4].id!])
    }

    @Test func searchIndex__a_reused_top_rowid_is_indexed_with_its_new_body() throws {
        let (store, account) = try makeStore()
        let inserted = try store.insertMessages([incoming(account, "keeper", key: "a"), incoming(account, "doomed", key: "b")])
        try store.catchUpSearchIndex()
        let top = inserted[1].id!
        try store.write { db in try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [top]) }
        #expect(try searchable(store, "doomed").isEmpty)
        #expect(try mark(store) == inserted[0].id!, "the mark comes down to the highest row")
        // SQLite gives the freed id out again.
        let reused = try store.insertMessages([incoming(account, "phoenix", key: "c")])
        #expect(reused[0].id == top)
        try store.catchUpSearchIndex()
        #expect(try searchable(store, "phoenix") == [top])
    }

    @Test func searchIndex__an_edit_before_indexing_is_indexed_as_edited() throws {
        let (store, account) = try makeStore()
        try store.catchUpSearchIndex()
        let inserted = try store.insertMessages([incoming(account, "draft", key: "a")])
        try store.write { db in try db.execute(sql: "UPDATE message SET body = 'final' WHERE id = ?", arguments: [inserted[0].id!]) }
        try store.catchUpSearchIndex()
        #expect(try searchable(store, "draft").isEmpty)
        #expect(try searchable(store, "final") == [inserted[0].id!])
        // FTS5 checks the index against the content table, and throws if they differ.
        try store.write { db in try db.execute(sql: "INSERT INTO message_fts(message_fts) VALUES('integrity-check')") }
    }

    @Test func migration__of_a_large_store_is_announced_before_it_starts__a_small_one_is_not() throws {
        func versionNine(messages: Int) throws -> String {
            try versionNineStore { db in
                try db.execute(
                    sql: """
                        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                        INSERT INTO message(account_id, conversation, direction, sender, recipient, body, timestamp, received_at, dedup_key)
                        SELECT 1, 'bob@example.org', 'in', 'bob@example.org/x', 'alice@example.org', 'm' || i, i, i, 'k' || i FROM n
                        """,
                    arguments: [messages])
            }
        }
        var heard: [Store.UpgradeStep] = []
        let large = try Store(directory: try versionNine(messages: Store.upgradeWorthAnnouncing)) { heard.append($0) }
        // Every migration after version 9, each announced before it runs, in order.
        let pending = SchemaMigrations.all.count - 9
        #expect(heard.map(\.step) == Array(1...pending))
        #expect(heard.allSatisfy { $0.steps == pending && $0.messages == Store.upgradeWorthAnnouncing })
        #expect(heard.first?.name == "ingest at volume")
        #expect(try large.searchIndexBacklog() == 0)
        _ = try Store(directory: large.directory) { heard.append($0) }
        #expect(heard.count == pending, "an upgraded store is not announced again")
        _ = try Store(directory: try versionNine(messages: 10)) { heard.append($0) }
        #expect(heard.count == pending, "a small store upgrades without a word")
    }

    @Test func migration__a_version_9_store_keeps_every_message_its_index_and_its_dedup() throws {
        let directory = try versionNineStore { db in
            for n in 1...300 {
                try db.execute(
                    sql: """
                        INSERT INTO message(account_id, conversation, direction, sender, recipient, body, timestamp, received_at, dedup_key)
                        VALUES (1, 'bob@example.org', 'in', 'bob@example.org/x', 'alice@example.org', ?, ?, ?, ?)
                        """,
                    arguments: ["old message \(n) caf\u{e9}", Double(n), Double(n), "o:\(n)"])
            }
        }
        let store = try Store(directory: directory)
        let account = try #require(try store.accounts().first)
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org", limit: 1000).count == 300)
        #expect(try store.searchIndexBacklog() == 0, "what the old triggers indexed counts as indexed")
        #expect(try searchable(store, "cafe").count == 300)
        // An old message fetched again (a MAM catch-up overlap) is still a duplicate.
        var again = incoming(account, "old message 7", key: "o:7")
        again.accountID = account.rowID
        #expect(try store.insertMessages([again]).isEmpty)
        #expect(try store.insertMessages([incoming(account, "new one", key: "o:301")]).count == 1)
    }
}
