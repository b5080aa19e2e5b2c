import Foundation
import Store
import Sync
import Synchronization
import Testing
import XMPP

/// Issue 11 §2 and DESIGN §6 (floods and hangs): a server that stops reading must not hang tern.
/// `FaultProxy.stallExisting` stops every byte in front of the real Prosody while the link stays
/// open, so tern's send buffer and the proxy's receive buffer fill up. A blocking write then never
/// returns, and with it the I/O thread: `close()`, the ack timeout, the reconnect loop and `/quit`.
extension FaultTests {
    /// 1,000 messages of 16 KiB: more than the loopback buffers on both sides of the proxy hold.
    static let floodCount = 1000
    static let floodBody = String(repeating: "m", count: 16 * 1024)

    /// Queues the flood in the outbox, to `user` (who exists, so no row fails).
    func queueFlood(in store: Store, _ account: Account, to user: String) throws {
        for n in 1...Self.floodCount {
            try Outbox.enqueueChat(store: store, account: account, to: server.jid(user), body: "\(n) " + Self.floodBody)
        }
    }

    /// Returns once the owner of the connection flushes what is queued at once: two rows in a row
    /// confirmed, the second queued after the first was, so the session's start (roster, archive
    /// catch-up) is over. Until then a flush waits on the start's requests, which a stalled
    /// server would never answer.
    func waitUntilSettled(_ store: Store, _ account: Account) async throws {
        for n in 1...2 {
            let item = try Outbox.enqueueChat(store: store, account: account, to: server.jid("test4"), body: "before the stall \(n)")
            // Long on a server kept from earlier runs: the archive catch-up then fetches their floods.
            try await waitFor("the row confirmed", timeout: .seconds(90)) { (try? store.outboxItem(id: item.id))?.state == .acked }
        }
    }

    /// How long `body` took, or nil when it had not returned after 10 s; `release` (stopping the
    /// proxy, which resets the link) then unblocks it, so a failing test still ends.
    func duration(of body: @escaping @Sendable () async -> Void, release: () -> Void) async -> Duration? {
        let took = Mutex<Duration?>(nil)
        let start = ContinuousClock.now
        let task = Task {
            await body()
            took.withLock { $0 = ContinuousClock.now - start }
        }
        try? await waitFor("it to return", timeout: .seconds(10)) { took.withLock { $0 != nil } }
        let result = took.withLock { $0 }
        if result == nil { release() }
        await task.value
        return result
    }

    /// A bare connection through `proxy`, then stalled with megabytes on their way out.
    func stalledConnection(_ user: String, resource: String, through proxy: FaultProxy) async throws -> Connection {
        let connection = Connection(configuration: ConnectionConfiguration(
            jid: try JID(server.jid(user)), resource: resource, credential: .password(server.password(user)),
            endpoint: Endpoint(host: "127.0.0.1", port: proxy.port, directTLS: false), trust: TLSTrust(caFile: server.caFile)))
        _ = try await connection.connect()
        proxy.stallExisting()
        let to = try JID(server.jid("test4"))
        try await connection.send((1...Self.floodCount).map { Message.chat(to: to, body: Self.floodBody, id: "flood-\($0)").element })
        try await Task.sleep(for: .seconds(1))  // the I/O thread is now in a write the server never reads
        return connection
    }

    @Test func stalledServer__closeReturnsPromptly() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let connection = try await stalledConnection("test1", resource: "stall-close", through: proxy)
        let took = await duration(of: { await connection.close() }, release: proxy.stop)
        #expect(took.map { $0 < .seconds(2) } == true, "close() took \(took.map { "\($0)" } ?? "forever")")
    }

    @Test func stalledServer__abortEndsTheLinkPromptly() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let connection = try await stalledConnection("test2", resource: "stall-abort", through: proxy)
        let took = await duration(of: {
            await connection.abort(.timeout("the test gave up"))
            for await event in connection.events { if case .closed = event { return } }
        }, release: proxy.stop)
        #expect(took.map { $0 < .seconds(2) } == true, "the link ended after \(took.map { "\($0)" } ?? "forever")")
    }

    /// A write the server does not take is a network fault like any other: the link is dropped,
    /// the engine reconnects (new links pass the proxy), and every row ends confirmed.
    @Test func stalledServer__theWriteTimesOut_theEngineReconnects_andEveryMessageIsConfirmed() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account) = try await store("test3", through: proxy)
        let engine = SyncEngine(store: store, account: account) { $0.writeTimeout = .seconds(2) }
        let timedOut = Mutex<ContinuousClock.Instant?>(nil)
        let watcher = Task {
            for await event in engine.events {
                if case .connection(.offline, let detail?) = event, detail.contains("stopped reading") {
                    timedOut.withLock { $0 = .now }
                    return
                }
            }
        }
        let running = Task { await engine.run() }
        try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        try await waitUntilSettled(store, account)
        proxy.stallExisting()
        let floodStart = ContinuousClock.now
        try queueFlood(in: store, account, to: "test4")
        try await waitFor("the write to time out", timeout: .seconds(20)) { timedOut.withLock { $0 != nil } }
        let after = try #require(timedOut.withLock { $0 }) - floodStart
        #expect(after < .seconds(10), "the link was given up \(after) after the flood began")

        try await waitFor("every message confirmed", timeout: .seconds(120)) {
            (try? store.outbox(accountID: account.rowID, includeFinished: true))?.allSatisfy { $0.state == .acked } == true
        }
        #expect(try store.outbox(accountID: account.rowID, includeFinished: true).count == Self.floodCount + 2)
        #expect(proxy.connectionsAccepted >= 2, "a new link")
        await engine.stop()
        await running.value
        watcher.cancel()
    }

    /// The user's view: `/quit` in the shell (fed by a pipe) with megabytes stuck behind a stalled
    /// server returns at once, and what the server never got waits in the outbox.
    @Test func stalledServer__quitInTheShellReturnsWithinTwoSeconds_andNothingIsLost() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let home = TernHome(server)
        let login = try await home.run(
            ["login", server.jid("test5"), "--server", "127.0.0.1:\(proxy.port)", "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": server.password("test5")])
        #expect(login.status == 0, "\(login.stderr)")
        let (shell, input) = try startShell(home)
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test5")))
        try await waitFor("the shell to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        try await waitUntilSettled(store, account)

        proxy.stallExisting()
        try queueFlood(in: store, account, to: "test6")
        try await waitFor("the shell to flush the outbox") {
            (try? store.outbox(accountID: account.rowID))?.allSatisfy { $0.state != .queued } == true
        }
        try await Task.sleep(for: .seconds(1))
        let took = await duration(of: {
            input.write(Data("/quit\n".utf8))
            while shell.process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }, release: proxy.stop)
        if shell.process.isRunning { kill(shell.process.processIdentifier, SIGKILL) }
        #expect(took.map { $0 < .seconds(2) } == true, "/quit took \(took.map { "\($0)" } ?? "forever"): \(shell.output().stderr)")
        #expect(shell.process.terminationStatus == 0)

        // The clean close forgot the session: what the server never confirmed is queued again,
        // for the next session to send with its same origin-id; nothing is stranded as `sent`.
        let rows = try store.outbox(accountID: account.rowID, includeFinished: true)
        #expect(rows.count == Self.floodCount + 2)
        #expect(rows.allSatisfy { $0.state == .queued || $0.state == .acked })
        #expect(rows.contains { $0.state == .queued })
    }

    /// The interactive shell with its standard input on a pipe the test writes to.
    func startShell(_ home: TernHome) throws -> (RunningProcess, FileHandle) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ternBinary)
        process.arguments = ["--home", home.path]
        let base = NSTemporaryDirectory() + "tern-shell-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        let input = Pipe()
        process.standardInput = input
        try process.run()
        return (RunningProcess(process: process, outPath: base + ".out", errPath: base + ".err"), input.fileHandleForWriting)
    }
}
