import Foundation
import Store
import Sync

/// How things look on the terminal and in JSON Lines (CLI.md, JSON Lines fields).
///
/// Every string that came from the network passes the Sanitizer here, and every line
/// names its true sender.
enum Renderer {
    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: false)

    static func isoTimestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(timeFormat)
    }

    /// Local time, 24-hour; the date too when it is not today.
    static func clock(_ seconds: Double) -> String {
        let parts = LocalTime.parts(seconds)
        let today = LocalTime.parts(Date().timeIntervalSince1970)
        var out: [UInt8] = []
        if parts.tm_year != today.tm_year || parts.tm_yday != today.tm_yday {
            LocalTime.appendDay(parts, to: &out)
            out.append(UInt8(ascii: " "))
        }
        LocalTime.appendClock(parts, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// One message as a terminal line; continuation lines of multi-line bodies are indented.
    /// A `/me` action (XEP-0245 §3) reads `* who does something`; a corrected message is marked
    /// `(edited)`, a retracted one shows only `(retracted)`.
    static func line(_ message: StoredMessage, state: OutboxItem.State? = nil) -> String {
        let who = message.direction == .incoming ? sender(message.sender) : "me"
        let arrow = message.direction == .incoming ? "<" : ">"
        var prefix = "[\(clock(message.timestamp))] \(arrow) \(who)"
        if message.direction == .outgoing {
            prefix += " → \(Sanitizer.inert(message.conversation))"
            if let state, state != .delivered, state != .acked { prefix += " (\(state.rawValue))" }
        }
        if message.retractedAt != nil { return prefix + ": (retracted)" }
        let edited = message.editedAt != nil ? " (edited)" : ""
        if let action = message.meAction {
            let name = message.direction == .incoming ? (message.nick.map(Sanitizer.inert) ?? who) : "me"
            let text = Sanitizer.inertMultiline(String(action)).replacingOccurrences(of: "\n", with: "\n    ")
            return "[\(clock(message.timestamp))] * \(name) \(text)" + edited
        }
        let body = Sanitizer.inertMultiline(message.body).replacingOccurrences(of: "\n", with: "\n    ")
        return "\(prefix): \(body)" + edited
    }

    /// Why the next connection waits: the server keeps ending sessions right after login.
    static func retrying(reason: String, delay: Duration, failures: Int) -> String {
        "the server ended the last \(failures) sessions right after login (\(Sanitizer.inert(reason))); next try in \(SyncEngine.spoken(delay))"
    }

    /// A line that mentions us: reverse video on a terminal, a `!` marker in plain text.
    static func mention(_ line: String, colour: Bool) -> String {
        colour ? "\u{1B}[7m\(line)\u{1B}[0m" : "! " + line
    }

    /// The sender as one visible token. The resource is the peer's free text: with spaces and
    /// enough length it could wrap into what looks like a line from someone else, so it is
    /// shortened and its spaces shown. The bare JID is never cut: it is who sent it.
    static func sender(_ jid: String) -> String {
        let inert = Sanitizer.inert(jid)
        guard let slash = inert.firstIndex(of: "/") else { return inert }
        var resource = inert[inert.index(after: slash)...].replacingOccurrences(of: " ", with: "\u{2423}")
        let limit = 32
        if resource.unicodeScalars.count > limit {
            resource = String(String.UnicodeScalarView(resource.unicodeScalars.prefix(limit - 1))) + "…"
        }
        return inert[...slash] + resource
    }

    static func messageJSON(_ message: StoredMessage, state: OutboxItem.State?, event: String? = nil) -> String {
        MessageJSON.line(message, state: state, event: event)
    }

    /// The message fields of CLI.md's JSON Lines, for commands that add their own.
    static func messageObject(_ message: StoredMessage, state: OutboxItem.State?, event: String? = nil) -> [String: Any] {
        var object: [String: Any] = [
            "id": message.id ?? 0,
            "conversation": message.conversation,
            "from": message.sender,
            "to": message.recipient,
            "body": message.body,
            "timestamp": isoTimestamp(message.timestamp),
            "direction": message.direction.rawValue,
            "type": message.type,
        ]
        if let event { object["event"] = event }
        if let state { object["state"] = state.rawValue }
        if let originID = message.originID { object["origin_id"] = originID }
        if let stanzaID = message.stanzaID { object["stanza_id"] = stanzaID }
        if let nick = message.nick { object["nick"] = nick }
        if message.editedAt != nil { object["edited"] = true }
        if message.retractedAt != nil { object["retracted"] = true }
        return object
    }

    static func outboxJSON(_ item: OutboxItem) -> String {
        var object: [String: Any] = [
            "id": item.id, "kind": "message", "to": item.recipient, "body": item.body, "state": item.state.rawValue,
            "attempts": item.attempts, "created": isoTimestamp(item.createdAt),
        ]
        if let error = item.error { object["error"] = error }
        return json(object)
    }

    static func outboxLine(_ item: OutboxItem) -> String {
        var line = "\(item.id)  \(item.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(isoTimestamp(item.createdAt))  → \(Sanitizer.inert(item.recipient)): \(Sanitizer.inert(item.body))"
        if let error = item.error { line += "  [\(Sanitizer.inert(error))]" }
        return line
    }

    /// An intent as an outbox item (CLI.md): its kind, and a summary of the action as `body`.
    static func intentJSON(_ intent: Intent) -> String {
        var object: [String: Any] = [
            "id": Store.outboxID(of: intent), "kind": intent.kind.rawValue, "to": intent.target, "body": intent.summary,
            "state": intent.state.rawValue, "attempts": intent.attempts, "created": isoTimestamp(intent.createdAt),
        ]
        if let error = intent.error { object["error"] = error }
        return json(object)
    }

    /// `i12  queued    TIME  room-subject → room@service: the new subject`.
    static func intentLine(_ intent: Intent) -> String {
        let summary = intent.summary
        var line = "\(Store.outboxID(of: intent))  \(intent.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) "
            + "\(isoTimestamp(intent.createdAt))  \(intent.kind.rawValue) → \(Sanitizer.inert(intent.target))"
            + (summary.isEmpty ? "" : ": \(Sanitizer.inert(summary))")
        if let error = intent.error { line += "  [\(Sanitizer.inert(error))]" }
        return line
    }

    /// One JSON object on one line, keys sorted so output is stable for scripts and tests.
    static func json(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return escapingInvisibles(String(decoding: data, as: UTF8.self))
    }

    /// JSON escapes C0 itself, but passes C1, bidi and zero-width characters through raw; as
    /// `\uXXXX` they are the same JSON data and inert on a terminal (DESIGN §6, Terminal).
    static func escapingInvisibles(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: needsEscape) else { return json }
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            guard needsEscape(scalar) else {
                out.append(scalar)
                continue
            }
            for unit in String(scalar).utf16 {
                out.append(contentsOf: String(format: "\\u%04x", unit).unicodeScalars)
            }
        }
        return String(out)
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value == 0x7F }  // JSON leaves DEL raw
        if (0x80..<0xA0).contains(scalar.value) { return true }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return properties.isDefaultIgnorableCodePoint
        }
    }
}
