import Foundation
import Testing

/// Issue 3 (account lifecycle): several accounts in one data directory, and the per-account
/// connection settings of `tern account set`, driven through the real binary.
/// Uses test19…test26 only, so it runs in parallel with the other suites.
@Suite struct AccountsTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    private func jsonLines(_ result: ProcessResult) -> [[String: Any]] {
        result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    private func accounts(_ home: TernHome) async throws -> [String: [String: Any]] {
        let result = try await home.run(["accounts", "--json"])
        guard result.status == 0 else { throw HarnessError("accounts failed: \(result.stderr)") }
        return Dictionary(uniqueKeysWithValues: jsonLines(result).compactMap { row in (row["jid"] as? String).map { ($0, row) } })
    }

    private func show(_ home: TernHome, _ user: String? = nil) async throws -> [String: Any] {
        let result = try await home.run(["account", "show", "--json"] + (user.map { ["--account", server.jid($0)] } ?? []))
        guard result.status == 0, let object = jsonLines(result).first else { throw HarnessError("account show failed: \(result.stderr)") }
        return object
    }

    private func history(_ home: TernHome, of user: String, with other: String) async throws -> [[String: Any]] {
        let result = try await home.run(["history", server.jid(other), "--json", "--account", server.jid(user)])
        guard result.status == 0 else { throw HarnessError("history failed: \(result.stderr)") }
        return jsonLines(result)
    }

    @Test func accounts__two_in_one_home__each_sends_with_account_and_keeps_its_own_history() async throws {
        let home = TernHome(server)
        #expect(try await home.run(["accounts"]).stdout.isEmpty, "an empty store lists nothing")
        try await home.login("test19")
        try await home.login("test20")
        // Logging in a second account does not take the default away from the first.
        var listed = try await accounts(home)
        #expect(listed.count == 2)
        #expect(listed[server.jid("test19")]?["default"] as? Bool == true)
        #expect(listed[server.jid("test20")]?["default"] as? Bool == false)
        #expect(listed[server.jid("test20")]?["state"] as? String == "active")
        #expect(listed[server.jid("test20")]?["server"] as? String == server.server)
        #expect(listed[server.jid("test19")]?["resource"] as? String != listed[server.jid("test20")]?["resource"] as? String)
        // Logging in the second one again does not either.
        try await home.login("test20")
        #expect(try await accounts(home)[server.jid("test19")]?["default"] as? Bool == true)

        // test19 (the default, no --account) writes to test20, which lives in the same store.
        let first = try await home.run(["send", server.jid("test20"), "from nineteen"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasSuffix("acked\n"), "\(first.stdout)")
        let receiver = try Peer(server: server, user: "test21").startReceiving(from: server.jid("test20"), count: 1)
        let second = try await home.run(["send", "--account", server.jid("test20"), server.jid("test21"), "from twenty"])
        #expect(second.status == 0, "\(second.stderr)")
        let got = try await receiver.finish(timeout: .seconds(60))
        #expect(Peer.messages(got).map { $0["body"] as? String } == ["from twenty"], "sent as test20: \(got.stderr)")
        let sync = try await home.run(["sync", "--account", server.jid("test20")])
        #expect(sync.status == 0, "\(sync.stderr)")

        let nineteen = try await history(home, of: "test19", with: "test20")
        #expect(nineteen.map { $0["body"] as? String } == ["from nineteen"])
        #expect(nineteen.map { $0["direction"] as? String } == ["out"])
        let twenty = try await history(home, of: "test20", with: "test19")
        #expect(twenty.map { $0["body"] as? String } == ["from nineteen"])
        #expect(twenty.map { $0["direction"] as? String } == ["in"])
        #expect(try await history(home, of: "test19", with: "test21").isEmpty, "test20's conversation is not test19's")
        #expect(try await history(home, of: "test20", with: "test21").map { $0["body"] as? String } == ["from twenty"])

        // Queued counts are per account; the text form names the default.
        let queued = try await home.run(["send", "--queue-only", "--account", server.jid("test20"), server.jid("test21"), "later"])
        #expect(queued.status == 0, "\(queued.stderr)")
        listed = try await accounts(home)
        #expect(listed[server.jid("test20")]?["queued"] as? Int == 1)
        #expect(listed[server.jid("test19")]?["queued"] as? Int == 0)
        #expect(listed[server.jid("test19")]?["connection"] as? String == "offline", "the one-shot send disconnected")
        let text = try await home.run(["accounts"])
        #expect(text.lines.count == 2)
        #expect(text.lines.first { $0.hasPrefix(server.jid("test19")) }?.contains("(default)") == true)
        #expect(text.lines.first { $0.hasPrefix(server.jid("test20")) }?.contains("1 queued") == true)
    }

    @Test func account_set__round_trips_every_key_and_the_settings_are_used() async throws {
        let home = TernHome(server)
        try await home.login("test22")
        let directPort = try #require(ProcessInfo.processInfo.environment["TERN_TEST_DIRECT_TLS_PORT"])

        func set(_ key: String, _ value: String) async throws -> String {
            let result = try await home.run(["account", "set", key, value])
            guard result.status == 0 else { throw HarnessError("set \(key) \(value) failed: \(result.stderr)") }
            return result.stdout
        }
        #expect(try await set("server", "\(server.host):\(directPort)") == "server: \(server.host):\(directPort)\n")
        #expect(try await set("direct-tls", "yes") == "direct-tls: true\n")
        #expect(try await set("resource", "desk 1") == "resource: desk 1\n")
        #expect(try await set("priority", "-5") == "priority: -5\n")
        var shown = try await show(home)
        #expect(shown["host"] as? String == server.host)
        #expect(shown["port"] as? Int == Int(directPort))
        #expect(shown["direct_tls"] as? Bool == true)
        #expect(shown["resource"] as? String == "desk 1")
        #expect(shown["priority"] as? Int == -5)
        #expect(shown["credentials"] as? String == "scram")
        // The new settings are what the next connection uses: direct TLS on the direct port.
        let direct = try await home.run(["sync"])
        #expect(direct.status == 0, "\(direct.stderr)")

        #expect(try await set("port", "auto") == "port: auto\n")
        #expect(try await show(home)["port"] is NSNull)
        #expect(try await set("direct-tls", "off") == "direct-tls: false\n")
        #expect(try await set("server", "auto") == "server: auto (SRV lookup)\n")
        shown = try await show(home)
        #expect(shown["host"] is NSNull)
        #expect(shown["port"] is NSNull)
        #expect(try await set("ca-file", "none") == "ca-file: none\n")
        #expect(try await show(home)["ca_file"] is NSNull)
        #expect(try await set("ca-file", server.caFile) == "ca-file: \(server.caFile)\n")
        #expect(try await set("host", server.host) == "host: \(server.host)\n")
        #expect(try await set("port", String(server.port)) == "port: \(server.port)\n")
        let starttls = try await home.run(["sync"])
        #expect(starttls.status == 0, "\(starttls.stderr)")
        shown = try await show(home)
        #expect(shown["resource"] as? String == "desk 1", "kept across connections")
        #expect(shown["priority"] as? Int == -5)
    }

    @Test func account_set__rejects_bad_keys_and_values_with_64_and_changes_nothing() async throws {
        let home = TernHome(server)
        try await home.login("test23")
        let before = try await home.run(["account", "show", "--json"]).stdout
        let bad: [(String, String)] = [
            ("colour", "blue"), ("port", "0"), ("port", "65536"), ("port", "http"), ("server", "\(server.host):99999"),
            ("server", ":5222"), ("host", "example.org:5222"), ("host", "two words"), ("direct-tls", "maybe"),
            ("ca-file", "/nonexistent/ca.pem"), ("ca-file", "/etc/hostname"), ("resource", ""), ("resource", "bad\u{7}bell"),
            ("priority", "128"), ("priority", "-129"), ("priority", "high"), ("default", "false"), ("default", "perhaps"),
        ]
        for (key, value) in bad {
            let result = try await home.run(["account", "set", key, value])
            #expect(result.status == 64, "set \(key) \(value): \(result.status) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line for \(key) \(value): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let after = try await home.run(["account", "show", "--json"]).stdout
        #expect(after.contains("\"jid\":\"\(server.jid("test23"))\""))
        #expect(after == before, "nothing written")
    }

    @Test func account_set_default__moves_the_one_default_between_accounts() async throws {
        let home = TernHome(server)
        try await home.login("test24")
        try await home.login("test25")
        #expect(try await show(home)["jid"] as? String == server.jid("test24"))
        let set = try await home.run(["--account", server.jid("test25"), "account", "set", "default", "true"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout == "default: true\n")
        let listed = try await accounts(home)
        #expect(listed[server.jid("test25")]?["default"] as? Bool == true)
        #expect(listed[server.jid("test24")]?["default"] as? Bool == false, "only one default at a time")
        // Commands without --account now act on the new default.
        #expect(try await show(home)["jid"] as? String == server.jid("test25"))
        // Changing another setting of the old default leaves the default alone.
        #expect(try await home.run(["--account", server.jid("test24"), "account", "set", "priority", "3"]).status == 0)
        #expect(try await show(home)["jid"] as? String == server.jid("test25"))
    }

    @Test func shell__account_lists_and_switches_then_sends_from_the_second_account() async throws {
        let home = TernHome(server)
        try await home.login("test24")
        try await home.login("test25")
        let receiver = try Peer(server: server, user: "test26").startReceiving(from: server.jid("test25"), count: 1)
        let script = """
            /msg \(server.jid("test26"))
            /account
            /account \(server.jid("test25"))
            from the second account
            /msg \(server.jid("test26")) and once more
            /quit

            """
        let shell = try await home.run([], stdin: script)
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stdout.contains("\(server.jid("test24")) (default)"), "/account lists: \(shell.stdout)")
        #expect(shell.stdout.contains("now using \(server.jid("test25"))"))
        #expect(shell.stdout.contains("no current conversation"), "the conversation was reset: \(shell.stdout)")
        let got = try await receiver.finish(timeout: .seconds(60))
        #expect(Peer.messages(got).map { $0["body"] as? String } == ["and once more"], "\(got.stderr)")
        #expect(Peer.messages(got).map { ($0["from"] as? String)?.hasPrefix(server.jid("test25")) } == [true])
        #expect(try await history(home, of: "test24", with: "test26").isEmpty, "nothing was sent as test24")
    }
}
