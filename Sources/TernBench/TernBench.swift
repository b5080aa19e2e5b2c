import Foundation
import Store
import XMPP

/// Release-mode benchmarks for the DESIGN §7 budgets; prints figures, asserts nothing.
///
///     swift run -c release tern-bench [stanzas]
///     swift run -c release tern-bench search [messages]    (default 1,000,000)
@main
struct TernBench {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "search" {
            try SearchBench.run(messages: arguments.dropFirst().first.flatMap(Int.init) ?? 1_000_000)
            return
        }
        let count = arguments.first.flatMap(Int.init) ?? 200_000
        try parse(count)
        try ingest(count)
    }

    /// ~340-byte chat messages, fed in 4 KiB chunks, into `Sendable` elements.
    static func parse(_ count: Int) throws {
        let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s' from='example.org' version='1.0'>"
        var stream = Array(header.utf8)
        for n in 0..<count {
            stream += Array("""
                <message from='bob@example.org/phone' to='alice@example.org/tern.x' type='chat' id='m\(n)-4f2a9c'>\
                <body>Message number \(n): the quick brown fox jumps over the lazy dog.</body>\
                <origin-id xmlns='urn:xmpp:sid:0' id='0f8e\(n)-1c2d-4e5f'/><request xmlns='urn:xmpp:receipts'/>\
                <active xmlns='http://jabber.org/protocol/chatstates'/></message>
                """.utf8)
        }
        let parser = StreamParser()
        var stanzas = 0
        let start = ContinuousClock.now
        var offset = 0
        while offset < stream.count {
            let end = min(offset + 4096, stream.count)
            stanzas += try stream[offset..<end].withUnsafeBytes { try parser.feed($0) }.count
            offset = end
        }
        let seconds = seconds(ContinuousClock.now - start)
        print(String(format: "parse: %d stanzas (%.0f bytes each) in %.2f s = %.0f stanzas/s",
                     stanzas - 1, Double(stream.count) / Double(count), seconds, Double(stanzas - 1) / seconds))
    }

    /// Incoming messages stored through the real insert path (dedup index and FTS5 triggers), 1000 per transaction.
    static func ingest(_ count: Int) throws {
        let directory = NSTemporaryDirectory() + "tern-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(directory: directory)
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "r", createdAt: 0), credential: nil)
        let start = ContinuousClock.now
        for batch in stride(from: 0, to: count, by: 1000) {
            let messages = (batch..<min(batch + 1000, count)).map { n in
                StoredMessage(
                    accountID: account.rowID, conversation: "peer\(n % 50)@example.org", direction: .incoming,
                    sender: "peer\(n % 50)@example.org/phone", recipient: "alice@example.org",
                    body: "Message number \(n): the quick brown fox jumps over the lazy dog.",
                    timestamp: Double(n), receivedAt: Double(n), dedupKey: "o:\(UUID().uuidString)")
            }
            _ = try store.insertMessages(messages)
        }
        let seconds = seconds(ContinuousClock.now - start)
        print(String(format: "ingest: %d messages in %.2f s = %.0f messages/s", count, seconds, Double(count) / seconds))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
