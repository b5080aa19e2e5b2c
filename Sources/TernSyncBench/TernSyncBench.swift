import Foundation
import Store
import Sync
import XMPP

/// XEP-0198 §4 (acks) and §5 (resumption) end to end: release-mode figures for flushing the
/// outbox to a real Prosody, and for a resumed session's flush (DESIGN §7); asserts nothing.
///
///     make bench     (starts its own throwaway server)
///     set -a; . DIR/env; set +a; .build/release/tern-sync-bench [messages] [resume-rounds]
///
/// Sender and receiver are registered in-band (XEP-0077) with fresh names, so a run never
/// touches other tests' accounts. The receiver stays offline: the server stores the messages.
@main
struct TernSyncBench {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        let count = arguments.first.flatMap(Int.init) ?? 10_000
        let rounds = arguments.dropFirst().first.flatMap(Int.init) ?? 5
        defer {
            for directory in BenchServer.scratch.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: directory) }
        }
        do {
            let server = try BenchServer.fromEnvironment()
            // Prosody keeps at most 10,000 archived and 10,000 offline messages per user
            // (storage_archive_item_limit); past it every message costs a full rewrite of the
            // archive or bounces. Receivers get at most half that, so no phase ever nears it.
            var receivers: [String] = []
            for _ in 0..<max(1, (count + Self.perReceiver - 1) / Self.perReceiver) {
                receivers.append(try await server.registerFresh("bench-rx"))
            }
            try await flush(server, count: count, to: receivers)
            try await resume(server, rounds: rounds, batch: 100, to: try await server.registerFresh("bench-rx"))
        } catch {
            FileHandle.standardError.write(Data("tern-sync-bench: \(error)\n".utf8))
            for directory in BenchServer.scratch.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: directory) }
            exit(1)
        }
    }

    static let perReceiver = 5_000

    /// Queues `count` messages offline (round robin over `receivers`), goes online with
    /// `run()`, and times from the end of `connect()` to the last XEP-0198 `<a/>` covering them.
    static func flush(_ server: BenchServer, count: Int, to receivers: [String]) async throws {
        let (store, account) = try await server.loggedIn(try await server.registerFresh("bench-tx"))
        let queueStart = ContinuousClock.now
        for n in 0..<count {
            try Outbox.enqueueChat(store: store, account: account, to: receivers[n % receivers.count], body: "Benchmark message \(n): the quick brown fox jumps over the lazy dog.")
        }
        let queueSeconds = seconds(ContinuousClock.now - queueStart)

        // run(), not connect() + flush(): the real path, and its upkeep asks for the ack of a
        // batch too small (under 25) to carry its own <r/>.
        let engine = SyncEngine(store: store, account: account)
        let recorder = Recorder()
        let consumer = recorder.consume(engine.events)
        let running = Task { await engine.run() }
        try await waitFor("\(count) acks", timeout: .seconds(120)) { recorder.ackedCount >= count }
        let seen = recorder.snapshot
        await engine.stop()
        await running.value
        consumer.cancel()

        let states = Dictionary(grouping: try store.outbox(accountID: account.rowID, includeFinished: true), by: \.state)
            .mapValues(\.count)
        guard seen.sent.count == count, let connecting = seen.connecting.first, let connected = seen.online.first?.at,
            let lastSent = seen.lastSentAt, let lastAcked = seen.lastAckedAt
        else { throw BenchError("flush wrote \(seen.sent.count) of \(count) rows") }
        // The target is the flush, the client's work: every row out of the outbox (marked sent,
        // serialized, counted, queued for the socket writer), pipelined. The bytes then go
        // and are acked at the pace Prosody takes messages in (archive, offline store), a
        // pace an independent client (slixmpp) meets too: that figure is the server's.
        let flushed = seconds(connected.duration(to: lastSent))
        let total = seconds(connected.duration(to: lastAcked))
        print(String(
            format: "sync flush: %d messages out of the outbox, queued for the socket, %.0f ms after connect (target < 2 s: %@); connect %.0f ms; "
                + "server acked all %.2f s after connect = %.0f msgs/s (Prosody's pace), in %d ack burst(s)",
            count, flushed * 1000, flushed < 2 ? "met" : "MISSED", ms(connecting.duration(to: connected)),
            total, Double(count) / total, seen.ackBursts))
        print(String(
            format: "sync flush: queueing %d rows offline took %.2f s; final states %@",
            count, queueSeconds, states.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: " ")))
        if (states[.failed] ?? 0) > 0 { throw BenchError("\(states[.failed] ?? 0) rows failed") }
    }

    /// With `run()` online and idle: drop the link, queue `batch` rows, `retryNow()`, and time
    /// until every row is acked on the resumed session.
    static func resume(_ server: BenchServer, rounds: Int, batch: Int, to receiver: String) async throws {
        let (store, account) = try await server.loggedIn(try await server.registerFresh("bench-rs"))
        let engine = SyncEngine(store: store, account: account)
        let recorder = Recorder()
        let consumer = recorder.consume(engine.events)
        let running = Task { await engine.run() }
        try await waitFor("the first session", timeout: .seconds(30)) { recorder.onlineCount >= 1 }
        // Let the new session's features (roster, presence, archive catch-up) finish first.
        try await Task.sleep(for: .seconds(1))

        var totals: [Double] = []
        var onWire: [Double] = []
        var phases: [String] = []
        for round in 1...max(1, rounds) {
            let before = recorder.snapshot
            await engine.dropLink()
            try await waitFor("the link to drop", timeout: .seconds(10)) { recorder.offlineCount > before.offline.count }
            var ids: [String] = []
            for n in 0..<batch {
                ids.append(try Outbox.enqueueChat(store: store, account: account, to: receiver, body: "Resume round \(round) message \(n)").id)
            }
            // Outside the clock: run() must be in its backoff wait for retryNow() to cut it short.
            try await Task.sleep(for: .milliseconds(10))
            let start = ContinuousClock.now
            await engine.retryNow()
            try await waitFor("round \(round) acks", timeout: .seconds(30)) { recorder.allAcked(ids) }
            let seen = recorder.snapshot
            guard let acked = seen.ackedAt(ids), let sent = seen.sentAt(ids) else { throw BenchError("round \(round) lost its rows") }
            guard let online = seen.online.dropFirst(before.online.count).first else {
                throw BenchError("round \(round) never came online")
            }
            guard online.detail.hasSuffix("resumed") else {
                throw BenchError("round \(round) did not resume: \(online.detail)")
            }
            // The engine may start reconnecting on its own a little before retryNow() (a
            // stale poll timer ends the backoff wait early): the clock then starts there.
            let origin = min(start, seen.connecting.dropFirst(before.connecting.count).first ?? start)
            totals.append(ms(origin.duration(to: acked)))
            onWire.append(ms(origin.duration(to: sent)))
            phases.append(String(
                format: "%.0f/%.0f/%.0f/%.0f", ms(origin.duration(to: start)), ms(origin.duration(to: online.at)),
                ms(origin.duration(to: sent)), ms(origin.duration(to: acked))))
            try await Task.sleep(for: .milliseconds(400))
        }
        await engine.stop()
        await running.value
        consumer.cancel()
        let failed = try store.outbox(accountID: account.rowID, includeFinished: true).filter { $0.state == .failed }.count
        if failed > 0 { throw BenchError("\(failed) resumed rows failed (bounced by the server)") }

        let wire = onWire.sorted()
        let sorted = totals.sorted()
        print(String(
            format: "sync resume: %d queued messages out of the outbox after the link came back, %d rounds, all resumed: min %.1f ms, median %.1f ms, max %.1f ms (target < 200 ms: %@)",
            batch, wire.count, wire[0], wire[wire.count / 2], wire[wire.count - 1], wire[wire.count - 1] < 200 ? "met" : "MISSED"))
        print(String(
            format: "sync resume: and acked by the server (Prosody's pace): min %.1f ms, median %.1f ms, max %.1f ms",
            sorted[0], sorted[sorted.count / 2], sorted[sorted.count - 1]))
        print("sync resume: per round, ms from reconnect start to retryNow()/online/sent/acked: " + phases.joined(separator: "  "))
    }

    /// Polls `condition`; the figures come from the recorder's timestamps, not from here.
    static func waitFor(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw BenchError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func ms(_ duration: Duration) -> Double { seconds(duration) * 1000 }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The server `scripts/testserver` wrote into the environment.
struct BenchServer {
    let host: String
    let port: Int
    let domain: String
    let caFile: String

    static func fromEnvironment() throws -> BenchServer {
        let env = ProcessInfo.processInfo.environment
        func need(_ key: String) throws -> String {
            guard let value = env[key], !value.isEmpty else {
                throw BenchError("\(key) is not set: run `make bench`, or source a test server's env file first")
            }
            return value
        }
        guard let port = Int(try need("TERN_TEST_PORT")) else { throw BenchError("TERN_TEST_PORT is not a number") }
        return BenchServer(host: try need("TERN_TEST_HOST"), port: port, domain: try need("TERN_TEST_DOMAIN"), caFile: try need("TERN_TEST_CA"))
    }

    func draft(_ jid: String) -> Account {
        Account(jid: jid, resource: Login.newResource(), host: host, port: port, caFile: caFile, createdAt: Store.now)
    }

    static func password(_ jid: String) -> String { "pw-" + jid }

    /// Registers `prefix-<random>@domain` in-band and returns its JID.
    func registerFresh(_ prefix: String) async throws -> String {
        let user = prefix + "-" + String(UUID().uuidString.lowercased().prefix(8))
        let jid = "\(user)@\(domain)"
        let session = try await AccountLifecycle.beginRegistration(account: draft(jid))
        try await session.submit(["username": user, "password": Self.password(jid)])
        return jid
    }

    /// A fresh store with `jid` logged in (the engine then uses the stored SCRAM keys), in a
    /// temporary directory the process removes when it ends.
    func loggedIn(_ jid: String) async throws -> (Store, Account) {
        let directory = NSTemporaryDirectory() + "tern-sync-bench-\(UUID().uuidString)"
        BenchServer.scratch.withLock { $0.append(directory) }
        let store = try Store(directory: directory)
        let account = try await Login.login(store: store, account: draft(jid), password: Self.password(jid)).account
        return (store, account)
    }

    static let scratch = LockedList()
}

/// Directories to remove at exit.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func withLock<T>(_ body: (inout [String]) -> T) -> T { lock.withLock { body(&items) } }
}

/// Stamps each engine event as it arrives. A lock, not an actor, so the consumer never
/// waits behind a reader and the stamps stay close to when the engine yielded them.
final class Recorder: @unchecked Sendable {
    struct Snapshot {
        var sent: [String: ContinuousClock.Instant] = [:]
        var acked: [String: ContinuousClock.Instant] = [:]
        var lastSentAt: ContinuousClock.Instant?
        var lastAckedAt: ContinuousClock.Instant?
        /// `<a/>` answers as seen from here: acked events more than 20 ms after the previous one.
        var ackBursts = 0
        var connecting: [ContinuousClock.Instant] = []
        var online: [(at: ContinuousClock.Instant, detail: String)] = []
        var offline: [ContinuousClock.Instant] = []

        /// When the last of `ids` was acked, once all are.
        func ackedAt(_ ids: [String]) -> ContinuousClock.Instant? { latest(ids, in: acked) }
        func sentAt(_ ids: [String]) -> ContinuousClock.Instant? { latest(ids, in: sent) }

        private func latest(_ ids: [String], in stamps: [String: ContinuousClock.Instant]) -> ContinuousClock.Instant? {
            var last: ContinuousClock.Instant?
            for id in ids {
                guard let at = stamps[id] else { return nil }
                last = max(last ?? at, at)
            }
            return last
        }
    }

    private let lock = NSLock()
    private var state = Snapshot()

    /// A copy for the final figures; the cheap queries below are for polling while events arrive.
    var snapshot: Snapshot { lock.withLock { state } }
    var ackedCount: Int { lock.withLock { state.acked.count } }
    var onlineCount: Int { lock.withLock { state.online.count } }
    var offlineCount: Int { lock.withLock { state.offline.count } }
    func allAcked(_ ids: [String]) -> Bool { lock.withLock { ids.allSatisfy { state.acked[$0] != nil } } }

    func consume(_ events: EventChannel<SyncEvent>.Events) -> Task<Void, Never> {
        Task.detached { [self] in
            for await event in events { record(event, at: .now) }
        }
    }

    private func record(_ event: SyncEvent, at now: ContinuousClock.Instant) {
        lock.withLock {
            switch event {
            case .outbox(let id, .sent):
                state.sent[id] = now
                state.lastSentAt = now
            case .outbox(let id, .acked):
                let sameBurst = state.lastAckedAt.map { $0.duration(to: now) < .milliseconds(20) } ?? false
                if !sameBurst { state.ackBursts += 1 }
                state.acked[id] = now
                state.lastAckedAt = now
            case .connection(.connecting, _):
                state.connecting.append(now)
            case .connection(.online, let detail):
                state.online.append((now, detail ?? ""))
            case .connection(.offline, _):
                state.offline.append(now)
            default:
                break
            }
        }
    }
}
