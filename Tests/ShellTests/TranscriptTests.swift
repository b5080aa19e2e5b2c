import Foundation
import Store
import Testing
@testable import Shell

private func message(_ body: String, direction: StoredMessage.Direction = .incoming, nick: String? = nil,
                     at time: Double = 1_780_000_000, conversation: String = "bob@example.org") -> StoredMessage {
    var message = StoredMessage(
        accountID: 1, conversation: conversation, direction: direction, type: nick == nil ? "chat" : "groupchat",
        sender: direction == .incoming ? "bob@example.org/phone" : "alice@example.org/tern", recipient: "alice@example.org",
        nick: nick, body: body, timestamp: time, receivedAt: time, originID: "o1", dedupKey: "k")
    message.id = 7
    return message
}

@Suite struct MessageJSONTests {
    @Test func line__is_what_renderer_json_writes_for_the_same_fields() throws {
        // Every kind of character the two encoders treat specially, and an optional field or two.
        let body = "q\"uote\\ / \u{1}\u{8}\u{C}\n\r\t\u{1B}[2J \u{7F} \u{9B} \u{202E} zero\u{200B}w é 🙂 \u{2028}"
        var row = message(body, nick: "carol")
        row.stanzaID = "s1"
        let fast = MessageJSON.line(row, state: .acked, event: "message")
        let reference = Renderer.json([
            "id": 7, "conversation": row.conversation, "from": row.sender, "to": row.recipient, "body": body,
            "timestamp": Renderer.isoTimestamp(row.timestamp), "direction": "in", "type": "groupchat",
            "event": "message", "state": "acked", "origin_id": "o1", "stanza_id": "s1", "nick": "carol",
        ])
        #expect(fast == reference)
    }

    @Test func line__marks_edited_and_retracted_rows() throws {
        var row = message("")
        row.retractedAt = 1
        row.editedAt = 1
        let object = try #require(try JSONSerialization.jsonObject(with: Data(MessageJSON.line(row, state: nil).utf8)) as? [String: Any])
        #expect(object["retracted"] as? Bool == true)
        #expect(object["edited"] as? Bool == true)
        #expect(object["body"] as? String == "")
    }

    @Test func timestamp__is_utc_to_the_second_like_the_iso_formatter() {
        for seconds in [0.0, 1_780_000_000.999, 951_782_400, 4_102_444_799.5] {
            var bytes: [UInt8] = []
            UTCStamp.append(seconds, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == Renderer.isoTimestamp(seconds), "\(seconds)")
        }
    }
}

@Suite struct RendererEditTests {
    @Test func line__shows_me_actions_edits_and_retractions() {
        #expect(Renderer.line(message("/me waves")).hasSuffix("* bob@example.org/phone waves"))
        #expect(Renderer.line(message("/me waves", nick: "carol", conversation: "room@muc.example.org")).hasSuffix("* carol waves"))
        var edited = message("fixed")
        edited.editedAt = 1
        #expect(Renderer.line(edited).hasSuffix(": fixed (edited)"))
        var retracted = message("")
        retracted.retractedAt = 1
        #expect(Renderer.line(retracted).hasSuffix(": (retracted)"))
    }

    @Test func line__a_me_action_is_still_inert() {
        let line = Renderer.line(message("/me \u{1B}[2Jwipes \u{202E}"))
        #expect(!line.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
    }
}

@Suite struct MarkdownTranscriptTests {
    private func render(_ messages: [StoredMessage]) -> String {
        var transcript = MarkdownTranscript()
        var bytes: [UInt8] = []
        for message in messages { transcript.append(HistoryEntry(message: message, state: nil), to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func transcript__has_a_heading_per_conversation_and_per_day() {
        setenv("TZ", "UTC", 1)
        tzset()
        let text = render([
            message("one", at: 1_780_000_000), message("two", at: 1_780_000_000 + 86_400),
            message("hi", nick: "carol", at: 1_780_000_000, conversation: "room@muc.example.org"),
        ])
        #expect(text == """
            # bob@example.org

            ## 2026-05-28

            **bob@example.org** (20:26): one

            ## 2026-05-29

            **bob@example.org** (20:26): two


            # room@muc.example.org

            ## 2026-05-28

            **carol** (20:26): hi


            """)
    }

    @Test func transcript__peer_text_cannot_forge_structure() {
        setenv("TZ", "UTC", 1)
        tzset()
        let forged = "ok\n\n# Heading\n**mallory** (10:00): fake\n- item\n1. item\n> quote\n```\n<b>x</b> [l](u) a_b | c ~d\n==="
        let text = render([message(forged)])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.filter { $0.hasPrefix("#") } == ["# bob@example.org", "## 2026-05-28"])
        #expect(lines.filter { $0.hasPrefix("**") } == ["**bob@example.org** (20:26): ok\\"])
        #expect(text.contains("\\# Heading\\\n\\*\\*mallory\\*\\* (10:00): fake\\\n\\- item\\\n1\\. item\\\n\\> quote\\\n\\`\\`\\`\\\n"))
        #expect(text.contains("\\<b\\>x\\</b\\> \\[l\\](u) a\\_b \\| c \\~d\\\n\\==="))
        #expect(!text.contains("\n\n\n#") || text.hasPrefix("# "), "no blank line lets peer text start a block")
        let paragraphBreaks = text.components(separatedBy: "\n\n").count
        #expect(paragraphBreaks == 4, "heading, day, one paragraph for the whole body, end: \(text)")
    }

    @Test func transcript__shows_actions_edits_and_retractions() {
        setenv("TZ", "UTC", 1)
        tzset()
        var edited = message("fixed *now*", direction: .outgoing)
        edited.editedAt = 1
        var retracted = message("gone")
        retracted.retractedAt = 1
        let text = render([message("/me waves"), edited, retracted])
        #expect(text.contains("\\* **bob@example.org** (20:26) waves\n"))
        #expect(text.contains("**alice@example.org** (20:26): fixed \\*now\\* *(edited)*\n"))
        #expect(text.contains("**bob@example.org** (20:26): *(retracted)*\n"))
        #expect(!text.contains("gone"))
    }
}
