import Foundation
import Store
import Sync
import Testing
import XMPP

/// Issue 13 against the real Prosody: a subject change, a kick, an invitation, a vCard edit and
/// a roster edit are intents. Typed offline, or beside another process that owns the
/// connection, each is stored, listed by `tern outbox` with its kind, carried out once when
/// possible, and its outcome shown. Every account here is registered fresh.
@Suite(.serialized) struct IntentTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    private func freshRoom(_ name: String) -> String {
        "\(name)-\(UUID().uuidString.prefix(8).lowercased())@conference.localhost"
    }

    private func outbox(_ home: TernHome) async throws -> [[String: Any]] {
        let result = try await home.run(["outbox", "--json"])
        guard result.status == 0 else { throw HarnessError("outbox failed: \(result.stderr)") }
        return Peer.messages(result)
    }

    /// The intents of the home's only account, finished ones too, oldest first.
    private func intents(_ home: TernHome) throws -> [Intent] {
        let store = try Store(directory: home.path)
        let account = try #require(try store.defaultAccount())
        return try store.intents(accountID: account.rowID, includeFinished: true)
    }

    /// A room we own (we created it, so we may kick), with a victim occupant in it who keeps it
    /// alive after we leave. Joined by an owner process of the home's, which is then stopped.
    private func ownedRoom(_ home: TernHome, victim: String, until: String) async throws -> (String, RoomPeer.Running) {
        let room = freshRoom("intents")
        let owner = try await home.startOwner()
        let join = try await home.run(["join", room, "--nick", "boss"])
        #expect(join.status == 0 && join.stdout.contains("joined"), "\(join.stdout) \(join.stderr)")
        let peer = try RoomPeer(server: server, user: victim, room: room, nick: "victim").start(
            ["--until-file", until, "--timeout", "150"])
        try await peer.waitReady()
        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
        return (room, peer)
    }

    @Test func offline__actions_are_queued_listed_then_carried_out_once_by_the_next_connection() async throws {
        let (home, _) = try await server.registeredHome("intoff")
        let victim = try await server.registerFresh("victim"), guest = try await server.registerFresh("guest")
        let pal = server.jid(server.freshUser("pal"))
        let until = NSTemporaryDirectory() + "tern-intents-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let (room, peer) = try await ownedRoom(home, victim: victim, until: until)

        // Offline: the server cannot be reached, so each command stores its action and says so.
        #expect(try await home.run(["account", "set", "port", "1"]).status == 0)
        let typed: [[String]] = [
            ["topic", room, "Set", "while", "offline"], ["kick", room, "victim", "--reason", "bye"],
            ["invite", room, server.jid(guest), "--reason", "come"], ["vcard", "set", "fn", "Offline", "Name"],
            ["add", pal, "--name", "Pal"],
        ]
        for command in typed {
            let result = try await home.run(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(result.stdout.contains("queued") || result.stdout.contains("pending"), "\(command): \(result.stdout)")
        }
        let listed = try await outbox(home)
        #expect(listed.compactMap { $0["kind"] as? String } == ["room-subject", "room-kick", "room-invite", "vcard", "roster-add"])
        #expect(listed.allSatisfy { $0["state"] as? String == "queued" }, "\(listed)")
        #expect(listed.first?["body"] as? String == "Set while offline")
        let text = try await home.run(["outbox"])
        #expect(text.lines.first?.hasPrefix("i") == true && text.stdout.contains("room-kick → \(room): victim: bye"), "\(text.stdout)")

        // Online again: the next connection joins the room and carries everything out, once.
        #expect(try await home.run(["account", "set", "port", String(server.port)]).status == 0)
        let (guestStore, guestAccount, guestEngine, guestRunning) = try await server.runningEngine(guest, resource: "guest")
        defer { guestRunning.cancel() }
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try await outbox(home).isEmpty, "all done")
        let done = try intents(home)
        #expect(done.map(\.state) == Array(repeating: .done, count: 5), "\(done.map { "\($0.kind) \($0.state) \($0.error ?? "")" })")
        #expect(done.allSatisfy { $0.attempts == 1 })

        let kicked = try await peer.finish()
        #expect(kicked.events.contains { ($0["codes"] as? [Int])?.contains(307) == true }, "\(kicked.stdout)")
        #expect(kicked.events.contains { $0["event"] as? String == "subject" && $0["subject"] as? String == "Set while offline" }
            || kicked.stdout.contains("Set while offline"), "\(kicked.stdout)")
        try await waitFor("the invitation") {
            ((try? guestStore.invites(accountID: guestAccount.rowID, pendingOnly: true)) ?? []).contains { $0.room == room }
        }
        await guestEngine.stop()
        let card = try await home.run(["vcard", "show", "--json"])
        #expect(card.stdout.contains("\"fn\":\"Offline Name\""), "\(card.stdout) \(card.stderr)")
        #expect(try await home.roster().first { $0["jid"] as? String == pal }?["name"] as? String == "Pal")

        // Another connection does none of it again.
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try intents(home).allSatisfy { $0.attempts == 1 && $0.state == .done })
    }

    @Test func besideAnOwner__each_command_stores_its_action_the_owner_does_it_and_the_outcome_is_printed() async throws {
        let (home, _) = try await server.registeredHome("intown")
        let victim = try await server.registerFresh("victim"), guest = try await server.registerFresh("guest")
        let pal = server.jid(server.freshUser("pal"))
        let room = freshRoom("beside")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        let join = try await home.run(["join", room, "--nick", "boss"])
        #expect(join.status == 0 && join.stdout.contains("joined"), "\(join.stdout) \(join.stderr)")
        let until = NSTemporaryDirectory() + "tern-intents-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let peer = try RoomPeer(server: server, user: victim, room: room, nick: "victim").start(
            ["--until-file", until, "--timeout", "120"])
        try await peer.waitReady()
        let (guestStore, guestAccount, guestEngine, guestRunning) = try await server.runningEngine(guest, resource: "guest")
        defer { guestRunning.cancel() }

        let topic = try await home.run(["topic", room, "Set", "beside", "an", "owner"])
        #expect(topic.status == 0 && topic.text.hasSuffix("room-subject done"), "\(topic.stdout) \(topic.stderr)")
        let invite = try await home.run(["invite", room, server.jid(guest), "--json"])
        #expect(invite.status == 0, "\(invite.stderr)")
        let invited = try #require(Peer.messages(invite).first)
        #expect(invited["kind"] as? String == "room-invite" && invited["state"] as? String == "done", "\(invited)")
        let kick = try await home.run(["kick", room, "victim", "--reason", "bye"])
        #expect(kick.status == 0 && kick.text.hasSuffix("room-kick done"), "\(kick.stdout) \(kick.stderr)")
        let vcard = try await home.run(["vcard", "set", "fn", "Beside", "Name"])
        #expect(vcard.status == 0 && vcard.text == "fn: Beside Name", "\(vcard.stdout) \(vcard.stderr)")
        let add = try await home.run(["add", pal, "--name", "Pal"])
        #expect(add.status == 0 && add.stdout.contains("\(pal) add done"), "\(add.stdout) \(add.stderr)")

        // A refusal is the outcome too: shown, kept in the outbox, retried on request.
        let refused = try await home.run(["kick", room, "nobody-here"])
        #expect(refused.status == 1 && refused.text.hasSuffix("room-kick failed"), "\(refused.stdout) \(refused.stderr)")
        let failed = try #require(try await outbox(home).first)
        #expect(failed["kind"] as? String == "room-kick" && failed["state"] as? String == "failed" && failed["error"] != nil)
        let id = try #require(failed["id"] as? String)
        let retry = try await home.run(["outbox", "retry", id])
        #expect(retry.status == 0 && retry.text == "\(id) queued", "\(retry.stdout) \(retry.stderr)")
        try await eventually("the retried kick refused again") {
            try await outbox(home).first?["state"] as? String == "failed"
        }

        let kicked = try await peer.finish()
        #expect(kicked.events.contains { ($0["codes"] as? [Int])?.contains(307) == true }, "\(kicked.stdout)")
        #expect(kicked.stdout.contains("Set beside an owner"), "\(kicked.stdout)")
        try await waitFor("the invitation") {
            ((try? guestStore.invites(accountID: guestAccount.rowID, pendingOnly: true)) ?? []).contains { $0.room == room }
        }
        await guestEngine.stop()
        #expect(try await home.roster().first { $0["jid"] as? String == pal }?["name"] as? String == "Pal")
        // `vcard show` refreshes through the owner too (a details-refresh intent).
        let card = try await home.run(["vcard", "show", "--json"])
        #expect(card.stdout.contains("\"fn\":\"Beside Name\""), "\(card.stdout) \(card.stderr)")
        let store = try Store(directory: home.path)
        let account = try #require(try store.defaultAccount())
        #expect(try intents(home).filter { $0.state == .done }.allSatisfy { $0.attempts == 1 })

        // `--queue-only` stores and returns; the owner still does it.
        let queued = try await home.run(["topic", room, "Queued", "only", "--queue-only"])
        #expect(queued.status == 0 && queued.text.hasSuffix("room-subject queued"), "\(queued.stdout) \(queued.stderr)")
        try await eventually("the owner to set it") {
            (try? store.room(accountID: account.rowID, jid: room))??.subject == "Queued only"
        }

        // A nick change lasts: the next session (its bookmark fetch included) joins with it.
        let nick = try await home.run(["nick", room, "chief"])
        #expect(nick.status == 0 && nick.text.hasSuffix("room-nick done"), "\(nick.stdout) \(nick.stderr)")
        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
        #expect(try await home.run(["sync"]).status == 0)
        let rooms = Peer.messages(try await home.run(["rooms", "--json"]))
        #expect(rooms.first { $0["jid"] as? String == room }?["nick"] as? String == "chief", "\(rooms)")
    }

    /// A shell beside an owner: `/topic` stores the intent, and the outcome prints when the owner has done it.
    @Test func shell_besideAnOwner__topic_is_carried_out_by_the_owner_and_its_outcome_printed() async throws {
        let (home, _) = try await server.registeredHome("intsh")
        let room = freshRoom("shell")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        let join = try await home.run(["join", room, "--nick", "boss"])
        #expect(join.status == 0, "\(join.stderr)")
        let shell = try await home.run(["shell"], stdin: "/chat \(room)\n/topic From a second shell\n/outbox\n")
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stdout.contains("holds the connection"), "\(shell.stdout)")
        #expect(shell.stdout.contains("room-subject queued"), "\(shell.stdout)")
        #expect(shell.stdout.contains("room-subject done"), "\(shell.stdout)")
        let store = try Store(directory: home.path)
        let account = try #require(try store.defaultAccount())
        #expect(try store.room(accountID: account.rowID, jid: room)?.subject == "From a second shell")
    }

    /// XEP-0045 §10.2 as an intent: typed offline, carried out by the next connection as the
    /// room's owner; an unknown setting fails with the list of the room's settings.
    @Test func room_config__offline_is_carried_out_once_and_an_unknown_setting_lists_the_rooms() async throws {
        let (home, _) = try await server.registeredHome("intcfg")
        let victim = try await server.registerFresh("victim"), guest = try await server.registerFresh("guest")
        let until = NSTemporaryDirectory() + "tern-intents-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let (room, _) = try await ownedRoom(home, victim: victim, until: until)

        #expect(try await home.run(["account", "set", "port", "1"]).status == 0)
        let rename = try await home.run(["config", room, "roomname", "Tea", "room"])
        #expect(rename.status == 0 && rename.stdout.hasSuffix(" room-config queued\n"), "\(rename.stdout) \(rename.stderr)")
        let unknown = try await home.run(["config", room, "nosuchsetting", "x", "--queue-only"])
        #expect(unknown.status == 0, "\(unknown.stderr)")
        #expect(try await outbox(home).compactMap { $0["kind"] as? String } == ["room-config", "room-config"])

        #expect(try await home.run(["account", "set", "port", String(server.port)]).status == 0)
        #expect(try await home.run(["sync"]).status == 0)
        let finished = try intents(home).filter { $0.kind == .roomConfig }
        #expect(finished.map(\.state) == [.done, .failed], "\(finished)")
        #expect(finished.map(\.attempts) == [1, 1])
        let reason = try #require(finished.last?.error)
        #expect(reason.hasPrefix("the room has no setting nosuchsetting; it has: ") && reason.contains("roomname"), "\(reason)")

        // What the room now tells anyone who asks (disco#info, XEP-0045 §6.4).
        let (_, _, engine, running) = try await server.runningEngine(guest, resource: "guest")
        defer { running.cancel() }
        let info = try await engine.request(IQ.request(
            .get, id: "cfg1", to: try JID(room), payload: Element("query", namespace: NS.discoInfo)))
        let name = info.child("query", namespace: NS.discoInfo)?.child("identity", namespace: NS.discoInfo)?["name"]
        #expect(name == "Tea room")
        await engine.stop()
    }
}

extension ProcessResult {
    /// Standard output without its final newline.
    var text: String { stdout.trimmingCharacters(in: .newlines) }
}
