import Foundation
import Testing
@testable import XMPP

/// Issue 12 §1, DESIGN §7: a consumer that falls behind stops the reading, so memory does not
/// grow with the backlog; and every stanza still arrives once it catches up. Real Prosody,
/// real TLS; the sender is a second connection writing as fast as it can.
@Suite(.serialized) struct BackPressureTests {
    let server: TestServer
    init() throws { server = try TestServer.fromEnvironment() }

    @Test func a_stalled_consumer_stops_the_reading__then_every_message_arrives() async throws {
        let receiverUser = try await server.registerFresh("bp-rx")
        let senderUser = try await server.registerFresh("bp-tx")
        let receiver = Connection(configuration: try server.configuration(receiverUser, resource: "bp"))
        _ = try await receiver.connect()
        let sender = Connection(configuration: try server.configuration(senderUser, resource: "bp"))
        _ = try await sender.connect()

        // 12 MB: far past the read-ahead and what the kernel's socket buffers can hold.
        let total = 6_000
        let filler = String(repeating: "backlog ", count: 250)
        let to = server.jid(receiverUser) + "/bp"
        for first in stride(from: 0, to: total, by: 200) {
            try await sender.send((first..<(first + 200)).map { n in
                Element("message", namespace: NS.client, attributes: ["to": to, "type": "chat", "id": "bp\(n)"],
                        elements: [Element("body", namespace: NS.client, elements: [], text: "\(n) \(filler)")])
            })
        }
        // The server answers in order: its pong means it has taken every message (a close
        // gives queued writes only a moment).
        _ = try await sender.request(Ping.request(id: "bp-done"), timeout: .seconds(60))
        await sender.close()

        // Nobody takes the receiver's events meanwhile: what it holds must stay bounded.
        var peak = 0
        for _ in 0..<25 {
            try await Task.sleep(for: .milliseconds(200))
            peak = max(peak, await receiver.readAheadInUse)
        }
        #expect(peak > 0, "the receiver read something")
        // One read (64 KiB) may cross the limit; nothing more is read until the consumer catches up.
        #expect(peak <= StreamIO.readAheadLimit + 64 * 1024, "held \(peak) bytes")

        var received = Set<String>()
        var firstBurst: Int?
        let deadline = ContinuousClock.now + .seconds(60)
        while received.count < total, ContinuousClock.now < deadline {
            guard let event = await receiver.nextEvent() else { break }
            if case .stanzas(let elements, let batch) = event {
                let messages = elements.filter { $0.name == "message" }
                if firstBurst == nil { firstBurst = messages.count }
                for message in messages { if let id = message["id"] { received.insert(id) } }
                await receiver.handled(batch)
            }
        }
        #expect(received.count == total)
        // What queued behind the stall comes as one burst of up to 256 KiB (one transaction for
        // the engine), not one per 64 KiB read (about 30 of these 2 KB messages).
        #expect((firstBurst ?? 0) > 60, "first burst: \(firstBurst ?? 0) messages")
        #expect(await receiver.readAheadInUse == 0)
        await receiver.close()
    }
}
