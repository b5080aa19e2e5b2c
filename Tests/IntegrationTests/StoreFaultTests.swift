import Foundation
import Store
import Sync
import Testing
import XMPP

/// "Acknowledge only after commit" (XEP-0198 §4, DESIGN §6) when the Store fails, against the
/// real Prosody. Failures are injected with triggers written into the store's own file, so the
/// engine's real writer meets them.
@Suite(.serialized) struct StoreFaultTests {
    let server: TestServer
    init() throws { server = try TestServer.fromEnvironment() }

    func bodies(_ store: Store, _ account: Account, from peer: String) throws -> [String] {
        try store.history(accountID: account.rowID, conversation: server.jid(peer), limit: 50).map(\.message.body)
    }

    /// Two fresh users; the first one's engine is running.
    func scene() async throws -> (receiver: String, sender: String, store: Store, account: Account, engine: SyncEngine, running: Task<Void, Never>) {
        let receiver = try await server.registerFresh("sf-rx")
        let sender = try await server.registerFresh("sf-tx")
        let (store, account, engine, running) = try await server.runningEngine(receiver, resource: "sf")
        return (receiver, sender, store, account, engine, running)
    }

    /// A row the Store refuses costs that message only: the rest of the burst is stored, the
    /// refusal is reported, and the session goes on.
    @Test func a_message_the_store_refuses__is_dropped_and_reported__the_rest_stored_and_the_session_kept() async throws {
        let (receiver, sender, store, account, engine, running) = try await scene()
        defer { running.cancel() }
        try store.write { db in
            try db.execute(sql: """
                CREATE TRIGGER test_refuse_one BEFORE INSERT ON message WHEN NEW.body = 'fault 2'
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
        }
        let dropped = Task {
            for await event in engine.events {
                if case .dropped(let reports) = event { return reports }
            }
            return []
        }
        try await Peer(server: server, user: sender).send(to: server.jid(receiver), body: "fault {n}", count: 3)
        try await waitFor("the two messages the Store takes") { (try? bodies(store, account, from: sender).count) == 2 }
        #expect(try bodies(store, account, from: sender) == ["fault 1", "fault 3"])
        let reports = await dropped.value
        #expect(reports.count == 1)
        #expect(reports.first?.reason.contains("refused by the test") == true, "\(reports)")
        #expect(await engine.newSessions == 1)
        #expect(try store.syncState(accountID: account.rowID).connection == "online")
        await engine.stop()
    }

    /// A Store that cannot write at all: the burst is not acknowledged, the link is dropped,
    /// and once the Store is mended the server hands the messages out again, each stored once.
    @Test func a_store_that_cannot_write__drops_the_link_unacknowledged__and_every_message_comes_back_once() async throws {
        let (receiver, sender, store, account, engine, running) = try await scene()
        defer { running.cancel() }
        // A trigger on a table that is gone: every insert into `message` fails with "no such
        // table", an error of the Store, not of any row.
        try store.write { db in
            try db.execute(sql: """
                CREATE TABLE test_gone(x);
                CREATE TRIGGER test_broken BEFORE INSERT ON message BEGIN INSERT INTO test_gone VALUES (1); END;
                DROP TABLE test_gone;
                """)
        }
        let offline = Task {
            for await event in engine.events {
                if case .connection(.offline, let detail?) = event { return detail }
            }
            return ""
        }
        try await Peer(server: server, user: sender).send(to: server.jid(receiver), body: "held {n}", count: 3)
        let detail = await offline.value
        #expect(detail.contains("could not store what arrived (no such table: main.test_gone)"), "\(detail)")
        #expect(try bodies(store, account, from: sender).isEmpty)

        try store.write { db in try db.execute(sql: "DROP TRIGGER test_broken") }
        try await waitFor("the messages after the Store is mended", timeout: .seconds(60)) {
            ((try? bodies(store, account, from: sender).count) ?? 0) >= 3
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try bodies(store, account, from: sender) == ["held 1", "held 2", "held 3"])
        await engine.stop()
    }

    /// The same on a feature's path (XEP-0045 room messages, `RoomFeature`): a failed commit
    /// there is not acknowledged either, and the room's messages come back once it is mended.
    @Test func a_room_message_the_store_cannot_write__drops_the_link_unacknowledged__and_comes_back_once() async throws {
        let (_, sender, store, account, engine, running) = try await scene()
        defer { running.cancel() }
        let room = "held-\(UUID().uuidString.prefix(8).lowercased())@conference.localhost"
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "holder", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }
        func roomBodies() throws -> [String] {
            try store.history(accountID: account.rowID, conversation: room, limit: 50).map(\.message.body)
        }
        // Only room messages fail: the chat path and every other write still work.
        try store.write { db in
            try db.execute(sql: """
                CREATE TABLE test_gone(x);
                CREATE TRIGGER test_broken BEFORE INSERT ON message WHEN NEW.type = 'groupchat'
                BEGIN INSERT INTO test_gone VALUES (1); END;
                DROP TABLE test_gone;
                """)
        }
        let offline = Task {
            for await event in engine.events {
                if case .connection(.offline, let detail?) = event { return detail }
            }
            return ""
        }
        let poster = try await RoomPeer(server: server, user: sender, room: room, nick: "poster").run(
            ["--post", "room held {n}", "--count", "2"])
        #expect(poster.status == 0, "\(poster.stderr)")
        let detail = await offline.value
        #expect(detail.contains("could not store what arrived (no such table: main.test_gone)"), "\(detail)")
        #expect(try roomBodies().isEmpty)

        try store.write { db in try db.execute(sql: "DROP TRIGGER test_broken") }
        try await waitFor("the room messages after the Store is mended", timeout: .seconds(60)) {
            ((try? roomBodies().count) ?? 0) >= 2
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try roomBodies() == ["room held 1", "room held 2"])
        await engine.stop()
    }
}
