import Foundation
import GRDB
import Testing
@testable import Migrations
@testable import Store

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "tern-store-\(UUID().uuidString)"
    return path
}

func makeStore() throws -> (Store, Account) {
    let store = try Store(directory: temporaryDirectory() + "/data")
    let account = try store.saveAccount(
        Account(jid: "alice@example.org", resource: "tern.test", createdAt: Store.now), credential: nil)
    return (store, account)
}

/// A data directory holding a store as version 9 left it (before the ingest schema of 0010),
/// with account 1 and whatever `fill` writes: what the upgrade tests start from.
func versionNineStore(_ fill: (Database) throws -> Void) throws -> String {
    let directory = temporaryDirectory()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let queue = try DatabaseQueue(path: directory + "/tern.sqlite")
    try Store.migrator.migrate(queue, upTo: "0009_caps_own_answers")
    try queue.write { db in
        try db.execute(sql: "INSERT INTO account(id, jid, resource, created_at) VALUES (1, 'alice@example.org', 'r', 0)")
        try fill(db)
    }
    try queue.close()
    return directory
}

/// A new data directory whose store is migrated up to `version` (the Store's own SQL
/// function registered, as later migrations need it), for an upgrade test to fill.
func storeAt(version: String) throws -> (directory: String, queue: DatabaseQueue) {
    let directory = temporaryDirectory()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var configuration = Configuration()
    configuration.prepareDatabase { db in db.add(function: DedupHash.sqlFunction) }
    let queue = try DatabaseQueue(path: directory + "/tern.sqlite", configuration: configuration)
    try Store.migrator.migrate(queue, upTo: version)
    return (directory, queue)
}

func incoming(_ account: Account, _ body: String, key: String, from: String = "bob@example.org/phone", at time: Double = 1_700_000_000) -> StoredMessage {
    StoredMessage(
        accountID: account.rowID, conversation: "bob@example.org", direction: .incoming, sender: from,
        recipient: account.jid, body: body, timestamp: time, receivedAt: time, dedupKey: key)
}

@Suite struct StoreTests {
    @Test func store__creates_private_directory_and_files() throws {
        let directory = temporaryDirectory() + "/nested/data"
        let store = try Store(directory: directory)
        _ = try store.accounts()
        let dirMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            let path = store.databasePath + suffix
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path)")
        }
    }

    @Test func store__tightens_a_too_open_existing_directory() throws {
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        _ = try Store(directory: directory)
        let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }

    @Test func store__uses_wal_and_foreign_keys() throws {
        let (store, _) = try makeStore()
        let journal = try store.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        let foreignKeys = try store.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(journal == "wal")
        #expect(foreignKeys == 1)
    }

    @Test func migrations__every_sql_file_is_embedded_in_order() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Migrations/sql").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted().map { String($0.dropLast(4)) }
        #expect(SchemaMigrations.all.map(\.identifier) == files)
        for (migration, file) in zip(SchemaMigrations.all, files) {
            let onDisk = try String(contentsOfFile: folder.path + "/\(file).sql", encoding: .utf8)
            #expect(migration.sql == onDisk)
        }
    }

    @Test func messages__duplicates_in_a_conversation_are_skipped() throws {
        let (store, account) = try makeStore()
        let first = try store.insertMessages([incoming(account, "hello", key: "o:1"), incoming(account, "again", key: "o:1")])
        #expect(first.count == 1)
        let second = try store.insertMessages([incoming(account, "hello", key: "o:1"), incoming(account, "new", key: "o:2")])
        #expect(second.map(\.body) == ["new"])
        let history = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(history.map(\.message.body) == ["hello", "new"])
    }

    @Test func messages__fts_index_once_caught_up_follows_inserts_updates_and_deletes() throws {
        let (store, account) = try makeStore()
        let inserted = try store.insertMessages([incoming(account, "the quick brown fox", key: "a"), incoming(account, "lazy dog", key: "b")])
        func matches(_ query: String) throws -> [Int64] {
            try store.catchUpSearchIndex()
            return try store.read { db in
                try Int64.fetchAll(db, sql: "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid", arguments: [query])
            }
        }
        #expect(try matches("quick") == [inserted[0].id!])
        try store.write { db in try db.execute(sql: "UPDATE message SET body = 'slow turtle' WHERE id = ?", arguments: [inserted[0].id!]) }
        #expect(try matches("quick").isEmpty)
        #expect(try matches("turtle") == [inserted[0].id!])
        try store.write { db in try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [inserted[1].id!]) }
        #expect(try matches("dog").isEmpty)
    }

    @Test func startup_queries__never_sort_the_whole_history() throws {
        let (store, account) = try makeStore()
        _ = try store.insertMessages((1...50).map { incoming(account, "m\($0)", key: "k\($0)", at: Double($0)) })
        let plan = try store.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + Store.lastMessageSQL, arguments: [account.rowID])
                .map { $0["detail"] as String? ?? "" }
        }
        #expect(!plan.joined().contains("TEMP B-TREE"), "\(plan)")
        #expect(try store.lastMessageID(accountID: account.rowID) == 50)
        #expect(try store.lastConversation(accountID: account.rowID) == "bob@example.org")
    }

    @Test func history__is_oldest_first_and_limited_to_the_latest() throws {
        let (store, account) = try makeStore()
        _ = try store.insertMessages((1...5).map { incoming(account, "m\($0)", key: "k\($0)", at: Double($0)) })
        let last3 = try store.history(accountID: account.rowID, conversation: "bob@example.org", limit: 3)
        #expect(last3.map(\.message.body) == ["m3", "m4", "m5"])
        let before = try store.history(accountID: account.rowID, conversation: "bob@example.org", limit: 10, before: 3)
        #expect(before.map(\.message.body) == ["m1", "m2"])
    }

    @Test func outbox__enqueue_writes_row_and_history_in_creation_order() throws {
        let (store, account) = try makeStore()
        for n in 1...3 {
            try store.enqueue(Store.NewOutgoing(
                id: "id-\(n)", accountID: account.rowID, sender: "alice@example.org/tern", recipient: "bob@example.org",
                conversation: "bob@example.org", type: "chat", body: "hi \(n)", stanza: "<message/>"))
        }
        let queued = try store.queuedOutbox(accountID: account.rowID)
        #expect(queued.map(\.id) == ["id-1", "id-2", "id-3"])
        #expect(queued.map(\.seq) == [1, 2, 3])
        let history = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(history.map(\.message.body) == ["hi 1", "hi 2", "hi 3"])
        #expect(history.allSatisfy { $0.state == .queued && $0.message.originID == $0.message.outboxID })
    }

    @Test func outbox__state_moves_only_forward_from_allowed_states() throws {
        let (store, account) = try makeStore()
        try store.enqueue(Store.NewOutgoing(
            id: "x", accountID: account.rowID, sender: "a", recipient: "bob@example.org", conversation: "bob@example.org",
            type: "chat", body: "b", stanza: "<message/>"))
        try store.markOutbox(ids: ["x"], as: .delivered, from: [.sent])  // not sent yet: no change
        #expect(try store.outboxItem(id: "x")?.state == .queued)
        try store.markOutbox(ids: ["x"], as: .sent, from: [.queued])
        let sent = try #require(try store.outboxItem(id: "x"))
        #expect(sent.state == .sent)
        #expect(sent.attempts == 1)
        #expect(sent.sentAt != nil)
        #expect(try store.queuedOutbox(accountID: account.rowID).isEmpty)
    }

    @Test func accounts__first_is_default_and_credentials_are_dropped_with_the_account() throws {
        let (store, account) = try makeStore()
        #expect(account.isDefault)
        let second = try store.saveAccount(Account(jid: "carol@example.org", resource: "r", createdAt: 0), credential: nil)
        #expect(!second.isDefault)
        #expect(try store.defaultAccount()?.jid == "alice@example.org")
        try store.saveCredential(.scram(
            accountID: account.rowID, mechanism: "sha256", salt: Data([1]), iterations: 4096,
            clientKey: Data([2]), serverKey: Data([3])))
        #expect(try store.credential(accountID: account.rowID)?.iterations == 4096)
        _ = try store.write { db in try Account.deleteOne(db, key: account.rowID) }
        #expect(try store.credential(accountID: account.rowID) == nil)
    }
}
