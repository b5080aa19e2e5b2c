import Foundation
import GRDB
import Migrations
import Synchronization

/// The local SQLite store: tern's source of truth.
///
/// A GRDB `DatabasePool` in WAL mode with foreign keys on. The pool is the single owner of
/// the SQLite handles and serialises writers itself, so `Store` is a thin `Sendable` façade
/// rather than an actor: readers never wait behind the network or behind each other.
public final class Store: Sendable {
    public let directory: String
    public let databasePath: String
    let pool: DatabasePool
    /// Whether a background search-index pass is waiting to run (`scheduleSearchIndexing`).
    let indexPassWaiting = Mutex(false)

    public enum StoreError: Error, CustomStringConvertible {
        case cannotCreateDirectory(String, String)
        case unsafePermissions(String)
        case database(String)

        public var description: String {
            switch self {
            case .cannotCreateDirectory(let path, let why): "cannot create data directory \(path): \(why)"
            case .unsafePermissions(let path): "cannot make \(path) private (mode 0600)"
            case .database(let why): "store error: \(why)"
            }
        }
    }

    /// Opens (creating and migrating if needed) the store in `directory`.
    /// The directory is made 0700 and the database files 0600. `announceUpgrade` hears about
    /// each step of a schema upgrade of a store with many messages (it takes seconds), before
    /// the step starts.
    public init(directory: String, announceUpgrade: ((_ step: UpgradeStep) -> Void)? = nil) throws {
        self.directory = directory
        self.databasePath = (directory as NSString).appendingPathComponent("tern.sqlite")
        try Self.makePrivateDirectory(directory)
        // SQLite gives -wal and -shm the main file's mode, so creating it 0600 first covers all three.
        try Self.createPrivateFile(databasePath)

        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.label = "tern"
        config.prepareDatabase { db in db.add(function: DedupHash.sqlFunction) }
        do {
            pool = try DatabasePool(path: databasePath, configuration: config)
            try Self.migrate(pool, announcing: announceUpgrade)
        } catch let error as DatabaseError {
            throw StoreError.database(Self.reason(error))
        }
        for suffix in ["-wal", "-shm"] {
            chmod(databasePath + suffix, 0o600)
        }
    }

    /// One step of a schema upgrade: the `step`th of `steps` pending migrations.
    public struct UpgradeStep: Sendable, Equatable {
        public let messages: Int
        public let step: Int
        public let steps: Int
        /// What the step does, from the migration's name ("search prefixes").
        public let name: String
    }

    /// Below this many messages an upgrade takes well under a second: not worth a line.
    static let upgradeWorthAnnouncing = 100_000

    /// Runs the pending migrations one by one, so a large store's upgrade can show its progress.
    private static func migrate(_ pool: DatabasePool, announcing announce: ((UpgradeStep) -> Void)?) throws {
        let migrator = Self.migrator
        let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
        let pending = migrator.migrations.filter { !applied.contains($0) }
        guard !pending.isEmpty else { return }
        let messages = try pool.read { db in
            try db.tableExists("message") ? Int.fetchOne(db, sql: "SELECT max(id) FROM message") ?? 0 : 0
        }
        let listener = messages >= upgradeWorthAnnouncing ? announce : nil
        for (index, identifier) in pending.enumerated() {
            let name = identifier.drop { $0.isNumber || $0 == "_" }.replacingOccurrences(of: "_", with: " ")
            listener?(UpgradeStep(messages: messages, step: index + 1, steps: pending.count, name: name))
            try migrator.migrate(pool, upTo: identifier)
        }
        // The reads above opened reader connections whose schema cache predates the
        // migrations: without this, a table that gained columns fails to decode on them.
        pool.invalidateReadOnlyConnections()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in SchemaMigrations.all {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    static func makePrivateDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError.cannotCreateDirectory(path, error.localizedDescription)
            }
        } else if !isDirectory.boolValue {
            throw StoreError.cannotCreateDirectory(path, "a file of that name exists")
        }
        guard chmod(path, 0o700) == 0 else { throw StoreError.unsafePermissions(path) }
    }

    /// Creates `path` with mode 0600 if missing, and tightens it if it exists.
    public static func createPrivateFile(_ path: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.cannotCreateDirectory(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw StoreError.unsafePermissions(path) }
    }

    /// Runs a read on the pool, mapping SQLite errors to `StoreError`.
    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// Runs a write transaction on the pool.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    /// Whether `error` is about the rows being written (a constraint or trigger refused one, a
    /// value too big) rather than the Store itself (disk full, I/O, a broken schema): the first
    /// costs those rows, the second stops the writer until it is mended.
    public static func isRowError(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return [.SQLITE_CONSTRAINT, .SQLITE_TOOBIG, .SQLITE_MISMATCH, .SQLITE_RANGE].contains(error.resultCode)
    }

    /// What went wrong, in a line: SQLite's own message without the statement GRDB adds.
    public static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return error.message ?? "\(error.resultCode)"
    }


    public static var now: Double { Date().timeIntervalSince1970 }

    /// SQLite's own consistency check: `["ok"]` when the file is sound (after a crash, say).
    public func integrityCheck() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }
}
