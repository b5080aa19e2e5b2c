/// RFC 6120 §4 / §11: what must hold for any bytes fed to `StreamParser`, beyond "no crash".
///
/// Shared by the libFuzzer target (Fuzz/FuzzStreamParser.swift, built by Fuzz/run) and the
/// corpus regression test, so both apply the same oracles. Only public API: the fuzz build
/// compiles this file against a plain `XMPP` module.
import XMPP

enum StreamParserOracle {
    /// Small limits, so the fuzzer reaches the drop paths often (the brief's figures).
    static let smallLimits = StreamParser.Limits(
        maxDepth: 8, maxStanzaBytes: 1024, maxAttributes: 6, maxTextBytes: 256, maxSkipBytes: 4096)
    /// Smaller still, so the hard cap on a skipped stanza is within a short input's reach.
    static let tinyLimits = StreamParser.Limits(
        maxDepth: 4, maxStanzaBytes: 200, maxAttributes: 2, maxTextBytes: 32, maxSkipBytes: 400)

    /// One fuzz input: two control bytes, then the stream.
    ///
    /// Byte 0: bits 0–1 pick the limits (0, 1: small; 2: tiny; 3: the defaults); bit 2 whether
    /// the stream is compared whole against one cut in two (0) or against chunks (1); bits 3–7
    /// a chunk size of 1–32. Byte 1: where to cut the stream in two, as a fraction of 255.
    /// Corpus files are readable because any two bytes do, e.g. `0@<stream:stream …`.
    struct Input {
        var limits: StreamParser.Limits
        var stream: [UInt8]
        var cut: Int
        var chunked: Bool
        var chunkSize: Int

        init?(_ data: some Collection<UInt8>) {
            guard let control = data.first, let fraction = data.dropFirst().first else { return nil }
            stream = Array(data.dropFirst(2))
            switch control & 3 {
            case 2: limits = StreamParserOracle.tinyLimits
            case 3: limits = StreamParser.Limits()
            default: limits = StreamParserOracle.smallLimits
            }
            chunked = control & 4 != 0
            chunkSize = Int(control >> 3) + 1
            cut = stream.count * Int(fraction) / 255
        }

        /// Whole, and cut in two at `cut` or in chunks of `chunkSize` (one of them per run: the
        /// fuzzer runs faster, and the corpus test adds the other).
        var chunkings: [[Int]] {
            [[], chunked ? chunks(of: chunkSize) : [cut]]
        }

        /// Cut every `size` bytes.
        func chunks(of size: Int) -> [Int] {
            Array(stride(from: size, to: stream.count, by: size))
        }
    }

    /// What one way of feeding the stream gave.
    struct Outcome: Equatable {
        var events: [StreamEvent]
        var error: XMLStreamError?
    }

    /// Feeds `stream` cut at `cuts` (ascending offsets), gathering events until the first error.
    static func run(_ stream: [UInt8], cuts: [Int], limits: StreamParser.Limits) -> Outcome {
        let parser = StreamParser(limits: limits)
        var outcome = Outcome(events: [], error: nil)
        var start = 0
        for end in cuts + [stream.count] where end >= start {
            do {
                let result = stream.withUnsafeBytes { raw in
                    Result { () throws(XMLStreamError) in try parser.feed(UnsafeRawBufferPointer(rebasing: raw[start..<end])) }
                }
                outcome.events += try result.get()
            } catch {
                outcome.error = error
                return outcome
            }
            start = end
        }
        return outcome
    }

    /// The first oracle `stream` breaks, described, or nil when every one holds:
    /// 1. every chunking gives the same events and the same error (a stream that fails
    ///    yields no events from its failing chunk, so there the events of each chunking
    ///    must only be a prefix of the longest's);
    /// 2. every element yielded re-serialises and parses back to an equal element;
    /// 3. nothing yielded (element or dropped part) breaks a limit.
    static func violation(_ stream: [UInt8], limits: StreamParser.Limits, chunkings: [[Int]]) -> String? {
        let outcomes = chunkings.map { (cuts: $0, outcome: run(stream, cuts: $0, limits: limits)) }
        guard let first = outcomes.first else { return nil }
        var longest = first.outcome.events
        for (cuts, outcome) in outcomes.dropFirst() {
            if outcome.error != first.outcome.error {
                return "cut at \(cuts): error \(describe(outcome.error)), whole: \(describe(first.outcome.error))"
            }
            if first.outcome.error == nil {
                if outcome.events != first.outcome.events {
                    return "cut at \(cuts): events differ\n  whole: \(first.outcome.events)\n  cut:   \(outcome.events)"
                }
            } else {
                let (short, long) = outcome.events.count < longest.count ? (outcome.events, longest) : (longest, outcome.events)
                if !long.starts(with: short) {
                    return "cut at \(cuts): events before the error differ\n  \(short)\n  \(long)"
                }
                longest = long
            }
        }
        let way = WayBack(limits)
        for event in longest {
            switch event {
            case .element(let element):
                if let broken = limitBroken(element, limits) { return "element \(element): \(broken)" }
                if let broken = way.roundTripBroken(element) { return "element \(element): \(broken)" }
            case .dropped(let report):
                // One scalar per byte at most, even where a cut split a UTF-8 sequence.
                if report.name.unicodeScalars.count > 63 { return "dropped name longer than 63 bytes: \(report.name)" }
                if let partial = report.partial, let broken = limitBroken(partial, limits) {
                    return "dropped part \(partial): \(broken)"
                }
            case .streamOpened, .streamClosed:
                break
            }
        }
        return nil
    }

    private static func describe(_ error: XMLStreamError?) -> String {
        error.map { "\($0)" } ?? "none"
    }

    /// Depth counts the stream header, so a stanza may nest `maxDepth - 1` levels. The
    /// stanza's bytes as received hold at least its names, attribute names and decoded
    /// values, and its decoded text.
    private static func limitBroken(_ stanza: Element, _ limits: StreamParser.Limits) -> String? {
        var text = 0, bytes = 0
        var pending: [(Element, Int)] = [(stanza, 2)]
        while let (element, depth) = pending.popLast() {
            if depth > limits.maxDepth { return "depth \(depth) > \(limits.maxDepth)" }
            if element.attributes.count > limits.maxAttributes {
                return "\(element.attributes.count) attributes > \(limits.maxAttributes)"
            }
            bytes += element.name.utf8.count
            for (key, value) in element.attributes { bytes += key.utf8.count + value.utf8.count }
            for child in element.children {
                switch child {
                case .element(let e): pending.append((e, depth + 1))
                case .text(let t): text += t.utf8.count
                }
            }
        }
        if text > limits.maxTextBytes { return "\(text) text bytes > \(limits.maxTextBytes)" }
        if bytes + text > limits.maxStanzaBytes { return "\(bytes + text) bytes > \(limits.maxStanzaBytes)" }
        return nil
    }

    /// Serialised, then parsed back on a `jabber:client` stream: one parser for every element
    /// of a run, as a fresh libxml2 context per element cost the fuzzer half its speed.
    /// Escaping may grow text up to fivefold and adds an `xmlns`, so the way back gets room for
    /// both. The serialiser refuses only prefixed attributes other than `xml:` (the tree does
    /// not keep the prefix's binding).
    private struct WayBack {
        let parser: StreamParser

        init(_ limits: StreamParser.Limits) {
            var roomy = limits
            roomy.maxAttributes += 1
            roomy.maxTextBytes = limits.maxTextBytes * 6
            roomy.maxStanzaBytes = max(limits.maxStanzaBytes * 8, 1 << 16)
            roomy.maxSkipBytes = roomy.maxStanzaBytes
            parser = StreamParser(limits: roomy)
            _ = try? parser.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        }

        func roundTripBroken(_ element: Element) -> String? {
            let text: String
            do {
                text = try XMLSerializer.serialize(element)
            } catch {
                if case .invalidName(let name, _) = error, name.contains(":"), !name.hasPrefix("xml:") { return nil }
                return "does not serialise: \(error)"
            }
            let back: [StreamEvent]
            do {
                back = try parser.feed(text)
            } catch {
                return "serialised as \(text), parsed back as \(error)"
            }
            guard back.count == 1, case .element(let parsed) = back[0] else {
                return "serialised as \(text), parsed back as \(back)"
            }
            return parsed == element ? nil : "serialised as \(text), parsed back as \(parsed)"
        }
    }
}
