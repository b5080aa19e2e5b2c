import Foundation
import Store
import Sync
import Testing
import XMPP

/// Group chat against the real Prosody (issue 6), with slixmpp occupants (`peer.py room`).
/// Serialized: several tests share peer accounts, and each uses a fresh room.
@Suite(.serialized) struct RoomTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    private func freshRoom(_ name: String, service: String = "conference.localhost") -> String {
        "\(name)-\(UUID().uuidString.prefix(8).lowercased())@\(service)"
    }

    /// Collects the engine's room events as they come.
    private func roomEvents(_ engine: SyncEngine) -> EventLog {
        let log = EventLog()
        Task {
            for await event in engine.events {
                if case .room(let room) = event { log.append(room) }
            }
        }
        return log
    }

    @Test func fullRound__messagesBothWays_subject_occupants_andANickChange() async throws {
        let room = freshRoom("round")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        let alpha = try RoomPeer(server: server, user: "test72", room: room, nick: "alpha").start(
            ["--subject", "Hello topic", "--expect", "1", "--from-nick", "tern71", "--until-file", until, "--timeout", "90"])
        try await alpha.waitReady()

        let (store, account, engine, running) = try await server.runningEngine("test71", resource: "rooms")
        defer { running.cancel() }
        let events = roomEvents(engine)
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "tern71", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }
        try await waitFor("the subject") { (try? store.room(accountID: account.rowID, jid: room))??.subject == "Hello topic" }
        try await waitFor("alpha in the occupant list") {
            ((try? store.occupants(accountID: account.rowID, room: room)) ?? []).map(\.nick).contains("alpha")
        }
        let occupants = try store.occupants(accountID: account.rowID, room: room)
        #expect(occupants.first { $0.nick == "alpha" }?.affiliation == "owner", "the creator owns the room")
        #expect(occupants.first { $0.nick == "tern71" }?.isSelf == true)

        // A second occupant arrives, changes nick, and speaks: tern sees all of it live.
        let beta = try await RoomPeer(server: server, user: "test73", room: room, nick: "beta").run(
            ["--change-nick", "gamma", "--post", "live {n}", "--count", "2"])
        #expect(beta.status == 0, "\(beta.stderr)")
        try await waitFor("the two live messages") {
            let history = (try? store.history(accountID: account.rowID, conversation: room, limit: 50)) ?? []
            return history.filter { $0.message.nick == "gamma" }.count == 2
        }
        let live = try store.history(accountID: account.rowID, conversation: room, limit: 50).filter { $0.message.nick == "gamma" }
        #expect(live.map(\.message.body) == ["live 1", "live 2"])
        #expect(live.allSatisfy { $0.message.type == "groupchat" && $0.message.direction == .incoming })
        try await waitFor("the nick change event") {
            events.all.contains { $0.kind == .occupant && $0.nick == "beta" && $0.text == "is now known as gamma" }
        }

        // tern speaks; the room's reflection is matched to our outbox row by origin-id.
        let item = try Outbox.enqueueChat(store: store, account: account, to: room, body: "hello from tern")
        #expect(item.type == "groupchat")
        await engine.flush()
        try await waitFor("the reflection") { (try? store.outboxItem(id: item.id))??.state == .delivered }
        _ = FileManager.default.createFile(atPath: until, contents: nil)
        let heard = try await alpha.finish()
        let fromTern = heard.messages.filter { $0["nick"] as? String == "tern71" }
        #expect(fromTern.map { $0["body"] as? String } == ["hello from tern"], "\(heard.stdout)")
        #expect(fromTern.first?["origin_id"] as? String == item.id)
        let ours = try store.history(accountID: account.rowID, conversation: room, limit: 50).filter { $0.message.body == "hello from tern" }
        #expect(ours.count == 1, "stored once, reflection matched")
        #expect(ours.first?.message.stanzaID != nil, "the reflection's stanza-id is kept for the archive")
        await engine.stop()
    }

    @Test func nickConflict__resolvesWithASuffix_andSaysSo() async throws {
        let room = freshRoom("conflict")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        let holder = try RoomPeer(server: server, user: "test74", room: room, nick: "taken").start(
            ["--until-file", until, "--timeout", "60"])
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        try await holder.waitReady()

        let (store, account, engine, running) = try await server.runningEngine("test75", resource: "rooms")
        defer { running.cancel() }
        let events = roomEvents(engine)
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "taken", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }
        #expect(try store.room(accountID: account.rowID, jid: room)?.currentNick == "taken_2")
        try await waitFor("the retry reported", timeout: .seconds(5)) {
            events.all.contains { $0.kind == .nickRetry && $0.nick == "taken_2" }
        }
        await engine.stop()
    }

    @Test func invitations__directAndMediated_areStored_andAcceptedByJoining() async throws {
        let (store, account, engine, running) = try await server.runningEngine("test76", resource: "rooms")
        defer { running.cancel() }
        let direct = freshRoom("direct")
        let mediated = freshRoom("mediated")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let host = try RoomPeer(server: server, user: "test77", room: direct, nick: "host").start(
            ["--invite", server.jid("test76"), "--reason", "join us", "--until-file", until, "--timeout", "90"])
        try await host.waitReady()
        let relay = try RoomPeer(server: server, user: "test77", room: mediated, nick: "relay", resource: "relay").start(
            ["--invite", server.jid("test76"), "--mediated", "--reason", "via the room", "--until-file", until, "--timeout", "90"])
        try await relay.waitReady()

        try await waitFor("both invitations") { ((try? store.invites(accountID: account.rowID, pendingOnly: true)) ?? []).count == 2 }
        let invites = try store.invites(accountID: account.rowID, pendingOnly: true)
        let byRoom = Dictionary(uniqueKeysWithValues: invites.map { ($0.room, $0) })
        #expect(byRoom[direct]?.kind == .direct)
        #expect(byRoom[direct]?.reason == "join us")
        #expect(byRoom[direct]?.inviter == server.jid("test77"))
        #expect(byRoom[mediated]?.kind == .mediated, "one invitation, though Prosody adds a XEP-0249 element too")
        #expect(byRoom[mediated]?.reason == "via the room")

        // Accepting is joining (as `/join` with no room does for the newest invitation).
        _ = try store.wantRoom(accountID: account.rowID, jid: direct, nick: "guest", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: direct))??.state == .joined }
        #expect(try store.invites(accountID: account.rowID, pendingOnly: true).map(\.room) == [mediated])
        await engine.stop()
    }

    @Test func offlineComposing__isSentOnlyAfterTheJoin_once_andItsReflectionMatched() async throws {
        let room = freshRoom("offline")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        let listener = try RoomPeer(server: server, user: "test79", room: room, nick: "listener").start(
            ["--expect", "1", "--from-nick", "t78", "--until-file", until, "--linger", "2", "--timeout", "90"])
        try await listener.waitReady()

        let home = TernHome(server)
        try await home.login("test78")
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test78")))
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t78", password: nil, autojoin: false)
        let queued = try await home.run(["send", "--queue-only", room, "written offline"])
        #expect(queued.status == 0, "\(queued.stderr)")
        let id = try #require(queued.stdout.split(separator: " ").first.map(String.init))
        #expect(try store.outboxItem(id: id)?.type == "groupchat")

        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("sent 1"), "\(sync.stdout)")
        _ = FileManager.default.createFile(atPath: until, contents: nil)
        let heard = try await listener.finish()
        let fromTern = heard.messages.filter { $0["nick"] as? String == "t78" }
        #expect(fromTern.map { $0["body"] as? String } == ["written offline"], "received once: \(heard.stdout)")
        #expect(fromTern.first?["origin_id"] as? String == id)
        #expect(try store.outboxItem(id: id)?.state == .delivered, "the reflection was matched")
        let history = try store.history(accountID: account.rowID, conversation: room, limit: 20)
        #expect(history.filter { $0.message.body == "written offline" }.count == 1, "stored once")
    }

    /// The shell's way: `/join` makes the room the current conversation, and a plain line typed
    /// at once waits for the join, then goes to the room.
    @Test func shell__joinThenTyping_sendsToTheRoomOnceJoined() async throws {
        let room = freshRoom("shell")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        let listener = try RoomPeer(server: server, user: "test79", room: room, nick: "listener").start(
            ["--expect", "2", "--from-nick", "typist", "--until-file", until, "--timeout", "90"])
        try await listener.waitReady()
        let home = TernHome(server)
        try await home.login("test78")
        // The room is named by its local part too, as a contact by its roster name.
        let local = String(room.prefix { $0 != "@" })
        let shell = try await home.run([], stdin: "/join \(room) typist\nhello from the shell\n/msg \(local) by its name\n/who\n/quit\n")
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stdout.contains("joining \(room) as typist"), "\(shell.stdout)")
        _ = FileManager.default.createFile(atPath: until, contents: nil)
        let heard = try await listener.finish()
        #expect(heard.messages.filter { $0["nick"] as? String == "typist" }.map { $0["body"] as? String } == ["hello from the shell", "by its name"])
    }

    /// `tern join` says in one line why a room refused us, and joins with a password file.
    @Test func join_command__passwordAndMembersOnlyRooms_giveClearErrors() async throws {
        let locked = freshRoom("secret")
        let club = freshRoom("club")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let keeper = try RoomPeer(server: server, user: "test72", room: locked, nick: "keeper").start(
            ["--room-password", "sesame", "--until-file", until, "--timeout", "90"])
        try await keeper.waitReady()
        let member = try RoomPeer(server: server, user: "test73", room: club, nick: "member").start(
            ["--members-only", "--until-file", until, "--timeout", "90"])
        try await member.waitReady()

        let home = TernHome(server)
        try await home.login("test80")
        let refused = try await home.run(["join", locked])
        #expect(refused.status == 1)
        #expect(refused.stderr == "tern: cannot join \(locked): the room needs a password, and none or a wrong one was given: use --password-file\n"
            || refused.stderr.contains("the room needs a password"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "one line")

        let passwordFile = NSTemporaryDirectory() + "tern-room-pw-\(UUID().uuidString)"
        try "sesame\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let joined = try await home.run(["join", locked, "--nick", "guest", "--password-file", passwordFile])
        #expect(joined.status == 0, "\(joined.stderr)")
        #expect(joined.stdout == "joined \(locked) as guest\n", "\(joined.stdout)")

        // A message written to the room before the join is refused: it fails with the reason.
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test80")))
        _ = try store.wantRoom(accountID: account.rowID, jid: club, nick: "t80", password: nil, autojoin: false)
        let held = try Outbox.enqueueChat(store: store, account: account, to: club, body: "held for the club")
        let outsider = try await home.run(["join", club])
        #expect(outsider.status == 1)
        #expect(outsider.stderr.contains("members-only"), "\(outsider.stderr)")
        let failed = try #require(try store.outboxItem(id: held.id))
        #expect(failed.state == .failed)
        #expect(failed.error?.contains("members-only") == true)
        let rooms = try await home.run(["rooms"])
        #expect(rooms.stdout.contains("\(club)  failed"), "\(rooms.stdout)")
    }

    /// What an owner does: the room tern creates is open to others (an instant room), and tern
    /// sets its subject, changes nick, sends a private message, invites, kicks and bans.
    @Test func owner__topic_nick_privateMessage_invite_kick_andBan() async throws {
        let room = freshRoom("owned")
        let (store, account, engine, running) = try await server.runningEngine("test71", resource: "owner")
        defer { running.cancel() }
        let events = roomEvents(engine)
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "tern71", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }
        try await waitFor("the join reported, as a new room", timeout: .seconds(5)) {
            events.all.contains { $0.kind == .joined && $0.text?.contains("created") == true }
        }

        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let victim = try RoomPeer(server: server, user: "test73", room: room, nick: "victim").start(
            ["--until-file", until, "--timeout", "90"])
        try await victim.waitReady()  // the instant room let a second occupant in
        try await waitFor("the victim among the occupants") {
            ((try? store.occupants(accountID: account.rowID, room: room)) ?? []).contains { $0.nick == "victim" }
        }

        try await engine.perform(.setSubject("New topic"), in: room)
        try await waitFor("the new subject") { (try? store.room(accountID: account.rowID, jid: room))??.subject == "New topic" }
        try await engine.perform(.changeNick("boss"), in: room)
        #expect(try store.room(accountID: account.rowID, jid: room)?.currentNick == "boss")
        try await waitFor("our new nick in the list") {
            let nicks = ((try? store.occupants(accountID: account.rowID, room: room)) ?? []).map(\.nick)
            return nicks.contains("boss") && !nicks.contains("tern71")
        }

        let whisper = try Outbox.enqueueChat(store: store, account: account, to: "\(room)/victim", body: "psst")
        #expect(whisper.type == "chat")
        await engine.flush()
        #expect(try store.history(accountID: account.rowID, conversation: "\(room)/victim", limit: 5).map(\.message.body) == ["psst"],
            "a private message is its own conversation")

        let (guestStore, guestAccount, guestEngine, guestRunning) = try await server.runningEngine("test76", resource: "guest")
        defer { guestRunning.cancel() }
        try await engine.perform(.invite(jid: server.jid("test76"), reason: "come"), in: room)
        try await waitFor("the invitation") {
            ((try? guestStore.invites(accountID: guestAccount.rowID, pendingOnly: true)) ?? []).contains { $0.room == room }
        }
        await guestEngine.stop()

        try await engine.perform(.kick(nick: "victim", reason: "bye"), in: room)
        let kicked = try await victim.finish()
        #expect(kicked.events.contains { ($0["codes"] as? [Int])?.contains(307) == true }, "\(kicked.stdout)")
        #expect(kicked.events.contains { $0["event"] as? String == "private" && $0["body"] as? String == "psst" }, "\(kicked.stdout)")
        try await waitFor("the kick seen") {
            events.all.contains { $0.kind == .occupant && $0.nick == "victim" && $0.text == "was kicked: bye" }
        }

        try await engine.perform(.ban(jid: server.jid("test74"), reason: "no"), in: room)
        let banned = try await RoomPeer(server: server, user: "test74", room: room, nick: "again").run(["--timeout", "20"])
        #expect(banned.status != 0)
        #expect(banned.stderr.contains("forbidden"), "\(banned.stderr)")
        await engine.stop()
    }

    /// XEP-0198 §5: a resumed session is still in its rooms, so nothing is rejoined; a new
    /// session is in none, so every wanted room is joined again.
    @Test func resumedSession__rejoinsNothing_aNewSessionRejoins() async throws {
        let room = freshRoom("resume")
        let (store, account, engine, running) = try await server.runningEngine("test75", resource: "resume")
        defer { running.cancel() }
        let events = roomEvents(engine)
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t75", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { events.all.filter { $0.kind == .joined }.count == 1 }

        await engine.dropLink()
        try await waitFor("the link back") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        #expect(await engine.newSessions == 1, "resumed")
        try await Task.sleep(for: .seconds(1))
        #expect(events.all.filter { $0.kind == .joined }.count == 1, "nothing rejoined")
        #expect(try store.room(accountID: account.rowID, jid: room)?.state == .joined)
        await engine.stop()
        running.cancel()

        let again = SyncEngine(store: store, account: account)
        let againEvents = roomEvents(again)
        let report = await again.syncOnce()
        #expect(report.connected && !report.resumed)
        try await waitFor("the rejoin of a new session", timeout: .seconds(5)) {
            againEvents.all.contains { $0.kind == .joined && $0.room == room }
        }
    }

    /// A room without an archive sends its own history on join: stored, and once only across rejoins.
    @Test func roomWithoutArchive__historyOnJoin_isStoredOnce() async throws {
        let room = freshRoom("plain", service: "nomam.conference.localhost")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let host = try RoomPeer(server: server, user: "test72", room: room, nick: "host").start(
            ["--post", "old {n}", "--count", "3", "--until-file", until, "--timeout", "90"])
        try await host.waitReady()

        let (store, account) = try await server.loggedInStore("test77", resource: "plain")
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t77", password: nil, autojoin: false)
        for _ in 1...2 {
            let report = await SyncEngine(store: store, account: account).syncOnce()
            #expect(report.connected)
            #expect(try store.room(accountID: account.rowID, jid: room)?.archived == false)
            try await waitFor("the room's history") {
                ((try? store.history(accountID: account.rowID, conversation: room, limit: 50)) ?? []).count >= 3
            }
            let bodies = try store.history(accountID: account.rowID, conversation: room, limit: 50).map(\.message.body)
            #expect(bodies == ["old 1", "old 2", "old 3"], "once each: \(bodies)")
        }
    }

    @Test func catchUp__fiftyMessagesPostedWhileAway_arriveOnceInOrder() async throws {
        let room = freshRoom("catchup")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        // An anchor keeps the (non-persistent) room alive while tern is away.
        let anchor = try RoomPeer(server: server, user: "test72", room: room, nick: "anchor").start(
            ["--until-file", until, "--timeout", "120"])
        try await anchor.waitReady()

        let (store, account) = try await server.loggedInStore("test80", resource: "rooms")
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t80", password: nil, autojoin: false)
        let first = await SyncEngine(store: store, account: account).syncOnce()
        #expect(first.connected)
        #expect(try store.room(accountID: account.rowID, jid: room)?.archived == true, "the room keeps an archive")

        let poster = try await RoomPeer(server: server, user: "test73", room: room, nick: "poster").run(
            ["--post", "away {n}", "--count", "50"])
        #expect(poster.status == 0, "\(poster.stderr)")

        let second = await SyncEngine(store: store, account: account).syncOnce()
        #expect(second.connected)
        let history = try store.history(accountID: account.rowID, conversation: room, limit: 500)
        let bodies = history.map(\.message.body).filter { $0.hasPrefix("away ") }
        #expect(bodies == (1...50).map { "away \($0)" }, "all 50, once each, in order")
    }

    /// The first catch-up of a room takes its newest 200 messages; `history ROOM --fetch`
    /// pages further back into the room's own archive.
    @Test func roomHistory__firstCatchUpIsBounded_andFetchPagesFurtherBack() async throws {
        let room = freshRoom("deep")
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        let talker = try RoomPeer(server: server, user: "test72", room: room, nick: "talker").start(
            ["--post", "early {n}", "--count", "230", "--until-file", until, "--timeout", "120"])
        try await talker.waitReady()

        let (store, account) = try await server.loggedInStore("test69", resource: "deep")
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t69", password: nil, autojoin: false)
        let report = await SyncEngine(store: store, account: account).syncOnce()
        #expect(report.connected)
        func bodies() throws -> [String] {
            try store.history(accountID: account.rowID, conversation: room, limit: 1000).map(\.message.body)
        }
        #expect(try bodies() == (31...230).map { "early \($0)" }, "the newest 200")

        let fetched = try await SyncEngine(store: store, account: account).withSession { engine in
            try await ArchiveHistory.fetchOlder(engine: engine, with: try JID(room), count: 100)
        }
        #expect(fetched.stored == 30)
        #expect(fetched.reachedStart)
        #expect(try bodies() == (1...230).map { "early \($0)" }, "all of it, in order, once")
    }

    @Test func bookmarks__areSeenByASecondDataDirectory_whichAutojoins() async throws {
        let room = freshRoom("bookmark")
        let (store, account, engine, running) = try await server.runningEngine("test71", resource: "desk")
        defer { running.cancel() }
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "desk", password: nil, autojoin: true)
        await engine.retryNow()
        try await waitFor("the join and the bookmark push") {
            let row = (try? store.room(accountID: account.rowID, jid: room)) ?? nil
            return row?.state == .joined && row?.bookmarkSync == nil && row?.bookmarked == true
        }

        let (laptop, laptopAccount) = try await server.loggedInStore("test71", resource: "laptop")
        #expect(try laptop.room(accountID: laptopAccount.rowID, jid: room) == nil)
        let laptopEngine = SyncEngine(store: laptop, account: laptopAccount)
        let laptopEvents = roomEvents(laptopEngine)
        let report = await laptopEngine.syncOnce()
        #expect(report.connected)
        let seen = try #require(try laptop.room(accountID: laptopAccount.rowID, jid: room), "the bookmark arrived")
        #expect(seen.autojoin && seen.bookmarked)
        #expect(seen.nick == "desk")
        try await waitFor("the laptop's autojoin", timeout: .seconds(5)) {
            laptopEvents.all.contains { $0.kind == .joined && $0.room == room }
        }

        // `leave` clears autojoin on the server too.
        _ = try store.leaveRoom(accountID: account.rowID, jid: room)
        await engine.retryNow()
        try await waitFor("the leave pushed") {
            let row = (try? store.room(accountID: account.rowID, jid: room)) ?? nil
            return row?.state == .left && row?.bookmarkSync == nil
        }
        _ = await SyncEngine(store: laptop, account: laptopAccount).syncOnce()
        #expect(try laptop.room(accountID: laptopAccount.rowID, jid: room)?.autojoin == false)

        // `leave --forget` deletes the bookmark itself.
        _ = try store.leaveRoom(accountID: account.rowID, jid: room, forget: true)
        await engine.retryNow()
        try await waitFor("the retraction pushed") { (try? store.room(accountID: account.rowID, jid: room))??.bookmarkSync == nil }
        _ = await SyncEngine(store: laptop, account: laptopAccount).syncOnce()
        #expect(try laptop.room(accountID: laptopAccount.rowID, jid: room)?.bookmarked == false)
        await engine.stop()
    }

    /// XEP-0402 §3: another client's `<extensions/>` survive tern republishing the bookmark.
    @Test func bookmarks__otherClientsExtensions_surviveOurRepublish() async throws {
        let room = freshRoom("extended")
        let other = try await server.connect("test70", resource: "other-client")
        let extensions = Element("extensions", namespace: NS.bookmarks, elements: [
            Element("notify", namespace: "urn:example:client", attributes: ["when": "always"]),
        ])
        _ = try await other.request(Bookmarks.publishRequest(
            Bookmarks.Bookmark(room: try JID(room), name: "Extended", autojoin: true, nick: "x", extensions: extensions),
            id: UUID().uuidString))

        let (store, account) = try await server.loggedInStore("test70", resource: "tern")
        _ = await SyncEngine(store: store, account: account).syncOnce()
        #expect(try store.room(accountID: account.rowID, jid: room)?.bookmarkExtensions != nil, "kept from the fetch")
        _ = try store.leaveRoom(accountID: account.rowID, jid: room)
        _ = await SyncEngine(store: store, account: account).syncOnce()
        #expect(try store.room(accountID: account.rowID, jid: room)?.bookmarkSync == nil, "pushed")

        let reply = try await other.request(Bookmarks.fetchRequest(id: UUID().uuidString))
        let mark = try #require(Bookmarks.bookmarks(fromItemsResult: reply).first { $0.room.description == room })
        #expect(!mark.autojoin, "our change is there")
        #expect(mark.extensions?.child("notify", namespace: "urn:example:client")?["when"] == "always", "and theirs too")
        await other.close()
    }

    @Test func selfPing__noticesARoomSilentlyGone_andReportsIt() async throws {
        let room = freshRoom("vanish")
        let (store, account, engine, running) = try await server.runningEngine("test74", resource: "rooms")
        defer { running.cancel() }
        let events = roomEvents(engine)
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t74", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }

        await engine.checkRooms()
        #expect(try store.room(accountID: account.rowID, jid: room)?.state == .joined, "a room that has us says so")

        // Forget the room on the server without telling its occupants.
        let lua = ">local m = prosody.hosts[\"conference.localhost\"].modules.muc; "
            + "local r = m.get_room_from_jid(\"\(room)\"); m.forget_room(r); m.delete_room(r); return true"
        let shell = try await server.adminShell(lua)
        #expect(shell.status == 0, "\(shell.stderr)")

        await engine.checkRooms()
        let gone = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(gone.state == .gone)
        #expect(gone.lastError == "the room no longer exists")
        #expect(!gone.wanted, "not recreated by a rejoin")
        try await waitFor("the room reported gone", timeout: .seconds(5)) {
            events.all.contains { $0.kind == .left && $0.text == "the room no longer exists" }
        }
        await engine.stop()
    }
}

/// Room events seen so far (the engine's stream is consumed on another task).
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RoomEvent] = []

    func append(_ event: RoomEvent) { lock.withLock { events.append(event) } }
    var all: [RoomEvent] { lock.withLock { events } }
}

/// A slixmpp occupant (`peer.py room`).
struct RoomPeer {
    let server: TestServer
    let user: String
    let room: String
    let nick: String
    var resource: String? = nil

    struct Running {
        let process: RunningProcess
        let readyFile: String

        func waitReady() async throws {
            try await waitFor("the peer in the room", timeout: .seconds(30)) {
                FileManager.default.fileExists(atPath: readyFile) || !process.process.isRunning
            }
            guard FileManager.default.fileExists(atPath: readyFile) else {
                throw HarnessError("the peer did not get into the room: \(process.output().stderr)")
            }
        }

        func finish() async throws -> RoomPeerResult {
            RoomPeerResult(try await process.finish(timeout: .seconds(120)))
        }
    }

    private var arguments: [String] {
        let jid = server.jid(user) + (resource.map { "/\($0)" } ?? "")
        return ["python3", server.peerScript, "room", "--jid", jid, "--password", server.password(user),
                "--host", server.host, "--port", String(server.port), "--ca", server.caFile,
                "--room", room, "--nick", nick]
    }

    func start(_ extra: [String]) throws -> Running {
        let ready = NSTemporaryDirectory() + "tern-room-ready-\(UUID().uuidString)"
        let process = try startProcess("/usr/bin/env", arguments + ["--ready-file", ready] + extra)
        return Running(process: process, readyFile: ready)
    }

    func run(_ extra: [String]) async throws -> ProcessResult {
        try await runProcess("/usr/bin/env", arguments + extra, timeout: .seconds(120))
    }
}

struct RoomPeerResult {
    let status: Int32
    let stdout: String
    let stderr: String
    let events: [[String: Any]]

    init(_ result: ProcessResult) {
        status = result.status
        stdout = result.stdout
        stderr = result.stderr
        events = Peer.messages(result)
    }

    var messages: [[String: Any]] { events.filter { $0["event"] as? String == "message" } }
}

extension TestServer {
    /// Runs one line in Prosody's admin shell (`prosodyctl shell`), for server-side acts the
    /// protocol cannot do, such as forgetting a room without telling its occupants.
    func adminShell(_ line: String) async throws -> ProcessResult {
        guard let command = ProcessInfo.processInfo.environment["TERN_TEST_PROSODYCTL"], !command.isEmpty else {
            throw HarnessError("TERN_TEST_PROSODYCTL is not set: run the tests with `make test`")
        }
        let words = command.split(separator: " ").map(String.init)
        return try await runProcess("/usr/bin/env", words + ["shell", line], timeout: .seconds(30))
    }
}
