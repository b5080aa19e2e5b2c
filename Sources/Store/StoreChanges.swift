import Foundation
import GRDB
import Synchronization

/// Wakes a waiter when anything is committed to the Store, by this process or another.
///
/// GRDB's observations see only the writes of their own pool, and the writer a waiter cares
/// about is usually another process (the connection's owner). SQLite's `PRAGMA data_version`
/// changes on a connection whenever any *other* connection commits, so a connection of our
/// own that never writes sees every commit, the pool's and other processes'. In WAL mode it
/// reads the shared-memory index and touches no file, so polling it every few milliseconds
/// costs next to nothing, and needs no wake file or socket that an owner must remember to touch.
public final class StoreChanges: Sendable {
    private let connection: DatabaseQueue
    private let seen: Mutex<Int?> = Mutex(nil)
    /// How often `next` looks: short enough that a waiter learns an outcome without a
    /// noticeable delay, long enough to cost nothing.
    public static let interval: Duration = .milliseconds(20)

    /// A watcher of `store` (its own SQLite connection, closed with it).
    public init(_ store: Store) throws {
        var config = Configuration()
        config.label = "tern-changes"
        config.busyMode = .timeout(10)
        connection = try DatabaseQueue(path: store.databasePath, configuration: config)
        _ = try hasChanged()
    }

    /// Whether anything was committed since the last call (or since `init`).
    public func hasChanged() throws -> Bool {
        let version = try connection.read { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        return seen.withLock { last in
            defer { last = version }
            return last != nil && last != version
        }
    }

    /// Returns once something was committed, or at `deadline` (false), or on cancellation.
    /// A display that follows the Store all day may look less often (`every`).
    public func next(before deadline: ContinuousClock.Instant, every pause: Duration = interval) async -> Bool {
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if (try? hasChanged()) ?? true { return true }
            try? await Task.sleep(for: pause)
        }
        return false
    }

    /// How often a long-lived display (a shell beside the owner, `--watch`) looks.
    public static let displayInterval: Duration = .milliseconds(100)
}
