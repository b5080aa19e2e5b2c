import Foundation
import Store
import Sync
import Testing
@testable import Shell

/// `tern roster` output: grouping, best resource, plain vs terminal, inert network text.
@Suite struct RosterRendererTests {
    func entry(_ jid: String, groups: [String] = [], presence: [ResourcePresence] = [], name: String? = nil) -> RosterEntry {
        RosterEntry(
            jid: jid, name: name, subscription: .both, ask: false, groups: groups, presence: presence, lastSeen: nil,
            pending: nil, onServer: true)
    }

    func online(_ jid: String, show: String?, status: String?) -> ResourcePresence {
        ResourcePresence(accountID: 1, jid: jid, resource: "r", available: true, show: show, status: status, priority: 0, updatedAt: 0)
    }

    @Test func lines__group_headings_sorted_with_ungrouped_last_and_contacts_repeated_per_group() {
        let lines = RosterRenderer.lines([
            entry("a@x", groups: ["Work", "Friends"]), entry("b@x"), entry("c@x", groups: ["Friends"]),
        ], colour: false)
        #expect(lines == [
            "Friends", "  a@x  both  offline", "  c@x  both  offline",
            "Work", "  a@x  both  offline",
            "(no group)", "  b@x  both  offline",
        ])
    }

    @Test func lines__plain_text_has_no_escape_codes_and_network_text_is_inert() {
        let evil = online("a@x", show: "away", status: "hi\u{1B}[2Jthere\u{202E}")
        let plain = RosterRenderer.lines([entry("a@x", presence: [evil], name: "Al\u{1B}]0;x")], colour: false).joined()
        #expect(!plain.contains("\u{1B}"))
        #expect(!plain.contains("\u{202E}"))
        #expect(plain.contains("away: hi"))
        let coloured = RosterRenderer.lines([entry("a@x", presence: [evil])], colour: true).joined()
        #expect(coloured.contains("\u{1B}[33m"), "away is yellow on a terminal")
    }

    @Test func json__has_the_cli_fields() throws {
        let line = RosterRenderer.json(entry("a@x", groups: ["G"], presence: [online("a@x", show: nil, status: "s")], name: "A \"q\" \\ \n\u{1}\u{202E}é"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys).isSuperset(of: ["jid", "name", "subscription", "ask", "groups", "presence", "pending"]))
        let presence = try #require(object["presence"] as? [[String: Any]])
        #expect(presence.first?["show"] as? String == "online")
        #expect(presence.first?["status"] as? String == "s")
        #expect(presence.first?["resource"] as? String == "r")
        #expect(object["name"] as? String == "A \"q\" \\ \n\u{1}\u{202E}é", "escaped, and the same data once parsed")
        #expect(!line.contains("\u{202E}"), "bidi controls are escaped, not raw")
        #expect(object["pending"] is NSNull)
    }

    @Test func lastSeen__shown_for_offline_contacts_only_in_text_and_json() throws {
        let seen = 1_700_000_000.0
        var offline = entry("a@x")
        offline.lastSeen = seen
        var present = entry("b@x", presence: [online("b@x", show: nil, status: nil)])
        present.lastSeen = seen
        let lines = RosterRenderer.lines([offline, present], colour: false)
        #expect(lines.contains("  a@x  both  offline, last seen \(Renderer.clock(seen))"))
        #expect(lines.contains("  b@x  both  online"))
        let offlineJSON = try #require(try JSONSerialization.jsonObject(with: Data(RosterRenderer.json(offline).utf8)) as? [String: Any])
        #expect(offlineJSON["last_seen"] as? String == Renderer.isoTimestamp(seen))
        let onlineJSON = try #require(try JSONSerialization.jsonObject(with: Data(RosterRenderer.json(present).utf8)) as? [String: Any])
        #expect(onlineJSON["last_seen"] == nil, "an online contact has no last seen")
        #expect(RosterRenderer.lines([entry("c@x")], colour: false) == ["(no group)", "  c@x  both  offline"], "unknown: nothing shown")
    }

    @Test func parseStatus__a_leading_show_word_sets_the_show_else_only_the_message() {
        var current = OwnPresence(accountID: 1)
        current.show = "dnd"
        #expect(ContactCommandSupport.parseStatus(["away", "back", "soon"], current: current) == ("away", "back soon"))
        #expect(ContactCommandSupport.parseStatus(["back", "soon"], current: current) == ("dnd", "back soon"))
        #expect(ContactCommandSupport.parseStatus(["online"], current: current) == ("online", nil))
    }

    /// One line (one JSON event) for a burst from strangers, with its counts; senders made inert.
    @Test func event__a_strangers_summary_is_one_line_and_one_json_event() throws {
        let summary = StrangerSummary(requests: 57, presence: 3, refused: 7, jids: ["a@x", "b\u{1B}[31m@x"])
        let line = try #require(RosterRenderer.event(.strangers(summary), json: false))
        #expect(!line.contains("\n"))
        #expect(!line.contains("\u{1B}"))
        #expect(line.hasPrefix("-- 57 subscription requests and 3 presence updates from people not in your roster: a@x, b"))
        #expect(line.contains("7 more not stored (limit reached)"))
        #expect(line.contains("/roster --pending"))
        let json = try #require(RosterRenderer.event(.strangers(summary), json: true))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "strangers")
        #expect(object["requests"] as? Int == 57)
        #expect(object["presence"] as? Int == 3)
        #expect(object["refused"] as? Int == 7)
        #expect((object["jids"] as? [String])?.count == 2)
        let one = try #require(RosterRenderer.event(.strangers(StrangerSummary(requests: 1, presence: 0, refused: 0, jids: ["a@x"])), json: false))
        #expect(one == "-- 1 subscription request from people not in your roster: a@x (/roster --pending)")
        let refusedOnly = RosterRenderer.event(.strangers(StrangerSummary(requests: 0, presence: 0, refused: 4, jids: [])), json: false)
        #expect(refusedOnly == "-- 4 more from people not in your roster, not stored (limit reached)")
    }
}
