import Foundation
import Store
import Testing

/// Issue 4's roster, presence and subscription checks against the project's Prosody, with the
/// slixmpp peer. Accounts test33…test40 are this suite's; carol and dave are roster items only.
@Suite struct RosterIntegrationTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    func peer(_ user: String, _ command: String, _ arguments: [String] = []) -> [String] {
        ["python3", server.peerScript, command, "--jid", server.jid(user), "--password", server.password(user),
         "--host", server.host, "--port", String(server.port), "--ca", server.caFile] + arguments
    }

    func runPeer(_ user: String, _ command: String, _ arguments: [String] = []) async throws -> ProcessResult {
        let result = try await runProcess("/usr/bin/env", peer(user, command, arguments))
        guard result.status == 0 else { throw HarnessError("peer \(command) failed: \(result.stderr)") }
        return result
    }

    func peerRoster(_ user: String) async throws -> [[String: Any]] {
        let result = try await runPeer(user, "roster")
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    // 1. Subscription round trip.
    @Test func subscription__round_trip__shows_both_with_presence_and_follows_status_changes() async throws {
        let home = TernHome(server)
        try await home.login("test33")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        let tern = server.jid("test33"), other = server.jid("test34")
        // The peer stays 20 s after its status change: on a loaded machine the accept and the
        // roster push that makes it "both" can come seconds later, and its presence must still be there.
        let accepter = try startProcess(
            "/usr/bin/env",
            peer("test34", "subscribe-accept", ["--from", tern, "--status", "at lunch", "--then-status", "back at my desk", "--linger", "20"]))
        try await Task.sleep(for: .seconds(2))  // the peer is online before we ask

        let add = try await home.run(["add", other, "--name", "Peer", "--group", "Testers"])
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("\(other) add done"), "\(add.stdout)")

        // The peer asks back; the request is stored and shown as an event.
        try await eventually("the peer's request") { owner.output().stdout.contains("\"event\":\"subscription-request\"") }
        let accept = try await home.run(["accept", other])
        #expect(accept.status == 0, "\(accept.stderr)")

        do {
            try await eventually("both, with the changed status") {
                guard let item = try await home.roster().first(where: { $0["jid"] as? String == other }) else { return false }
                let presence = item["presence"] as? [[String: Any]] ?? []
                return item["subscription"] as? String == "both" && presence.first?["status"] as? String == "back at my desk"
            }
        } catch {
            let peerOutput = accepter.output()
            throw HarnessError("\(error); owner saw: \(owner.output().stdout); peer: \(peerOutput.stdout) \(peerOutput.stderr)")
        }
        let item = try #require(try await home.roster().first { $0["jid"] as? String == other })
        #expect(item["name"] as? String == "Peer")
        #expect(item["groups"] as? [String] == ["Testers"])
        #expect((item["presence"] as? [[String: Any]])?.first?["show"] as? String == "away")
        // The first status was seen too, before the change.
        let events = owner.output().stdout
        let lunch = try #require(events.range(of: "at lunch"))
        let desk = try #require(events.range(of: "back at my desk"))
        #expect(lunch.lowerBound < desk.lowerBound)
        #expect(events.contains("\"event\":\"subscribed\""))
        let peerDone = try await accepter.finish(timeout: .seconds(60))
        #expect(peerDone.status == 0, "\(peerDone.stderr)")

        // The text view groups by roster group and names the status.
        let text = try await home.run(["roster"])
        #expect(text.lines.first == "Testers")
        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
        // The session is gone: presence is cleared, the item stays.
        let after = try #require(try await home.roster().first { $0["jid"] as? String == other })
        #expect((after["presence"] as? [[String: Any]])?.isEmpty == true)
        #expect(after["subscription"] as? String == "both")
    }

    // 2. Roster versioning.
    @Test func versioning__unchanged_roster_transfers_nothing__and_another_resource_s_change_arrives_as_a_push() async throws {
        let home = TernHome(server)
        try await home.login("test35")
        let add = try await home.run(["add", server.jid("carol"), "--name", "Carol"])
        #expect(add.status == 0, "\(add.stderr)")
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test35")))
        let version = try store.rosterVersion(accountID: account.rowID)
        #expect(version != nil && version != "", "the server's version is stored")

        let second = try await home.run(["sync"])
        #expect(second.status == 0, "\(second.stderr)")
        let fetch = try #require(try store.lastRosterFetch(accountID: account.rowID))
        #expect(!fetch.full, "the second session got an empty result")
        #expect(fetch.items == 0)
        #expect(try store.rosterEntries(accountID: account.rowID).map(\.jid) == [server.jid("carol")])

        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        _ = try await runPeer("test35", "roster-add", ["--item", server.jid("dave"), "--name", "Dave", "--group", "Pushed"])
        try await eventually("the push to be stored") {
            try store.rosterEntries(accountID: account.rowID).contains { $0.jid == server.jid("dave") }
        }
        let dave = try #require(try store.rosterEntries(accountID: account.rowID).first { $0.jid == server.jid("dave") })
        #expect(dave.name == "Dave")
        #expect(dave.groups == ["Pushed"])
        #expect(try store.rosterVersion(accountID: account.rowID) != version, "the push moved the version")
        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
        // And the next session is again "unchanged".
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try store.lastRosterFetch(accountID: account.rowID)?.full == false)
    }

    // 3. Offline edits.
    @Test func offline_edits__add_edit_and_remove_are_pending_then_applied_in_order() async throws {
        let home = TernHome(server)
        try await home.login("test37")
        let carol = server.jid("carol"), dave = server.jid("dave")
        #expect(try await home.run(["add", carol]).status == 0)

        // Unreachable server: everything is stored and shown as pending.
        #expect(try await home.run(["account", "set", "port", "1"]).status == 0)
        let add = try await home.run(["add", dave, "--group", "Friends"])
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("\(dave) add pending"))
        #expect(try await home.run(["edit", dave, "--name", "Dave"]).status == 0)
        #expect(try await home.run(["remove", carol]).status == 0)
        let pending = try await home.roster(["--pending"])
        #expect(pending.first { $0["jid"] as? String == dave }?["pending"] as? String == "add")
        #expect(pending.first { $0["jid"] as? String == dave }?["name"] as? String == "Dave")
        #expect(pending.first { $0["jid"] as? String == carol }?["pending"] as? String == "remove")

        #expect(try await home.run(["account", "set", "port", String(server.port)]).status == 0)
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")

        let onServer = try await peerRoster("test37")
        #expect(onServer.map { $0["jid"] as? String } == [dave])
        #expect(onServer.first?["name"] as? String == "Dave")
        #expect(onServer.first?["groups"] as? [String] == ["Friends"])
        let local = try await home.roster()
        #expect(local.map { $0["jid"] as? String } == [dave])
        #expect(local.first?["pending"] is NSNull)
        #expect(try await home.roster(["--pending"]).allSatisfy { $0["pending"] is NSNull || $0["pending"] == nil } )
    }

    // 4. Spoofed push.
    @Test func spoofed_push__from_a_third_party__is_refused_and_changes_nothing() async throws {
        let home = TernHome(server)
        try await home.login("test38")
        #expect(try await home.run(["add", server.jid("carol"), "--name", "Carol"]).status == 0)
        let before = try await home.roster()
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test38")))
        let owner = try await home.startOwner()
        defer { owner.interrupt() }

        let push = try await runPeer(
            "test39", "roster-push", ["--to", "\(account.jid)/\(account.resource)", "--item", server.jid("dave"), "--name", "Mallory"])
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(push.stdout.utf8)) as? [String: Any])
        #expect(reply["type"] as? String == "error")
        #expect(reply["condition"] as? String == "service-unavailable")
        let spoofCarol = try await runPeer(
            "test39", "roster-push", ["--to", "\(account.jid)/\(account.resource)", "--item", server.jid("carol"), "--name", "Renamed"])
        #expect(spoofCarol.stdout.contains("service-unavailable"))

        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
        let after = try await home.roster()
        #expect(after.map { $0["jid"] as? String } == before.map { $0["jid"] as? String })
        #expect(after.first?["name"] as? String == "Carol")
    }

    // 6. Incoming request.
    @Test func incoming_request__is_listed_survives_a_restart_and_is_accepted() async throws {
        let home = TernHome(server)
        try await home.login("test40")
        let tern = server.jid("test40"), asker = server.jid("test36")
        _ = try await runPeer("test36", "subscribe", ["--to", tern, "--status", "it is 36"])

        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let listed = try await home.roster(["--pending"])
        let request = try #require(listed.first { $0["jid"] as? String == asker })
        #expect(request["request"] as? String == "subscribe")
        #expect(request["message"] as? String == "it is 36")

        // A new process (and a new session) still has it.
        #expect(try await home.roster(["--pending"]).contains { $0["jid"] as? String == asker })
        let text = try await home.run(["roster", "--pending"])
        #expect(text.stdout.contains("\(asker) asks to see your presence"))

        let accept = try await home.run(["accept", asker])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(accept.stdout.contains("\(asker) accept done"))
        #expect(try await home.roster(["--pending"]).contains { $0["jid"] as? String == asker && $0["request"] != nil } == false)

        let theirs = try await peerRoster("test36")
        let item = try #require(theirs.first { $0["jid"] as? String == tern })
        #expect(["to", "both"].contains(item["subscription"] as? String ?? ""), "\(item)")
        // We asked back: our roster has them with a pending subscribe.
        let ours = try await home.roster()
        #expect(ours.first { $0["jid"] as? String == asker }?["subscription"] as? String == "from")
    }

    /// `/add JID Zed Name` once stored only "Name": the name is everything after the JID.
    /// `/rename` finds the contact by that name and gives it another.
    @Test func shell_add_keeps_a_name_of_several_words_and_rename_changes_it() async throws {
        let (home, _) = try await server.registeredHome("names")
        let friend = try await server.registerFresh("friend")
        let shell = try await home.run([], stdin: "/add \(server.jid(friend)) Zed  Q. Name\n/quit\n")
        #expect(shell.status == 0, "\(shell.stderr)")
        try await eventually("the server to confirm the contact") {
            try await home.roster().contains { $0["jid"] as? String == server.jid(friend) && $0["name"] as? String == "Zed  Q. Name" }
        }
        let renamed = try await home.run([], stdin: "/rename zed Zorro\n/quit\n")
        #expect(renamed.stdout.contains("-- rename \(server.jid(friend)) to Zorro"), "\(renamed.stdout)")
        try await eventually("the new name") {
            try await home.roster().contains { $0["jid"] as? String == server.jid(friend) && $0["name"] as? String == "Zorro" }
        }
    }
}
