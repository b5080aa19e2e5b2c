import Foundation
import Store
import XMPP

/// Gets what a command stored (an outbox message, an intent, a wanted room) carried out, and
/// waits for the outcome to appear in the Store (DESIGN §2, issue 13) — the one way every
/// subcommand and shell command does so, whoever owns the connection:
///
/// - this process's own engine (a shell that owns it): told to carry intents out now;
/// - nobody: this process takes the account lock and runs one sync pass, which carries out
///   everything stored (the new work among it) and disconnects;
/// - another process: it carries the work out within its poll interval; we watch the Store
///   (`StoreChanges`: SQLite's data_version, which sees other processes' commits) until
///   `settled` says it is done, or `wait` runs out.
public struct IntentRunner: Sendable {
    public let store: Store
    public let account: Account

    public init(store: Store, account: Account) {
        self.store = store
        self.account = account
    }

    /// How it went. Not settled means still stored, to be carried out later.
    public struct Outcome: Sendable {
        public var settled: Bool
        /// Why it is not settled, when something is worth saying (offline, the owner silent).
        public var note: String?
        /// The pass this process ran itself, when it ran one.
        public var ownSession: SyncReport?
    }

    /// - Parameters:
    ///   - engine: this process's engine, if it has one: told to carry intents out now (once
    ///     online, if it is not yet), and waited for; no lock is taken and no pass run.
    ///   - mayConnect: false when this process chose to stay offline: never run a pass of our
    ///     own, but still wait for another process that owns the connection.
    ///   - wait: how long an owner (this process's engine or another's) is waited for.
    ///   - settled: reads the Store: is it done?
    public func run(
        engine: SyncEngine? = nil, mayConnect: Bool = true, wait: Duration,
        settled: @escaping @Sendable () throws -> Bool
    ) async throws -> Outcome {
        if try settled() { return Outcome(settled: true) }
        // Watching starts before anything is asked of an owner, so no commit of its is missed.
        let changes = try StoreChanges(store)
        if let engine {
            Task {
                await engine.runIntents()
                await engine.flush()
            }
            let note = await engine.isOnline ? "not done yet" : "offline"
            return try await watch(changes, wait: wait, settled: settled, note: note)
        }
        guard account.state == .active else { return Outcome(settled: false, note: "\(account.jid) is logged out") }
        if mayConnect, let lock = try AccountLock.acquire(directory: store.directory, accountJID: account.jid) {
            let report = await SyncEngine(store: store, account: account).syncOnce()
            withExtendedLifetime(lock) {}
            let done = try settled()
            return Outcome(
                settled: done, note: done ? nil : report.error.map { "not connected: \($0)" } ?? "not done in this pass",
                ownSession: report)
        }
        guard let pid = AccountLock.holder(directory: store.directory, accountJID: account.jid), pid != getpid(),
            AccountLock.hasLiveHolder(directory: store.directory, accountJID: account.jid)
        else { return Outcome(settled: false, note: "offline") }
        return try await watch(changes, wait: wait, settled: settled, note: "tern (pid \(pid)) holds the connection and has not done it yet")
    }

    private func watch(
        _ changes: StoreChanges, wait: Duration, settled: @Sendable () throws -> Bool, note: String
    ) async throws -> Outcome {
        let deadline = ContinuousClock.now + wait
        while await changes.next(before: deadline) {
            if try settled() { return Outcome(settled: true) }
        }
        return try settled() ? Outcome(settled: true) : Outcome(settled: false, note: note)
    }

    /// Runs until the intent `id` is finished (done, failed or cancelled).
    public func run(intent id: Int64, engine: SyncEngine? = nil, mayConnect: Bool = true, wait: Duration) async throws
        -> (Intent?, Outcome)
    {
        let store = store
        let outcome = try await run(engine: engine, mayConnect: mayConnect, wait: wait) {
            try store.intent(id: id)?.state.isFinished ?? true
        }
        return (try store.intent(id: id), outcome)
    }
}
