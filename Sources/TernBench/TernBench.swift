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
        try StorePathBench.run(count)
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

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
