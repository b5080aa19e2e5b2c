import Foundation
import Store

/// Message objects of JSON Lines (CLI.md, "JSON Lines fields"), written straight into bytes.
///
/// `history --json` and `export` print hundreds of thousands of these: building a dictionary
/// for `JSONSerialization` and formatting dates with `Date.ISO8601FormatStyle` cost about
/// 200 µs a row, this about 1 µs. The output is what `Renderer.json` would give: keys sorted,
/// `/` left alone, and C1, bidi and zero-width characters escaped too (DESIGN §6, Terminal).
enum MessageJSON {
    static func line(_ message: StoredMessage, state: OutboxItem.State?, event: String? = nil) -> String {
        var bytes: [UInt8] = []
        append(message, state: state, event: event, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One object, without the line break.
    static func append(_ message: StoredMessage, state: OutboxItem.State?, event: String? = nil, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        field("body", first: true, &out)
        string(message.body, &out)
        field("conversation", &out)
        string(message.conversation, &out)
        field("direction", &out)
        string(message.direction.rawValue, &out)
        if message.editedAt != nil {
            field("edited", &out)
            out.append(contentsOf: "true".utf8)
        }
        if let event {
            field("event", &out)
            string(event, &out)
        }
        field("from", &out)
        string(message.sender, &out)
        field("id", &out)
        out.append(contentsOf: String(message.id ?? 0).utf8)
        if let nick = message.nick {
            field("nick", &out)
            string(nick, &out)
        }
        if let originID = message.originID {
            field("origin_id", &out)
            string(originID, &out)
        }
        if message.retractedAt != nil {
            field("retracted", &out)
            out.append(contentsOf: "true".utf8)
        }
        if let stanzaID = message.stanzaID {
            field("stanza_id", &out)
            string(stanzaID, &out)
        }
        if let state {
            field("state", &out)
            string(state.rawValue, &out)
        }
        field("timestamp", &out)
        out.append(UInt8(ascii: "\""))
        UTCStamp.append(message.timestamp, to: &out)
        out.append(UInt8(ascii: "\""))
        field("to", &out)
        string(message.recipient, &out)
        field("type", &out)
        string(message.type, &out)
        out.append(UInt8(ascii: "}"))
    }

    private static func field(_ name: StaticString, first: Bool = false, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string: `"` and `\` escaped, C0 as `\n`-style or `\u00XX` escapes (as
    /// JSONSerialization writes them), DEL and invisible characters as `\uXXXX`.
    static func string(_ text: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            // Runs of ordinary ASCII are copied whole; only the rest is looked at a scalar at a time.
            var index = 0
            var runStart = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                if byte < 0x80 {
                    escapeASCII(byte, &out)
                    index += 1
                } else {
                    let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                    let end = min(index + length, bytes.count)
                    let scalar = decode(bytes, index, end)
                    if let scalar, Renderer.needsEscape(scalar) {
                        for unit in String(scalar).utf16 { unicodeEscape(unit, &out) }
                    } else {
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                    }
                    index = end
                }
                runStart = index
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func escapeASCII(_ byte: UInt8, _ out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        default: unicodeEscape(UInt16(byte), &out)
        }
    }

    private static func unicodeEscape(_ unit: UInt16, _ out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((unit >> UInt16(shift)) & 0xF)]) }
    }

    /// The scalar encoded at `bytes[start..<end]` (Swift strings hold valid UTF-8).
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Unicode.Scalar? {
        var iterator = UnsafeBufferPointer(rebasing: bytes[start..<end]).makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
        return nil
    }
}

/// Times as text without Foundation's formatters, which cost more than the rest of a row.
enum UTCStamp {
    /// ISO 8601 in UTC to the second (`2026-11-25T10:00:00Z`), as `Renderer.isoTimestamp` writes.
    static func append(_ seconds: Double, to out: inout [UInt8]) {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        LocalTime.appendDay(parts, to: &out)
        out.append(UInt8(ascii: "T"))
        LocalTime.appendClock(parts, to: &out)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2, &out)
        out.append(UInt8(ascii: "Z"))
    }

    static func digits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        let value = max(value, 0)
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }
}

/// Local wall-clock times (the `TZ` the terminal runs in) for the terminal and Markdown.
enum LocalTime {
    static func parts(_ seconds: Double) -> tm {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        localtime_r(&time, &parts)
        return parts
    }

    /// `2026-11-25`
    static func appendDay(_ parts: tm, to out: inout [UInt8]) {
        UTCStamp.digits(Int(parts.tm_year) + 1900, 4, &out)
        out.append(UInt8(ascii: "-"))
        UTCStamp.digits(Int(parts.tm_mon) + 1, 2, &out)
        out.append(UInt8(ascii: "-"))
        UTCStamp.digits(Int(parts.tm_mday), 2, &out)
    }

    /// `10:05`, 24-hour.
    static func appendClock(_ parts: tm, to out: inout [UInt8]) {
        UTCStamp.digits(Int(parts.tm_hour), 2, &out)
        out.append(UInt8(ascii: ":"))
        UTCStamp.digits(Int(parts.tm_min), 2, &out)
    }
}
