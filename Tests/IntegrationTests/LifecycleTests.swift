import Foundation
import Store
import Testing

/// Issue 3: registering, changing the password, deleting, and a pinned key that changes,
/// against the project's Prosody with a slixmpp peer as the independent witness.
@Suite struct LifecycleTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    /// A name nobody has registered yet.
    func freshUser() -> String { "reg" + UUID().uuidString.prefix(8).lowercased() }

    func register(_ home: TernHome, _ user: String, password: String) async throws -> ProcessResult {
        try await home.register(user, password: password)
    }

    func peerLogin(_ user: String, password: String) async throws -> Int32 {
        try await runProcess("/usr/bin/env", [
            "python3", server.peerScript, "login", "--jid", server.jid(user), "--password", password,
            "--host", server.host, "--port", String(server.port), "--ca", server.caFile,
        ]).status
    }

    @Test func register__a_fresh_account__is_stored_and_works_for_another_client() async throws {
        let home = TernHome(server)
        let user = freshUser()
        let result = try await register(home, user, password: "first-pass")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("registered and logged in as \(server.jid(user))"))
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid(user)))
        #expect(try store.credential(accountID: account.rowID)?.kind == .scram)
        #expect(try await peerLogin(user, password: "first-pass") == 0)
        #expect(try await home.run(["sync"]).status == 0)
    }

    @Test func register__a_taken_name__fails_clearly_and_stores_nothing() async throws {
        let home = TernHome(server)
        let result = try await register(home, "test27", password: "whatever")
        #expect(result.status == 1)
        #expect(result.stderr.contains("already taken"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try Store(directory: home.path).accounts().isEmpty)
        #expect(try await peerLogin("test27", password: server.password("test27")) == 0, "the owner's password is untouched")
    }

    @Test func passwd__the_old_password_fails_and_the_new_one_works_everywhere() async throws {
        let home = TernHome(server)
        let user = freshUser()
        #expect(try await register(home, user, password: "old-pass").status == 0)
        let change = try await home.run(["passwd"], environment: ["TERN_PASSWORD": "new-pass"])
        #expect(change.status == 0, "\(change.stderr)")
        #expect(try await peerLogin(user, password: "old-pass") == 1)
        #expect(try await peerLogin(user, password: "new-pass") == 0)
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "the stored keys follow the new password: \(sync.stderr)")
    }

    @Test func unregister__deletes_on_the_server_and_never_reconnects() async throws {
        let home = TernHome(server)
        let user = freshUser()
        #expect(try await register(home, user, password: "gone-soon").status == 0)
        _ = try await home.run(["send", "--queue-only", server.jid("test29"), "kept locally"])
        let unconfirmed = try await home.run(["unregister"])
        #expect(unconfirmed.status == 64, "no terminal and no --yes: nothing happens")
        #expect(try await peerLogin(user, password: "gone-soon") == 0)

        let result = try await home.run(["unregister", "--yes"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await peerLogin(user, password: "gone-soon") == 1)
        let sync = try await home.run(["sync"])
        #expect(sync.status == 1)
        #expect(sync.stderr.contains("deleted"))
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid(user)))
        #expect(account.state == .deleted)
        #expect(try store.credential(accountID: account.rowID) == nil)
        #expect(try await home.historyJSON(with: "test29").count == 1, "history stays without --purge")
    }

    @Test func unregister__with_purge__removes_local_history_too() async throws {
        let home = TernHome(server)
        let user = freshUser()
        #expect(try await register(home, user, password: "purge-me").status == 0)
        _ = try await home.run(["send", "--queue-only", server.jid("test29"), "to be purged"])
        let result = try await home.run(["unregister", "--yes", "--purge"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Store(directory: home.path).accounts().isEmpty)
    }

    @Test func shell__register_passwd_and_unregister_with_answers_from_stdin() async throws {
        let home = TernHome(server)
        try await home.login("test31")  // its server settings are reused for the same domain
        let user = freshUser()
        let script = [
            "/register \(server.jid(user))", "first-pw", "first-pw",
            "/passwd", "second-pw", "second-pw",
            "/unregister", "someone-else@localhost",  // a wrong confirmation deletes nothing
            "/unregister", server.jid(user),
            "/quit",
        ].joined(separator: "\n") + "\n"
        let result = try await home.run([], stdin: script)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("registered and logged in as \(server.jid(user))"), "\(result.stdout)")
        #expect(result.stdout.contains("password changed"))
        #expect(result.stdout.contains("not deleted"))
        #expect(result.stdout.contains("deleted \(server.jid(user)) from the server"))
        #expect(!result.stdout.contains("first-pw") && !result.stdout.contains("second-pw"), "secrets are never echoed")
        #expect(try await peerLogin(user, password: "second-pw") == 1, "the account is gone")
    }

    @Test func credentials__a_plain_only_server_stores_nothing_unless_remember() async throws {
        let env = ProcessInfo.processInfo.environment
        let port = try #require(env["TERN_TEST_OTHER_KEY_PORT"], "run the tests with `make test`")
        let ca = try #require(env["TERN_TEST_OTHER_KEY_CA"], "run the tests with `make test`")
        let home = TernHome(server)
        let login = ["login", server.jid("test32"), "--server", "\(server.host):\(port)", "--ca-file", ca]
        let plain = try await home.run(login, environment: ["TERN_PASSWORD": server.password("test32")])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("(PLAIN)"))
        #expect(plain.stdout.contains("nothing was stored"), "the user is told what happened")
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test32")))
        #expect(try store.credential(accountID: account.rowID) == nil)
        let refused = try await home.run(["sync"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no stored credentials"))

        let remembered = try await home.run(login + ["--remember"], environment: ["TERN_PASSWORD": server.password("test32")])
        #expect(remembered.stdout.contains("the password itself is stored"))
        #expect(try store.credential(accountID: account.rowID)?.kind == .password)
        #expect(try await home.run(["sync"]).status == 0)

        #expect(try await home.run(["logout", "--forget"]).status == 0)
        #expect(try store.credential(accountID: account.rowID) == nil, "--forget removes it")
    }

    @Test func trust__a_pinned_key_that_changes_is_a_hard_stop() async throws {
        // `make test` runs a second server for the same name, with a certificate of its own (a new key).
        let otherPort = try #require(
            ProcessInfo.processInfo.environment["TERN_TEST_OTHER_KEY_PORT"].flatMap(Int.init),
            "TERN_TEST_OTHER_KEY_PORT is not set: run the tests with `make test`")

        let home = TernHome(server)
        try await home.login("test30")
        let shown = try await home.run(["trust", "--show"])
        let spki = try #require(shown.lines.first { $0.hasPrefix("SPKI SHA-256: ") }?.split(separator: " ").last.map(String.init))
        #expect(try await home.run(["trust", spki]).status == 0)
        #expect(try await home.run(["sync"]).status == 0, "the pinned key is accepted")

        let store = try Store(directory: home.path)
        var account = try #require(try store.account(jid: server.jid("test30")))
        account.port = otherPort
        try store.updateAccount(account)
        let refused = try await home.run(["sync"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("server key changed"), "\(refused.stderr)")
        #expect(refused.stderr.contains(spki), "the message names the pinned key")
    }
}
