import Foundation
import Store
import Sync
import Testing
import XMPP

/// The servers the scenarios of BothServersTests run on.
enum ServerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case prosody, ejabberd

    var testDescription: String { rawValue }

    func server() throws -> TestServer {
        switch self {
        case .prosody: try .fromEnvironment()
        case .ejabberd: try .ejabberd()
        }
    }
}

/// The project's test server, as `scripts/testserver` (or `scripts/ejabberd-testserver`)
/// described it in the environment. A missing server is a failure, never a skip.
struct TestServer {
    let host: String
    let port: Int
    let domain: String
    let wrongDomain: String
    let caFile: String
    let peerScript: String
    var kind: ServerKind = .prosody
    /// A STARTTLS port capped at TLS 1.2 (ejabberd's), where SCRAM-PLUS binds with tls-unique.
    var tls12Port: Int? = nil
    /// The server's log, where it says which mechanism each login used (ejabberd's).
    var logFile: String? = nil

    private static func need(_ key: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[key], !value.isEmpty else {
            throw HarnessError("\(key) is not set: run the tests with `make test`, which starts the test servers")
        }
        return value
    }

    static func fromEnvironment() throws -> TestServer {
        TestServer(
            host: try need("TERN_TEST_HOST"), port: Int(try need("TERN_TEST_PORT")) ?? 0,
            domain: try need("TERN_TEST_DOMAIN"), wrongDomain: try need("TERN_TEST_WRONG_DOMAIN"),
            caFile: try need("TERN_TEST_CA"), peerScript: try need("TERN_TEST_PEER"))
    }

    /// The ejabberd 23.01 that `scripts/ejabberd-testserver` started (TERN_TEST_EJABBERD_*): the same
    /// accounts as the Prosody server, and the same slixmpp peer.
    static func ejabberd() throws -> TestServer {
        TestServer(
            host: try need("TERN_TEST_EJABBERD_HOST"), port: Int(try need("TERN_TEST_EJABBERD_PORT")) ?? 0,
            domain: try need("TERN_TEST_EJABBERD_DOMAIN"), wrongDomain: "wrongname.test",
            caFile: try need("TERN_TEST_EJABBERD_CA"), peerScript: try need("TERN_TEST_PEER"), kind: .ejabberd,
            tls12Port: Int(try need("TERN_TEST_EJABBERD_TLS12_PORT")), logFile: try need("TERN_TEST_EJABBERD_LOG"))
    }

    /// The fault tests' own server (same accounts and name, another process), so their
    /// floods do not slow everyone else's: TERN_TEST_FAULTS_PORT and TERN_TEST_FAULTS_CA.
    static func forFaults() throws -> TestServer {
        let main = try fromEnvironment()
        let env = ProcessInfo.processInfo.environment
        guard let port = env["TERN_TEST_FAULTS_PORT"].flatMap(Int.init), let ca = env["TERN_TEST_FAULTS_CA"], !ca.isEmpty else {
            throw HarnessError("TERN_TEST_FAULTS_PORT and TERN_TEST_FAULTS_CA are not set: run the tests with `make test`")
        }
        return TestServer(
            host: main.host, port: port, domain: main.domain, wrongDomain: main.wrongDomain, caFile: ca,
            peerScript: main.peerScript)
    }

    func jid(_ user: String) -> String { "\(user)@\(domain)" }
    func password(_ user: String) -> String { "pw-\(user)" }
    var server: String { "\(host):\(port)" }

    /// A raw connection's settings for `user` (the usual password) over STARTTLS with the test CA.
    func configuration(_ user: String, resource: String) throws -> ConnectionConfiguration {
        ConnectionConfiguration(
            jid: try JID(jid(user)), resource: resource, credential: .password(password(user)),
            endpoint: Endpoint(host: host, port: UInt16(port), directTLS: false),
            trust: TLSTrust(caFile: caFile))
    }

    /// A name nobody has registered yet.
    func freshUser(_ prefix: String) -> String { prefix + UUID().uuidString.prefix(8).lowercased() }

    /// Registers a fresh account (XEP-0077, through `tern register`) with the usual password; returns its user.
    func registerFresh(_ prefix: String) async throws -> String {
        let user = freshUser(prefix)
        try await TernHome(self).register(user)
        return user
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String

    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs a program without blocking a Swift concurrency thread; output goes through files so a
/// chatty child can never fill a pipe and hang.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
    timeout: Duration = .seconds(60)
) async throws -> ProcessResult {
    let process = try startProcess(executable, arguments, environment: environment, stdin: stdin)
    return try await process.finish(timeout: timeout)
}

final class RunningProcess: @unchecked Sendable {
    let process: Process
    let outPath: String
    let errPath: String

    init(process: Process, outPath: String, errPath: String) {
        self.process = process
        self.outPath = outPath
        self.errPath = errPath
    }

    func finish(timeout: Duration) async throws -> ProcessResult {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw HarnessError("\(process.executableURL?.lastPathComponent ?? "process") timed out: \(output().stderr)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return ProcessResult(status: process.terminationStatus, stdout: output().stdout, stderr: output().stderr)
    }

    func output() -> (stdout: String, stderr: String) {
        ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "", (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    func interrupt() { process.interrupt() }
}

func startProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> RunningProcess {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["TERN_PASSWORD"] = nil
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let base = NSTemporaryDirectory() + "tern-proc-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    if let stdin {
        _ = FileManager.default.createFile(atPath: base + ".in", contents: Data(stdin.utf8))
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: base + ".in"))
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    return RunningProcess(process: process, outPath: base + ".out", errPath: base + ".err")
}

/// The `tern` binary built next to this test bundle.
var ternBinary: String {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDirectory.appendingPathComponent("tern").path]
    // Swift Testing on Linux may run from the .xctest path or from the build directory itself.
    candidates.append(bundleDirectory.deletingLastPathComponent().appendingPathComponent("tern").path)
    candidates.append(FileManager.default.currentDirectoryPath + "/.build/debug/tern")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// One tern data directory, driven through the real command line.
struct TernHome {
    let path: String
    let server: TestServer

    init(_ server: TestServer) {
        self.server = server
        path = NSTemporaryDirectory() + "tern-home-\(UUID().uuidString)"
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> ProcessResult {
        try await runProcess(ternBinary, ["--home", path] + arguments, environment: environment, stdin: stdin, timeout: timeout)
    }

    func start(_ arguments: [String], stdin: String? = nil) throws -> RunningProcess {
        try startProcess(ternBinary, ["--home", path] + arguments, stdin: stdin)
    }

    /// Logs in `user` with the test CA over STARTTLS.
    func login(_ user: String) async throws {
        let result = try await run(
            ["login", server.jid(user), "--server", server.server, "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": server.password(user)])
        guard result.status == 0 else { throw HarnessError("login \(user) failed: \(result.stderr)") }
    }

    /// `tern register` of `user` (XEP-0077) with the test CA, the password given as a script would.
    func register(_ user: String, password: String) async throws -> ProcessResult {
        try await run(
            ["register", server.jid(user), "--server", server.server, "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": password])
    }

    /// Registers `user` (XEP-0077) with the usual password "pw-" + user; this home is then logged in.
    func register(_ user: String) async throws {
        let result = try await register(user, password: server.password(user))
        guard result.status == 0 else { throw HarnessError("register \(user) failed: \(result.stderr)") }
    }

    /// `tern roster --json`, one object per contact.
    func roster(_ extra: [String] = []) async throws -> [[String: Any]] {
        let result = try await run(["roster", "--json"] + extra)
        guard result.status == 0 else { throw HarnessError("roster failed: \(result.stderr)") }
        return result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// `tern sync --watch --json`, once it is online: the process that owns the connection.
    func startOwner() async throws -> RunningProcess {
        let watcher = try start(["sync", "--watch", "--json"])
        try await waitFor("the owner to come online") { watcher.output().stdout.contains("\"state\":\"online\"") }
        return watcher
    }

    func historyJSON(with user: String) async throws -> [[String: Any]] {
        let result = try await run(["history", server.jid(user), "--json"])
        guard result.status == 0 else { throw HarnessError("history failed: \(result.stderr)") }
        return result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// Like `waitFor`, for a condition that must itself wait (a tern or peer process, say).
func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(200))
    }
}

/// The slixmpp peer: a second, independent client.
struct Peer {
    let server: TestServer
    let user: String

    private func common() -> [String] {
        ["--jid", server.jid(user), "--password", server.password(user), "--host", server.host, "--port", String(server.port), "--ca", server.caFile]
    }

    /// Sends `count` messages; `body` may hold {n}, the message's number; `poison` adds a shape
    /// that crosses one of tern's per-stanza limits.
    func send(to: String, body: String, count: Int = 1, poison: String? = nil) async throws {
        let extra = poison.map { ["--poison", $0] } ?? []
        let result = try await runProcess(
            "/usr/bin/env",
            ["python3", server.peerScript, "send"] + common() + ["--to", to, "--body", body, "--count", String(count)] + extra)
        guard result.status == 0 else { throw HarnessError("peer send failed: \(result.stderr)") }
    }

    /// Exit status of a login: 0 accepted, 1 refused.
    func login() async throws -> Int32 {
        try await runProcess("/usr/bin/env", ["python3", server.peerScript, "login"] + common()).status
    }

    /// Any other peer.py command, run to its end.
    func run(_ command: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ProcessResult {
        try await runProcess("/usr/bin/env", ["python3", server.peerScript, command] + common() + arguments, timeout: timeout)
    }

    /// Any other peer.py command, left running.
    func start(_ command: String, _ arguments: [String]) throws -> RunningProcess {
        try startProcess("/usr/bin/env", ["python3", server.peerScript, command] + common() + arguments)
    }

    /// Like `startReceiving`, but returns only once the peer is online and its presence routed.
    func startReceivingWhenReady(from: String, count: Int, timeout: Int = 60) async throws -> RunningProcess {
        let ready = NSTemporaryDirectory() + "tern-ready-\(UUID().uuidString)"
        let receiver = try start("receive", ["--from", from, "--count", String(count), "--timeout", String(timeout), "--ready-file", ready])
        try await waitFor("the receiving peer to be online") {
            FileManager.default.fileExists(atPath: ready) || !receiver.process.isRunning
        }
        guard FileManager.default.fileExists(atPath: ready) else {
            throw HarnessError("the receiving peer did not come online: \(receiver.output().stderr)")
        }
        return receiver
    }

    /// Starts listening; call `finish` on the result to collect what arrived.
    func startReceiving(from: String, count: Int, timeout: Int = 40, linger: Int = 3) throws -> RunningProcess {
        try startProcess("/usr/bin/env", ["python3", server.peerScript, "receive"] + common()
            + ["--from", from, "--count", String(count), "--timeout", String(timeout), "--linger", String(linger)])
    }

    static func messages(_ result: ProcessResult) -> [[String: Any]] {
        result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

extension TestServer {
    /// A bare connection logged in as `user`: a hand-driven second client (a forger, say).
    func connect(_ user: String, resource: String) async throws -> Connection {
        let connection = Connection(configuration: ConnectionConfiguration(
            jid: try JID(jid(user)), resource: resource, credential: .password(password(user)),
            endpoint: Endpoint(host: host, port: UInt16(port), directTLS: false),
            trust: TLSTrust(caFile: caFile)))
        _ = try await connection.connect()
        return connection
    }

    /// A fresh store logged in as `user`, with its sync engine running (online when this returns).
    func runningEngine(_ user: String, resource: String) async throws -> (Store, Account, SyncEngine, Task<Void, Never>) {
        let (store, account) = try await loggedInStore(user, resource: resource)
        let engine = SyncEngine(store: store, account: account)
        let running = Task { await engine.run() }
        try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        return (store, account, engine, running)
    }

    /// A fresh account of ours, logged in to a fresh home, and a fresh contact for it ("bob…").
    func freshAccountAndContact(_ prefix: String) async throws -> (me: String, bob: String, home: TernHome) {
        let me = try await registerFresh(prefix)
        let bob = try await registerFresh("bob")
        let home = TernHome(self)
        try await home.login(me)
        return (me, bob, home)
    }

    /// A tern home with an account nobody had (`prefix` and a random name), registered in-band
    /// with `password` (else the usual "pw-" + user) and logged in, so a suite never shares an
    /// account with another; returns the home and the user.
    func registeredHome(_ prefix: String, password: String? = nil) async throws -> (TernHome, String) {
        let home = TernHome(self)
        let user = freshUser(prefix)
        let result = try await home.register(user, password: password ?? self.password(user))
        guard result.status == 0 else { throw HarnessError("register \(user) failed: \(result.stderr)") }
        return (home, user)
    }

    /// A fresh store logged in as `user` through `port` (a fault proxy), with its engine running.
    func runningEngine(_ user: String, resource: String, through port: Int) async throws -> (Store, Account, SyncEngine, Task<Void, Never>) {
        let (store, account) = try await loggedInStore(user, resource: resource, port: port)
        let engine = SyncEngine(store: store, account: account)
        return (store, account, engine, Task { await engine.run() })
    }

    /// A fresh store logged in as `user`, through `port` when given (a fault proxy), else directly.
    func loggedInStore(_ user: String, resource: String, port viaPort: Int? = nil) async throws -> (Store, Account) {
        let store = try Store(directory: NSTemporaryDirectory() + "tern-engine-\(UUID().uuidString)")
        var draft = Account(jid: jid(user), resource: resource, createdAt: Store.now)
        draft.host = host
        draft.port = viaPort ?? port
        draft.caFile = caFile
        let account = try await Login.login(store: store, account: draft, password: password(user)).account
        return (store, account)
    }
}

extension SyncEngine {
    /// Becomes true when a session is resumed (XEP-0198 §5), false if the events end first.
    nonisolated func resumption() -> Task<Bool, Never> {
        Task {
            for await event in events {
                if case .connection(.online, let detail?) = event, detail.hasSuffix("resumed") { return true }
            }
            return false
        }
    }
}
