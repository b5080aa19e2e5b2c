import Foundation
import Store
import Sync

/// How the roster looks (CLI.md, roster item fields; RFC 6121 §2 and §4): grouped by roster
/// group, with subscription, the best resource's show and status, and "last seen" for
/// offline contacts where known. Colour and symbols on a terminal only.
enum RosterRenderer {
    static let noGroup = "(no group)"

    /// Text lines, one group heading then its contacts; a contact in two groups shows twice.
    static func lines(_ entries: [RosterEntry], colour: Bool, now: Double = Store.now) -> [String] {
        var byGroup: [String: [RosterEntry]] = [:]
        for entry in entries {
            for group in entry.groups.isEmpty ? [noGroup] : entry.groups { byGroup[group, default: []].append(entry) }
        }
        let names = byGroup.keys.sorted { lhs, rhs in
            if lhs == noGroup || rhs == noGroup { return rhs == noGroup && lhs != noGroup }
            return lhs.localizedStandardCompare(rhs) == .orderedAscending
        }
        var out: [String] = []
        out.reserveCapacity(entries.count + names.count)
        for name in names {
            out.append(colour ? "\u{1B}[1m\(Sanitizer.inert(name))\u{1B}[0m" : Sanitizer.inert(name))
            for entry in byGroup[name] ?? [] { out.append("  " + line(entry, colour: colour, now: now)) }
        }
        return out
    }

    static func line(_ entry: RosterEntry, colour: Bool, now: Double) -> String {
        let best = entry.presence.first
        let shown = Shown(show: best?.show, available: best != nil)
        var text = colour ? "\(shown.symbol) " : ""
        let jid = Sanitizer.inert(entry.jid)
        if let name = entry.name { text += "\(Sanitizer.inert(name)) <\(jid)>" } else { text += jid }
        text += "  \(entry.subscription.rawValue)"
        if entry.ask { text += " (asked)" }
        text += "  " + (colour ? shown.paint(shown.rawValue) : shown.rawValue)
        if let status = best?.status, !status.isEmpty { text += ": \(Sanitizer.inert(status))" }
        if best == nil, let seen = entry.lastSeen { text += ", last seen \(Renderer.clock(seen))" }
        if let pending = entry.pending { text += "  [pending \(pending.rawValue)]" }
        return text
    }

    /// A contact's presence as the roster shows it: RFC 6121 §4.7.2.1's `show` values, `online`
    /// for plain available presence, `offline` for none.
    enum Shown: String {
        case chat, online, away, xa, dnd, offline

        /// The Store keeps only the four `show` values; nil is plain available presence.
        init(show: String?, available: Bool) {
            self = available ? show.flatMap(Shown.init(rawValue:)) ?? .online : .offline
        }

        var symbol: String {
            let glyph = switch self {
            case .chat: "★"
            case .online: "●"
            case .away: "◐"
            case .xa: "○"
            case .dnd: "⊘"
            case .offline: "·"
            }
            return paint(glyph)
        }

        func paint(_ text: String) -> String {
            let code = switch self {
            case .chat, .online: "32"
            case .away, .xa: "33"
            case .dnd: "31"
            case .offline: "2"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
    }

    /// One roster item as JSON (CLI.md field names), keys sorted like `Renderer.json`.
    /// Written by hand: JSONSerialization costs ~0.15 ms a line here, too slow for big rosters.
    static func json(_ entry: RosterEntry) -> String {
        var out = "{\"ask\":" + (entry.ask ? "\"subscribe\"" : "null")
        out += ",\"groups\":[" + entry.groups.map(JSONText.string).joined(separator: ",") + "]"
        out += ",\"jid\":" + JSONText.string(entry.jid)
        if entry.presence.isEmpty, let seen = entry.lastSeen { out += ",\"last_seen\":" + JSONText.string(Renderer.isoTimestamp(seen)) }
        out += ",\"name\":" + JSONText.optional(entry.name)
        out += ",\"pending\":" + JSONText.optional(entry.pending?.rawValue)
        out += ",\"presence\":[" + entry.presence.map { resource in
            "{\"priority\":\(resource.priority),\"resource\":" + JSONText.string(resource.resource)
                + ",\"show\":" + JSONText.string(Shown(show: resource.show, available: true).rawValue) + ",\"status\":" + JSONText.optional(resource.status) + "}"
        }.joined(separator: ",") + "]"
        out += ",\"subscription\":" + JSONText.string(entry.subscription.rawValue) + "}"
        return Renderer.escapingInvisibles(out)
    }

    static func requestLine(_ request: SubscriptionRequest) -> String {
        var text = "\(Sanitizer.inert(request.jid)) asks to see your presence"
        if let message = request.message, !message.isEmpty { text += ": \(Sanitizer.inert(message))" }
        return text + " (\(Renderer.clock(request.receivedAt)); accept or deny)"
    }

    static func requestJSON(_ request: SubscriptionRequest) -> String {
        Renderer.json([
            "jid": request.jid, "request": "subscribe", "message": request.message ?? NSNull(),
            "received": Renderer.isoTimestamp(request.receivedAt),
        ])
    }

    /// `sync --watch` lines and shell notices for presence and subscription events.
    static func event(_ event: SyncEvent, json: Bool) -> String? {
        switch event {
        case .presence(let presence):
            let show = Shown(show: presence.show, available: presence.available).rawValue
            if json {
                return Renderer.json([
                    "event": "presence", "jid": presence.jid, "resource": presence.resource, "show": show,
                    "status": presence.status ?? NSNull(), "available": presence.available,
                ])
            }
            let who = Sanitizer.inert(presence.resource.isEmpty ? presence.jid : "\(presence.jid)/\(presence.resource)")
            return "-- \(who) is \(show)" + (presence.status.map { ": " + Sanitizer.inert($0) } ?? "")
        case .subscriptionRequest(let jid, let message):
            if json { return Renderer.json(["event": "subscription-request", "jid": jid, "message": message ?? NSNull()]) }
            return "-- \(Sanitizer.inert(jid)) asks to see your presence" + (message.map { ": " + Sanitizer.inert($0) } ?? "")
                + " (/accept or /deny)"
        case .subscribed(let jid):
            if json { return Renderer.json(["event": "subscribed", "jid": jid]) }
            return "-- \(Sanitizer.inert(jid)) accepted your subscription"
        case .unsubscribed(let jid):
            if json { return Renderer.json(["event": "unsubscribed", "jid": jid]) }
            return "-- \(Sanitizer.inert(jid)) cancelled or refused your subscription"
        case .strangers(let summary):
            return strangers(summary, json: json)
        default:
            return nil
        }
    }
}

extension RosterRenderer {
    /// One line for a burst from people not in the roster (DESIGN §6, Floods).
    static func strangers(_ summary: StrangerSummary, json: Bool) -> String {
        if json {
            return Renderer.json([
                "event": "strangers", "requests": summary.requests, "presence": summary.presence, "refused": summary.refused,
                "jids": summary.jids,
            ])
        }
        func count(_ n: Int, _ what: String) -> String? { n == 0 ? nil : "\(n) \(what)" + (n == 1 ? "" : "s") }
        let what = [count(summary.requests, "subscription request"), count(summary.presence, "presence update")].compactMap { $0 }
        guard !what.isEmpty else { return "-- \(summary.refused) more from people not in your roster, not stored (limit reached)" }
        var text = "-- " + what.joined(separator: " and ") + " from people not in your roster"
        if !summary.jids.isEmpty {
            let shown = summary.requests + summary.presence > summary.jids.count ? ", …" : ""
            text += ": " + summary.jids.map(Sanitizer.inert).joined(separator: ", ") + shown
        }
        if summary.refused > 0 { text += "; \(summary.refused) more not stored (limit reached)" }
        if summary.requests > 0 { text += " (/roster --pending)" }
        return text
    }
}

/// Minimal JSON string encoding (RFC 8259 §7) for the roster's hot path.
enum JSONText {
    static func string(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func optional(_ text: String?) -> String {
        text.map(string) ?? "null"
    }
}
