import CXMLBenchReference
import Foundation
import Store
import XMPP

/// Release-mode benchmarks for the DESIGN §7 budgets; prints figures, asserts nothing.
///
///     swift run -c release tern-bench [stanzas]
///     swift run -c release tern-bench parse [stanzas]      (the parse figure alone, e.g. under a profiler)
///     swift run -c release tern-bench search [messages]    (default 1,000,000)
///     swift run -c release tern-bench completion [contacts] (default 10,000)
///     swift run -c release tern-bench conversations [messages]   (the conversation list and unread counts)
@main
struct TernBench {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "search" {
            try SearchBench.run(messages: arguments.dropFirst().first.flatMap(Int.init) ?? 1_000_000)
            return
        }
        if arguments.first == "completion" {
            try CompletionBench.run(contacts: arguments.dropFirst().first.flatMap(Int.init) ?? 10_000)
            return
        }
        if arguments.first == "conversations" {
            try ConversationBench.run(messages: arguments.dropFirst().first.flatMap(Int.init) ?? 1_000_000)
            return
        }
        if arguments.first == "parse" {
            try parse(arguments.dropFirst().first.flatMap(Int.init) ?? 200_000)
            return
        }
        let count = arguments.first.flatMap(Int.init) ?? 200_000
        try parse(count)
        try StorePathBench.run(count)
    }

    /// ~340-byte chat messages, fed in 4 KiB chunks, into `Sendable` elements; against raw
    /// libxml2 on the same bytes in the same run (CXMLBenchReference says why a C tree is the
    /// reference). Rounds alternate and the best of each counts, so load from elsewhere on the
    /// machine falls on all three alike.
    static func parse(_ count: Int) throws {
        let stream = parseStream(count)
        let chunk = 4096
        var best = (tern: Double.infinity, tree: Double.infinity, counting: Double.infinity)
        for _ in 0..<3 {
            best.tern = min(best.tern, try time(expecting: count) { try parseWithTern(stream, chunk: chunk) })
            best.tree = min(best.tree, try time(expecting: count) { libxml2(stream, chunk: chunk, mode: XR_C_TREE) })
            best.counting = min(best.counting, try time(expecting: count) { libxml2(stream, chunk: chunk, mode: XR_COUNT_ONLY) })
        }
        let rate = (tern: Double(count) / best.tern, tree: Double(count) / best.tree, counting: Double(count) / best.counting)
        print(String(format: "parse: %d stanzas (%.0f bytes each), best of 3", count, Double(stream.count) / Double(count)))
        print(String(format: "  tern StreamParser     %9.0f stanzas/s", rate.tern))
        print(String(format: "  libxml2 + C tree      %9.0f stanzas/s   (reference)", rate.tree))
        print(String(format: "  libxml2 counting only %9.0f stanzas/s   (libxml2's floor)", rate.counting))
        print(String(format: "  ratio tern / libxml2 + C tree: %.2f", rate.tern / rate.tree))
    }

    static func parseStream(_ count: Int) -> [UInt8] {
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
        return stream
    }

    /// Stanzas parsed, the stream header's event not counted.
    static func parseWithTern(_ stream: [UInt8], chunk: Int) throws -> Int {
        let parser = StreamParser()
        var events = 0
        var offset = 0
        while offset < stream.count {
            let end = min(offset + chunk, stream.count)
            events += try stream[offset..<end].withUnsafeBytes { try parser.feed($0) }.count
            offset = end
        }
        return events - 1
    }

    static func libxml2(_ stream: [UInt8], chunk: Int, mode: xr_mode) -> Int {
        stream.withUnsafeBytes { raw in
            xr_parse(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, chunk, mode)
        }
    }

    struct WrongCount: Error, CustomStringConvertible {
        var expected: Int, got: Int
        var description: String { "parsed \(got) stanzas, expected \(expected)" }
    }

    /// Seconds `parse` took; it must have parsed every stanza.
    static func time(expecting count: Int, _ parse: () throws -> Int) throws -> Double {
        let start = ContinuousClock.now
        let parsed = try parse()
        let elapsed = seconds(ContinuousClock.now - start)
        guard parsed == count else { throw WrongCount(expected: count, got: parsed) }
        return elapsed
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
