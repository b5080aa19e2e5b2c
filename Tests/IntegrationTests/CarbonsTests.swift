import Foundation
import Store
import Sync
import Testing
import XMPP

/// XEP-0280 against the test server: what our other devices send shows up in tern's history,
/// and a stranger's fake copy does not.
@Suite struct CarbonsTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    @Test func sent_carbon__a_message_from_our_other_resource_is_stored_as_outgoing() async throws {
        let (store, account, engine, running) = try await server.runningEngine("test41", resource: "tern.carbons")
        defer { running.cancel() }
        // The outbox is flushed only after every feature has started, so once this row has left,
        // carbons have been enabled.
        let probe = try Outbox.enqueueChat(store: store, account: account, to: server.jid("test43"), body: "probe")
        try await waitFor("the session to finish starting") {
            guard let state = try? store.outboxItem(id: probe.id)?.state else { return false }
            return state != .queued
        }

        // Our "phone": slixmpp on the same account, another resource. The account's archive
        // holds earlier runs' messages, which catch-up may store too: this run's are unique.
        let id = "carbon-\(UUID().uuidString.lowercased())"
        let text = "written on my phone \(id)"
        let sent = try await runProcess("/usr/bin/env", [
            "python3", server.peerScript, "send", "--jid", server.jid("test41"), "--password", server.password("test41"),
            "--host", server.host, "--port", String(server.port), "--ca", server.caFile,
            "--to", server.jid("test42"), "--body", text, "--id", id,
        ])
        #expect(sent.status == 0, "peer send failed: \(sent.stderr)")

        let conversation = server.jid("test42")
        func rows() throws -> [HistoryEntry] {
            try store.history(accountID: account.rowID, conversation: conversation, limit: 500).filter { $0.message.body == text }
        }
        try await waitFor("the sent carbon to be stored") { (try? rows())?.isEmpty == false }
        let history = try rows()
        #expect(history.count == 1)
        let row = try #require(history.first?.message)
        #expect(row.direction == .outgoing)
        #expect(row.sender.hasPrefix(server.jid("test41") + "/"))
        #expect(row.sender != "\(account.jid)/\(account.resource)")
        #expect(row.dedupKey == "o:" + id)
        #expect(history.first?.state == nil, "another device's message has no outbox row of ours")

        // A stranger dresses a message up as a sent copy; tern answers its ping only after
        // handling what came before it.
        let mallory = try await server.connect("test43", resource: "mallory")
        let tern = try JID("\(account.jid)/\(account.resource)")
        let forged = Element(
            "message", namespace: NS.client, attributes: ["to": tern.description, "type": "chat", "id": "forged-1"],
            elements: [
                Element("body", namespace: NS.client, elements: [], text: "outer \(id)"),
                Element("sent", namespace: NS.carbons, elements: [
                    Element("forwarded", namespace: NS.forward, elements: [
                        Element(
                            "message", namespace: NS.client,
                            attributes: ["from": "\(server.jid("test41"))/phone", "to": server.jid("test44"), "type": "chat"],
                            elements: [Element("body", namespace: NS.client, elements: [], text: "forged \(id)")]),
                    ]),
                ]),
            ])
        try await mallory.send([forged])
        _ = try await mallory.request(Ping.request(id: "after-forged", to: tern))
        for user in ["test41", "test43", "test44"] {
            let bodies = try store.history(accountID: account.rowID, conversation: server.jid(user), limit: 500).map(\.message.body)
            #expect(!bodies.contains { $0.hasSuffix(id) }, "a forged copy was stored in \(user)")
        }

        await mallory.close()
        await engine.stop()
        await running.value
    }
}
