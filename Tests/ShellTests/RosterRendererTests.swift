import Foundation
import Store
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

    @Test func parseStatus__a_leading_show_word_sets_the_show_else_only_the_message() {
        var current = OwnPresence(accountID: 1)
        current.show = "dnd"
        #expect(ContactCommandSupport.parseStatus(["away", "back", "soon"], current: current) == ("away", "back soon"))
        #expect(ContactCommandSupport.parseStatus(["back", "soon"], current: current) == ("dnd", "back soon"))
        #expect(ContactCommandSupport.parseStatus(["online"], current: current) == ("online", nil))
    }
}
