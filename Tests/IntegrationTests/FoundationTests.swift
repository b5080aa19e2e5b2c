import Foundation
import Store
import Testing

/// Issue 2's end-to-end checks against the project's Prosody, over real TLS, with real SQLite files.
/// Each test uses its own accounts so they can run in parallel.
@Suite struct FoundationTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    @Test func login__over_starttls_with_the_test_ca__stores_keys_not_the_password() async throws {
        let home = TernHome(server)
        try await home.login("test1")
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test1")))
        #expect(account.caFile == server.caFile)
        let credential = try #require(try store.credential(accountID: account.rowID))
        #expect(credential.kind == .scram)
        #expect((credential.iterations ?? 0) >= 4096)
        #expect(credential.password == nil)
        // The password never reaches the disk, in any file of the data directory.
        for file in try FileManager.default.contentsOfDirectory(atPath: home.path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: home.path + "/" + file))
            #expect(data.range(of: Data(server.password("test1").utf8)) == nil, "\(file) holds the password")
        }
        // And the stored keys are enough to log in again.
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("synced \(server.jid("test1"))"))
    }

    @Test func login__with_a_wrong_password__is_refused_clearly_and_stores_nothing() async throws {
        let home = TernHome(server)
        let result = try await home.run(
            ["login", server.jid("test2"), "--server", server.server, "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": "not-the-password"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("authentication failed"))
        #expect(result.stderr.split(separator: "\n").count == 1, "one clear line: \(result.stderr)")
        #expect(try Store(directory: home.path).accounts().isEmpty)
    }

    @Test func login__without_the_ca__fails_verification_and_prints_the_key() async throws {
        let home = TernHome(server)
        let result = try await home.run(
            ["login", server.jid("test1"), "--server", server.server],
            environment: ["TERN_PASSWORD": server.password("test1")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("SPKI SHA-256"))
        #expect(result.stderr.contains("--pin"))
        #expect(try Store(directory: home.path).accounts().isEmpty)
    }

    @Test func login__when_the_certificate_does_not_name_the_domain__fails() async throws {
        let home = TernHome(server)
        let result = try await home.run(
            ["login", "test1@\(server.wrongDomain)", "--server", server.server, "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": server.password("test1")])
        #expect(result.status == 1)
        #expect(result.stderr.contains(server.wrongDomain))
        #expect(result.stderr.lowercased().contains("not trusted") || result.stderr.lowercased().contains("certificate"))
    }

    @Test func login__with_a_pin_for_the_self_signed_key__works_without_the_ca() async throws {
        let home = TernHome(server)
        let refused = try await home.run(
            ["login", server.jid("test1"), "--server", server.server], environment: ["TERN_PASSWORD": server.password("test1")])
        let spki = try #require(refused.stderr.split(separator: " ").map(String.init).first { $0.count == 64 && $0.allSatisfy(\.isHexDigit) })
        let pinned = try await home.run(
            ["login", server.jid("test1"), "--server", server.server, "--pin", spki],
            environment: ["TERN_PASSWORD": server.password("test1")])
        #expect(pinned.status == 0, "\(pinned.stderr)")
    }

    @Test func trust__shows_the_certificate_and_a_changed_pinned_key_is_a_hard_stop() async throws {
        let home = TernHome(server)
        try await home.login("test1")
        let show = try await home.run(["trust", "--show"])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("DNS:localhost"))
        #expect(show.stdout.contains("trusted (CA and name verified)"))
        let spki = try #require(show.lines.first { $0.hasPrefix("SPKI SHA-256: ") }?.split(separator: " ").last.map(String.init))
        #expect(spki.count == 64)

        let wrong = String(repeating: "0", count: 64)
        #expect(try await home.run(["trust", wrong]).status == 0)
        let refused = try await home.run(["sync"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("server key changed"), "\(refused.stderr)")

        #expect(try await home.run(["trust", spki]).status == 0)
        let accepted = try await home.run(["sync"])
        #expect(accepted.status == 0, "\(accepted.stderr)")

        let bad = try await home.run(["trust", "not-a-key"])
        #expect(bad.status == 64)
    }

    @Test func message__from_one_tern_to_another__is_in_both_histories() async throws {
        let alice = TernHome(server)
        let bob = TernHome(server)
        try await alice.login("test3")
        try await bob.login("test4")
        let send = try await alice.run(["send", server.jid("test4"), "hello", "from", "tern"])
        #expect(send.status == 0, "\(send.stderr)")
        #expect(send.stdout.hasSuffix("acked\n"), "the server confirmed it (XEP-0198): \(send.stdout)")
        let sync = try await bob.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let received = try await bob.historyJSON(with: "test3")
        #expect(received.map { $0["body"] as? String } == ["hello from tern"])
        #expect(received.first?["direction"] as? String == "in")
        let sent = try await alice.historyJSON(with: "test4")
        #expect(sent.map { $0["body"] as? String } == ["hello from tern"])
        #expect(sent.first?["direction"] as? String == "out")
        #expect(sent.first?["origin_id"] as? String == received.first?["origin_id"] as? String)
        // A second sync stores nothing twice.
        _ = try await bob.run(["sync"])
        #expect(try await bob.historyJSON(with: "test3").count == 1)
    }

    @Test func message__from_a_slixmpp_peer__is_received_and_stored_with_its_time() async throws {
        let home = TernHome(server)
        try await home.login("test6")
        let before = Date()
        try await Peer(server: server, user: "test5").send(to: server.jid("test6"), body: "hi from slixmpp <&> ✓")
        // tern was offline: the server stored it and delivers it with a XEP-0203 delay at login.
        try await Task.sleep(for: .seconds(1))
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let history = try await home.historyJSON(with: "test5")
        #expect(history.map { $0["body"] as? String } == ["hi from slixmpp <&> ✓"])
        let stamp = try #require(history.first?["timestamp"] as? String)
        let time = try #require(try? Date.ISO8601FormatStyle().parse(stamp))
        #expect(time <= Date() && time >= before.addingTimeInterval(-2), "original time kept: \(stamp)")
    }

    @Test func send__while_the_server_is_unreachable__queues_then_sync_delivers_exactly_once() async throws {
        let home = TernHome(server)
        try await home.login("test7")
        let store = try Store(directory: home.path)
        var account = try #require(try store.account(jid: server.jid("test7")))
        let realPort = account.port
        account.port = try closedPort()
        try store.updateAccount(account)

        let queued = try await home.run(["send", server.jid("test8"), "written offline"])
        #expect(queued.status == 0, "\(queued.stderr)")
        #expect(queued.stdout.hasSuffix("queued\n"), "\(queued.stdout)")
        let outbox = try await home.run(["outbox", "--json"])
        #expect(outbox.stdout.contains("\"state\":\"queued\""))

        let receiver = try Peer(server: server, user: "test8").startReceiving(from: server.jid("test7"), count: 1)
        account.port = realPort
        try store.updateAccount(account)
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("sent 1"))
        let got = try await receiver.finish(timeout: .seconds(60))
        #expect(got.status == 0, "\(got.stderr)")
        #expect(Peer.messages(got).map { $0["body"] as? String } == ["written offline"], "exactly once")
        let again = try await home.run(["sync"])
        #expect(again.stdout.contains("sent 0"))
    }

    /// Issue 5: the outbox shows its states live, whichever process moves them.
    @Test func outbox_watch__prints_each_change_made_by_another_process() async throws {
        let home = TernHome(server)
        try await home.login("test56")
        let watcher = try home.start(["outbox", "--watch", "--json"])
        defer { watcher.interrupt() }
        let queued = try await home.run(["send", "--queue-only", server.jid("test60"), "watched live"])
        let id = try #require(queued.stdout.split(separator: " ").first.map(String.init), "\(queued.stdout)")
        func states() -> [String] {
            watcher.output().stdout.split(separator: "\n").compactMap { line in
                guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    row["id"] as? String == id
                else { return nil }
                return row["state"] as? String
            }
        }
        try await waitFor("the queued row") { states() == ["queued"] }
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        try await waitFor("the acked row") { states().last == "acked" }
        let seen = states()
        #expect(seen.count == Set(seen).count, "each state once: \(seen)")
        #expect(Set(seen).isSubset(of: ["queued", "sent", "acked"]), "\(seen)")
    }

    @Test func send__while_another_process_owns_the_connection__is_handed_over_through_the_store() async throws {
        let home = TernHome(server)
        try await home.login("test9")
        let receiver = try Peer(server: server, user: "test10").startReceiving(from: server.jid("test9"), count: 1)
        let watcher = try home.start(["sync", "--watch", "--json"])
        defer { watcher.interrupt() }
        try await waitFor("the watcher to come online") { watcher.output().stdout.contains("\"state\":\"online\"") }
        let send = try await home.run(["send", server.jid("test10"), "via the owner"])
        #expect(send.status == 0, "\(send.stderr)")
        // The first state past queued that send saw: the server's ack may already be in.
        let reached = send.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(["sent", "acked", "delivered"].contains(reached), "the owner sent it within a second: \(send.stdout)")
        let got = try await receiver.finish(timeout: .seconds(60))
        #expect(Peer.messages(got).map { $0["body"] as? String } == ["via the owner"])
        watcher.interrupt()
        let finished = try await watcher.finish(timeout: .seconds(20))
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(!finished.stderr.contains("conflict"))
    }

    @Test func logout__from_another_terminal__ends_the_owners_session_and_stays_offline() async throws {
        let home = TernHome(server)
        try await home.login("test1")
        let watcher = try home.start(["sync", "--watch", "--json"])
        defer { watcher.interrupt() }
        try await waitFor("the watcher to come online") { watcher.output().stdout.contains("\"state\":\"online\"") }
        let logout = try await home.run(["logout"])
        #expect(logout.status == 0, "\(logout.stderr)")
        let finished = try await watcher.finish(timeout: .seconds(20))
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.split(separator: "\n").last?.contains("\"state\":\"offline\"") == true)
        let sync = try await home.run(["sync"])
        #expect(sync.status == 1)
        #expect(sync.stderr.contains("logged out"))
        // A message written now is kept, not sent.
        let send = try await home.run(["send", server.jid("test2"), "later"])
        #expect(send.stdout.hasSuffix("queued\n"))
    }

    @Test func shell__reads_commands_from_a_pipe_and_sends() async throws {
        let home = TernHome(server)
        try await home.login("test11")
        let receiver = try Peer(server: server, user: "test12").startReceiving(from: server.jid("test11"), count: 3)
        let shell = try await home.run([], stdin: "/help\n/msg \(server.jid("test12")) typed  in the shell\n/me waves\n//etc is a folder\n/quit\n")
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stdout.contains("/msg CONTACT [TEXT]"), "help is printed from the command table")
        let got = try await receiver.finish(timeout: .seconds(60))
        // `/me` is a command, and its body the XEP-0245 action every client shows as such.
        // `//` sends a line that starts with a slash.
        #expect(Peer.messages(got).map { $0["body"] as? String } == ["typed  in the shell", "/me waves", "/etc is a folder"])
    }

    @Test func send__queue_only__never_touches_the_network_even_when_reachable() async throws {
        let home = TernHome(server)
        try await home.login("test17")
        let queued = try await home.run(["send", "--queue-only", server.jid("test18"), "not yet", "--json"])
        #expect(queued.status == 0, "\(queued.stderr)")
        #expect(queued.stdout.contains("\"state\":\"queued\""))
        #expect(try await home.run(["outbox"]).stdout.contains("queued"))
        let sync = try await home.run(["sync"])
        #expect(sync.stdout.contains("sent 1"), "the next sync delivers it: \(sync.stdout)")
        let history = try await home.historyJSON(with: "test18")
        #expect(history.map { $0["state"] as? String } == ["acked"])
    }

    @Test func usage__an_invalid_jid_exits_64_with_one_line() async throws {
        let home = TernHome(server)
        try await home.login("test1")
        let result = try await home.run(["send", "not a jid@", "x", "--queue-only"])
        #expect(result.status == 64)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(try await home.run(["outbox", "--json"]).stdout.isEmpty, "nothing half-written")
        for arguments in [["bogus"], ["send"], ["history", "--limit"], ["sync", "--nope"]] {
            let parse = try await home.run(arguments)
            #expect(parse.status == 64, "\(arguments)")
            #expect(parse.stderr.split(separator: "\n").count == 1, "one line for \(arguments): \(parse.stderr)")
        }
        #expect(try await home.run(["send", "--help"]).status == 0)
    }
}

func closedPort() throws -> Int {
    // Bind an ephemeral port and close it again: nothing listens there afterwards.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}
