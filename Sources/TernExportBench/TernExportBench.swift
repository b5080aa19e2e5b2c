import Foundation
import GRDBSQLite
import Store

/// Release-mode benchmark of `tern export` and `tern history --json` (issue 12 §3, §4); prints
/// figures, asserts nothing.
///
///     swift build -c release && .build/release/tern-export-bench [messages]
///
/// A generated store is exported by the real `tern` binary (next to this one) as a child
/// process, so the rate and the peak RSS (the child's `ru_maxrss`) are what a user gets. The
/// reference, measured in the same run on the same rows, is a raw SQLite `SELECT` of the same
/// columns through the C API: stepping and reading every column, formatting nothing.
@main
struct TernExportBench {
    static func main() throws {
        let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 1_000_000
        let home = NSTemporaryDirectory() + "tern-export-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let tern = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tern").path

        var clock = ContinuousClock.now
        let database = try generate(count, home: home)
        print(String(format: "generated %d messages in %.1f s", count, seconds(since: clock)))

        clock = ContinuousClock.now
        let selected = try rawSelect(database)
        let referenceRate = Double(selected) / seconds(since: clock)
        print(String(format: "reference, raw SQLite SELECT of the same columns: %d rows, %.0f rows/s", selected, referenceRate))

        for format in ["jsonl", "md"] {
            let run = try child(tern, ["--home", home, "export", "--format", format])
            let rate = Double(count) / run.seconds
            print(String(format: "tern export --format %@: %.2f s, %.0f rows/s (%.2f× the raw SELECT), peak RSS %.1f MB",
                         format, run.seconds, rate, rate / referenceRate, run.peakMB))
        }
        for json in [true, false] {
            let history = try child(
                tern, ["--home", home, "history", "peer0@example.org", "--limit", "50000"] + (json ? ["--json"] : []))
            print(String(format: "tern history --limit 50000%@: %.2f s, %.0f rows/s, peak RSS %.1f MB",
                         json ? " --json" : "", history.seconds, 50_000 / history.seconds, history.peakMB))
        }
    }

    /// A store made by tern itself (schema, account), then `count` rows through one prepared
    /// INSERT in one transaction: a tenth in one busy conversation, the rest over 97 others.
    /// The inline search trigger is set aside while they go in (the export never reads the
    /// index) and put back after, so generating stays a matter of seconds.
    static func generate(_ count: Int, home: String) throws -> String {
        let store = try Store(directory: home)
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "r", createdAt: 0), credential: nil)
        let path = store.databasePath
        let db = try SQLite(path)
        let trigger = try db.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'message_fts_insert'")
        try db.execute("BEGIN")
        if trigger != nil { try db.execute("DROP TRIGGER message_fts_insert") }
        let insert = try db.prepare("""
            INSERT INTO message (account_id, conversation, direction, type, sender, recipient, body, timestamp,
                                 received_at, stanza_key, origin_id, dedup_key, is_read)
            VALUES (?, ?, ?, 'chat', ?, ?, ?, ?, ?, ?, ?, ?, 1)
            """)
        defer { sqlite3_finalize(insert) }
        let start = 1_780_000_000.0
        for n in 0..<count {
            let peer = n % 10 == 0 ? "peer0@example.org" : "peer\(1 + n % 97)@example.org"
            let outgoing = n % 3 == 0
            let id = "m\(n)-4f2a9c1e"
            let values: [String] = [
                peer, outgoing ? "out" : "in", outgoing ? "alice@example.org/r" : peer + "/phone",
                outgoing ? peer : "alice@example.org/r",
                "Message number \(n): the quick brown fox jumps over the \"lazy\" dog. Ünïcode ✓",
            ]
            sqlite3_reset(insert)
            sqlite3_bind_int64(insert, 1, account.rowID)
            for (index, value) in values.enumerated() { SQLite.bind(insert, Int32(index + 2), value) }
            sqlite3_bind_double(insert, 7, start + Double(n))
            sqlite3_bind_double(insert, 8, start + Double(n))
            SQLite.bind(insert, 9, id)
            SQLite.bind(insert, 10, id)
            SQLite.bind(insert, 11, "o:" + id)
            guard sqlite3_step(insert) == SQLITE_DONE else { throw SQLite.Failure(db.message) }
        }
        if let trigger { try db.execute(trigger) }
        try db.execute("COMMIT")
        return path
    }

    /// Steps through what export reads, in its order, reading every column; returns the rows.
    static func rawSelect(_ path: String) throws -> Int {
        let db = try SQLite(path)
        let select = try db.prepare("""
            SELECT message.id, message.account_id, message.conversation, message.direction, message.type, message.sender,
                   message.recipient, message.nick, message.body, message.timestamp, message.received_at, message.stanza_key,
                   message.origin_id, message.stanza_id, message.dedup_key, message.outbox_id, message.is_read,
                   message.edited_at, message.retracted_at, outbox.state
            FROM message LEFT JOIN outbox ON outbox.id = message.outbox_id
            WHERE message.account_id = 1 ORDER BY message.conversation, message.timestamp, message.id
            """)
        defer { sqlite3_finalize(select) }
        var rows = 0
        var checksum = 0
        while sqlite3_step(select) == SQLITE_ROW {
            rows += 1
            for column in 0..<sqlite3_column_count(select) {
                switch sqlite3_column_type(select, column) {
                case SQLITE_INTEGER: checksum &+= Int(sqlite3_column_int64(select, column))
                case SQLITE_FLOAT: checksum &+= Int(sqlite3_column_double(select, column))
                case SQLITE_TEXT:
                    _ = sqlite3_column_text(select, column)
                    checksum &+= Int(sqlite3_column_bytes(select, column))
                default: break
                }
            }
        }
        if checksum == 42 { print("") }  // keeps the reads
        return rows
    }

    struct ChildRun {
        var seconds: Double
        var peakMB: Double
    }

    /// Runs `path arguments` with stdout to /dev/null; its wall time and `ru_maxrss`.
    static func child(_ path: String, _ arguments: [String]) throws -> ChildRun {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw SQLite.Failure("cannot start \(path): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        let elapsed = seconds(since: start)
        guard status == 0 else { throw SQLite.Failure("\(path) \(arguments.joined(separator: " ")) exited with status \(status)") }
        return ChildRun(seconds: elapsed, peakMB: Double(usage.ru_maxrss) / 1024)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Just enough of the SQLite C API for generating and reading rows without GRDB in between.
final class SQLite {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let handle: OpaquePointer

    init(_ path: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw Failure("cannot open \(path)") }
        self.handle = handle
        sqlite3_busy_timeout(handle, 10_000)
    }

    deinit { sqlite3_close(handle) }

    var message: String { String(cString: sqlite3_errmsg(handle)) }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw Failure(message) }
    }

    func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw Failure(message) }
        return statement
    }

    func text(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }

    /// SQLITE_TRANSIENT: SQLite copies the text before the Swift string goes away.
    static func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String) {
        sqlite3_bind_text(statement, index, text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }
}
