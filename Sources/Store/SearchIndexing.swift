import Dispatch
import GRDB

/// The search index trails the inserts (DESIGN §7): indexing each burst inline by trigger cost
/// most of the insert rate, and FTS5 writes far fewer, larger segments when it takes thousands
/// of rows per transaction. `search_index.indexed_up_to` (migration 0010) is the high-water
/// mark: every row at or below it is in `message_fts` with its current body, none above it is,
/// and `message_time_block` covers its timestamp (migration 0015).
/// A crash leaves only a backlog above the mark, which the next pass takes in.
extension Store {
    /// How many rows a pass indexes per transaction: long enough to batch well, short enough
    /// that an ingest waiting for the write lock is not held up for long.
    public static let searchIndexBatch = 20_000

    /// How long the index trails a burst of inserts: the wait gathers the next bursts into
    /// the same batch, and keeps the trail under a second (DESIGN §7).
    static let searchIndexDelay: DispatchTimeInterval = .milliseconds(250)

    /// Passes run here, off the caller's thread and off Swift's cooperative pool: a pass holds
    /// the write lock for a while, and the engine's tasks must not wait behind it.
    private static let indexQueue = DispatchQueue(label: "tern-search-index", qos: .utility)

    /// Asks for a background pass soon, unless one is already waiting. Called after every
    /// commit that stores messages; a failed pass is retried by the next call.
    public func scheduleSearchIndexing() {
        let alreadyWaiting = indexPassWaiting.withLock { waiting in
            defer { waiting = true }
            return waiting
        }
        guard !alreadyWaiting else { return }
        Self.indexQueue.asyncAfter(deadline: .now() + Self.searchIndexDelay) { [self] in
            // Cleared first: rows committed during this pass ask for the next one.
            indexPassWaiting.withLock { $0 = false }
            while ((try? indexPendingMessages()) ?? 0) > 0 {}
        }
    }

    /// Rows stored but not yet searchable (an upper bound: ids above the mark may be gaps).
    public func searchIndexBacklog() throws -> Int {
        try read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT (SELECT coalesce(max(id), 0) FROM message), indexed_up_to FROM search_index WHERE id = 1")
            guard let row else { return 0 }
            return max(0, Int(row[0] as Int64) - Int(row[1] as Int64))
        }
    }

    /// Indexes up to `limit` rows above the mark in one transaction and moves the mark past
    /// them. Returns how many rows it indexed: 0 when the index has caught up.
    @discardableResult
    public func indexPendingMessages(limit: Int = Store.searchIndexBatch) throws -> Int {
        try write { db in
            let mark = try Int64.fetchOne(db, sql: "SELECT indexed_up_to FROM search_index WHERE id = 1") ?? 0
            guard
                let upTo = try Int64.fetchOne(
                    db, sql: "SELECT max(id) FROM (SELECT id FROM message WHERE id > ? ORDER BY id LIMIT ?)",
                    arguments: [mark, limit])
            else { return 0 }
            try db.execute(
                sql: """
                    INSERT INTO message_fts(rowid, body, meta)
                    SELECT id, body, meta FROM message_search_source WHERE id > ? AND id <= ? ORDER BY id
                    """,
                arguments: [mark, upTo])
            let indexed = db.changesCount
            // Each block's timestamps widen to cover its new rows (migration 0015: search's time ranges).
            try db.execute(
                sql: """
                    INSERT INTO message_time_block (block, min_timestamp, max_timestamp)
                    SELECT id >> 10, min(timestamp), max(timestamp) FROM message WHERE id > ? AND id <= ? GROUP BY id >> 10
                    ON CONFLICT (block) DO UPDATE SET
                        min_timestamp = min(min_timestamp, excluded.min_timestamp),
                        max_timestamp = max(max_timestamp, excluded.max_timestamp)
                    """,
                arguments: [mark, upTo])
            try db.execute(sql: "UPDATE search_index SET indexed_up_to = ? WHERE id = 1", arguments: [upTo])
            return indexed
        }
    }

    /// Indexes everything stored so far, a batch per transaction; `progress` hears (done, total)
    /// after each batch. Searches call this first, so what is stored is what is found.
    public func catchUpSearchIndex(progress: ((Int, Int) -> Void)? = nil) throws {
        let total = try searchIndexBacklog()
        guard total > 0 else { return }
        var done = 0
        while true {
            let indexed = try indexPendingMessages()
            if indexed == 0 { return }
            done += indexed
            progress?(min(done, total), total)
        }
    }
}
