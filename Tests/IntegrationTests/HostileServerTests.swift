import Foundation
import Testing

/// Issue 11 §3: the real `tern` binary against a server that lies (Tests/hostile/hostile.py).
///
/// Each scenario must end in one clear line on stderr (exit 1 for a command), with no crash and
/// no credentials where TLS is missing, and nothing lost from the outbox: what was queued
/// stays queued, or comes back to the queue, and then reaches the real Prosody exactly once.
@Suite struct HostileServerTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    // MARK: - Helpers

    /// A fresh account registered on the real Prosody (password "pw-" + name, as the hostile
    /// server expects), logged in in its own data directory.
    func registered(_ prefix: String) async throws -> (home: TernHome, user: String) {
        let home = TernHome(server)
        let user = prefix + UUID().uuidString.prefix(8).lowercased()
        let result = try await home.run(
            ["register", server.jid(user), "--server", server.server, "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": server.password(user)])
        guard result.status == 0 else { throw HarnessError("register \(user): \(result.stderr)") }
        return (home, user)
    }

    /// `tern login` again, at `address` with `caFile`: how a user points an account elsewhere.
    func login(_ home: TernHome, _ user: String, at address: String, caFile: String) async throws -> ProcessResult {
        try await home.run(
            ["login", server.jid(user), "--server", address, "--ca-file", caFile],
            environment: ["TERN_PASSWORD": server.password(user)])
    }

    func queue(_ home: TernHome, to user: String, _ bodies: [String]) async throws {
        for body in bodies {
            let result = try await home.run(["send", "--queue-only", server.jid(user), body])
            guard result.status == 0 else { throw HarnessError("send --queue-only: \(result.stderr)") }
        }
    }

    /// `tern outbox --json`: state by body.
    func outbox(_ home: TernHome) async throws -> [String: String] {
        let result = try await home.run(["outbox", "--json"])
        guard result.status == 0 else { throw HarnessError("outbox: \(result.stderr)") }
        var states: [String: String] = [:]
        for line in result.lines {
            guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let body = row["body"] as? String, let state = row["state"] as? String
            else { continue }
            states[body] = state
        }
        return states
    }

    /// Points the account back at the real Prosody, syncs, and checks that the recipient gets
    /// every body exactly once (offline delivery: a duplicate would arrive as well).
    func deliverToProsody(_ home: TernHome, _ user: String, to recipient: String, _ bodies: [String]) async throws {
        let back = try await login(home, user, at: server.server, caFile: server.caFile)
        #expect(back.status == 0, "\(back.stderr)")
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(Set(try await outbox(home).filter { bodies.contains($0.key) }.values).isSubset(of: ["acked", "delivered"]))
        let peer = try Peer(server: server, user: recipient).startReceiving(
            from: server.jid(user), count: bodies.count, timeout: 30, linger: 3)
        let received = Peer.messages(try await peer.finish(timeout: .seconds(60))).compactMap { $0["body"] as? String }
        #expect(received.sorted() == bodies.sorted(), "each message exactly once at the real server")
    }

    /// The one line a failing command leaves on stderr.
    func oneLine(_ result: ProcessResult) -> String {
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "exactly one line on stderr: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack"), "\(result.stderr)")
        return String(lines.first ?? "")
    }

    func bodies(_ token: String, _ count: Int) -> [String] {
        (1...count).map { "\(token) \($0)" }
    }

    /// Messages the server logged, by body: how often each arrived and was counted as handled.
    func handledCounts(_ hostile: HostileServer) -> [String: Int] {
        var counts: [String: Int] = [:]
        for event in hostile.events("message") where event["handled"] as? Bool == true {
            if let body = event["body"] as? String { counts[body, default: 0] += 1 }
        }
        return counts
    }

    // MARK: - The server itself

    @Test func normal__the_hostile_server_behaving__logs_tern_in_and_confirms_every_message() async throws {
        let scene = try await syncedAgainst("normal", queueing: 3)
        try await expectRecovered(scene)
        #expect(scene.sync.stdout.contains("sent 3"), "\(scene.sync.stdout)")
        #expect(scene.hostile.events("proof").allSatisfy { $0["ok"] as? Bool == true })
        #expect(handledCounts(scene.hostile) == scene.all(1))
        #expect(scene.hostile.serverErrors.isEmpty, "\(scene.hostile.serverErrors)")
    }

    // MARK: - TLS

    @Test func starttlsStripped__login_aborts_before_any_auth_and_stores_nothing() async throws {
        let hostile = try await HostileServer("starttls-stripped")
        let home = TernHome(server)
        let result = try await login(home, "alice", at: hostile.address, caFile: hostile.caFile)
        #expect(result.status == 1)
        #expect(oneLine(result) == "tern: the server does not offer STARTTLS; tern never logs in without TLS")
        #expect(hostile.events("auth").isEmpty, "no credentials without TLS")
        #expect(hostile.connections == 1)
        #expect(try await home.run(["accounts", "--json"]).stdout.isEmpty)
    }

    @Test func starttlsStripped__sync_and_watch_stop_at_once__the_outbox_waits_for_the_real_server() async throws {
        let hostile = try await HostileServer("starttls-stripped")
        let (home, user) = try await registered("hts")
        let (_, recipient) = try await registered("htr")
        let messages = bodies("stripped", 2)
        try await queue(home, to: recipient, messages)
        #expect(try await home.run(["account", "set", "server", hostile.address]).status == 0)
        #expect(try await home.run(["account", "set", "ca-file", hostile.caFile]).status == 0)

        let sync = try await home.run(["sync"])
        #expect(sync.status == 1)
        #expect(oneLine(sync) == "tern: the server does not offer STARTTLS; tern never logs in without TLS")
        // A permanent error: the watcher gives up at once, says why, and never retries.
        let watch = try await home.run(["sync", "--watch", "--json"], timeout: .seconds(20))
        #expect(watch.status == 1)
        #expect(oneLine(watch) == "tern: the server does not offer STARTTLS; tern never logs in without TLS")
        #expect(hostile.connections == 2, "one connection per command, no retries")
        #expect(hostile.events("auth").isEmpty)
        #expect(try await outbox(home) == Dictionary(uniqueKeysWithValues: messages.map { ($0, "queued") }))

        try await deliverToProsody(home, user, to: recipient, messages)
    }

    @Test func plaintextAfterProceed__in_the_same_read__is_discarded_and_the_real_features_are_used() async throws {
        let hostile = try await HostileServer("plaintext-after-proceed")
        let home = TernHome(server)
        let result = try await login(home, "alice", at: hostile.address, caFile: hostile.caFile)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(SCRAM-SHA-256)"), "\(result.stdout)")
        let auths = hostile.events("auth")
        #expect(auths.count == 1)
        #expect(auths.allSatisfy { $0["tls"] as? Bool == true && $0["mechanism"] as? String == "SCRAM-SHA-256" },
                "the injected PLAIN-only features were not used: \(auths)")
    }

    @Test func plaintextAfterProceed__arriving_later__fails_the_handshake_cleanly() async throws {
        let hostile = try await HostileServer("plaintext-after-proceed-late")
        let home = TernHome(server)
        let result = try await login(home, "alice", at: hostile.address, caFile: hostile.caFile)
        #expect(result.status == 1)
        #expect(oneLine(result).hasPrefix("tern: TLS handshake failed: "), "\(result.stderr)")
        #expect(hostile.events("auth").isEmpty)
        #expect(try await home.run(["accounts", "--json"]).stdout.isEmpty)
    }

    // MARK: - SCRAM

    @Test(arguments: [
        ("scram-i1", "tern: authentication failed: authentication aborted: iteration count 1 outside 4096…600000", false),
        ("scram-i1e9", "tern: authentication failed: authentication aborted: iteration count 1000000000 outside 4096…600000", false),
        ("scram-nonce", "tern: authentication failed: authentication aborted: the server's nonce does not extend ours", false),
        ("scram-bad-v", "tern: authentication failed: authentication aborted: the server could not prove it knows the password", true),
        ("scram-no-v", "tern: authentication failed: authentication aborted: the server sent no proof that it knows the password", true),
    ])
    func scram__a_lying_server__fails_the_login_in_one_line_and_stores_nothing(
        scenario: String, line: String, proofSent: Bool
    ) async throws {
        let hostile = try await HostileServer(scenario)
        let home = TernHome(server)
        let started = ContinuousClock.now
        let result = try await login(home, "alice", at: hostile.address, caFile: hostile.caFile)
        #expect(ContinuousClock.now - started < .seconds(20), "no billion-iteration PBKDF2")
        #expect(result.status == 1)
        #expect(oneLine(result) == line)
        // Before the server proved anything, tern answers nothing: no proof to grind offline.
        #expect(!hostile.events("sasl-response").isEmpty == proofSent)
        #expect(try await home.run(["accounts", "--json"]).stdout.isEmpty)
        #expect(hostile.connections == 1)
    }

    // MARK: - XEP-0198

    /// A fresh account logged in at a hostile server (which behaves until stream management
    /// starts), `count` messages queued for `recipient`, then one `tern sync` there.
    func syncedAgainst(_ scenario: String, queueing count: Int, to recipient: String = "nobody") async throws -> Scene {
        let hostile = try await HostileServer(scenario)
        let (home, user) = try await registered("h")
        let login = try await login(home, user, at: hostile.address, caFile: hostile.caFile)
        guard login.status == 0 else {
            throw HarnessError("login at the hostile server: \(login.stderr) server saw: \(hostile.events) \(hostile.serverErrors)")
        }
        let messages = bodies(scenario, count)
        try await queue(home, to: recipient, messages)
        return Scene(hostile: hostile, home: home, user: user, messages: messages, sync: try await home.run(["sync"]))
    }

    struct Scene {
        let hostile: HostileServer
        let home: TernHome
        let user: String
        let messages: [String]
        let sync: ProcessResult

        /// The same value for every queued message, keyed by body.
        func all<Value>(_ value: Value) -> [String: Value] {
            Dictionary(uniqueKeysWithValues: messages.map { ($0, value) })
        }
    }

    /// A pass that came through: exit 0, nothing on stderr, every row confirmed by the server.
    func expectRecovered(_ scene: Scene) async throws {
        #expect(scene.sync.status == 0)
        #expect(scene.sync.stderr.isEmpty, "recovered without a word: \(scene.sync.stderr)")
        #expect(try await outbox(scene.home) == scene.all("acked"))
    }

    @Test func ackAboveWhatWasSent__ends_each_session_with_handled_count_too_high__rows_back_in_the_queue() async throws {
        let (_, recipient) = try await registered("har")
        let scene = try await syncedAgainst("sm-ack-too-high", queueing: 3, to: recipient)
        #expect(scene.sync.status == 1)
        let line = oneLine(scene.sync)
        #expect(line.hasPrefix("tern: the server acknowledged ") && line.hasSuffix(" (handled-count-too-high)"), "\(line)")
        // XEP-0198 §6: tern says why before it closes, and does not resume a stream it ended.
        let errors = scene.hostile.events("client-stream-error")
        #expect(!errors.isEmpty && errors.allSatisfy { ($0["conditions"] as? [String])?.contains("handled-count-too-high") == true },
                "\(scene.hostile.events)")
        #expect(scene.hostile.events("resumed").isEmpty, "a session ended with a stream error is not resumed")
        #expect(try await outbox(scene.home) == scene.all("queued"))

        try await deliverToProsody(scene.home, scene.user, to: recipient, scene.messages)
    }

    @Test func failedResumptionWithH__trims_what_it_confirms_and_resends_the_rest_once() async throws {
        let scene = try await syncedAgainst("sm-failed-h", queueing: 4)
        try await expectRecovered(scene)
        #expect(scene.sync.stdout.contains("(new session)"), "\(scene.sync.stdout)")
        #expect(scene.hostile.events("resume-failed").count == 1)
        // The first message was confirmed by <failed h>; the three others came again, with a delay.
        #expect(handledCounts(scene.hostile) == scene.all(1), "\(scene.hostile.events("message"))")
        let resent = scene.hostile.events("message").filter { ($0["conn"] as? Int ?? 0) > 2 }
        #expect(resent.compactMap { $0["body"] as? String } == Array(scene.messages.dropFirst()))
        #expect(resent.allSatisfy { $0["delay"] as? Bool == true })
    }

    @Test func resumedWithAnotherPrevid__is_refused__a_new_session_resends_everything() async throws {
        let scene = try await syncedAgainst("sm-resumed-wrong-previd", queueing: 3)
        try await expectRecovered(scene)
        #expect(scene.hostile.events("resumed-wrong-previd").count == 1)
        #expect(scene.hostile.events("client-stream-error").count == 1, "tern says why it drops that stream")
        // Nothing the lying <resumed> claimed is trusted: the new session carries all of them.
        let last = scene.hostile.events("bind").compactMap { $0["conn"] as? Int }.max() ?? 0
        let final = scene.hostile.events("message").filter { $0["conn"] as? Int == last }.compactMap { $0["body"] as? String }
        #expect(final == scene.messages)
    }

    @Test func resumedForASessionNeverHad__fails_in_one_line__the_outbox_waits_for_the_real_server() async throws {
        let (_, recipient) = try await registered("hrr")
        let scene = try await syncedAgainst("sm-resumed-unsolicited", queueing: 2, to: recipient)
        #expect(scene.sync.status == 1)
        #expect(oneLine(scene.sync) == "tern: unexpected during stream negotiation: <resumed> while enabling stream management")
        #expect(scene.hostile.events("message").isEmpty)
        #expect(try await outbox(scene.home) == scene.all("queued"))

        try await deliverToProsody(scene.home, scene.user, to: recipient, scene.messages)
    }

    @Test func streamErrorMidFlush__the_pass_resumes_and_sends_the_rest_once() async throws {
        let scene = try await syncedAgainst("sm-error-mid-flush", queueing: 5)
        try await expectRecovered(scene)
        #expect(scene.hostile.events("sent-stream-error").count == 1)
        #expect(scene.hostile.events("resumed").count == 1, "\(scene.hostile.events)")
        #expect(handledCounts(scene.hostile) == scene.all(1), "\(scene.hostile.events("message"))")
    }

    // MARK: - No reconnect storm

    @Test func aFailureRightAfterEachLogin__the_watcher_backs_off_instead_of_looping() async throws {
        let scene = try await syncedAgainst("sm-ack-too-high", queueing: 1)
        // The server logs a connection as it handles it: on a loaded machine the sync pass's
        // last one can be logged after that pass ended, so wait for the count to settle.
        var before = scene.hostile.connections
        while true {
            try await Task.sleep(for: .seconds(1))
            let now = scene.hostile.connections
            if now == before { break }
            before = now
        }

        let watch = try scene.home.start(["sync", "--watch", "--json"])
        // Shorter than the shortest wait after the second failure (15 s × a jitter of 0.5-1),
        // so a third connection cannot fall inside however fast the first two come.
        try await Task.sleep(for: .seconds(7))
        watch.interrupt()
        let result = try await watch.finish(timeout: .seconds(10))
        let attempts = scene.hostile.connections - before
        // The second failure in a row is no network hiccup: the next try waits 15 s or more
        // (it used to be one every half second).
        #expect(attempts == 2, "\(attempts) connections in 7 s")
        let events = result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let details = events.compactMap { $0["detail"] as? String }
        #expect(details.contains { $0.contains("handled-count-too-high") }, "the reason stays visible: \(details)")
        let retrying = events.filter { $0["event"] as? String == "retrying" }
        #expect(retrying.count == 1, "\(events)")
        #expect(retrying.first?["failures"] as? Int == 2)
        #expect((retrying.first?["in_seconds"] as? Int).map { $0 >= 7 && $0 <= 15 } == true, "\(retrying)")
        #expect((retrying.first?["reason"] as? String)?.contains("handled-count-too-high") == true)
        #expect(try await outbox(scene.home) == scene.all("queued"))
    }
}
