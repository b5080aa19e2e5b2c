import Foundation
import Store
import Testing
@testable import Shell

/// What raises an alert (issue 14), and how: policies, summaries, clean notification text,
/// and a notify command run with its arguments as an argv array, detached and bounded.
@Suite struct AlertsTests {
    private func message(_ body: String, in conversation: String = "bob@x.org", room: Bool = false, at time: Double = 100) -> StoredMessage {
        var message = StoredMessage(
            accountID: 1, conversation: conversation, direction: .incoming, sender: room ? "\(conversation)/bob" : "\(conversation)/phone",
            recipient: "me@x.org", body: body, timestamp: time, receivedAt: time, dedupKey: "k")
        message.type = room ? "groupchat" : "chat"
        return message
    }

    private func decide(_ message: StoredMessage, current: String? = nil, mention: Bool = false, stored: String? = nil) -> Alerts.Alert? {
        let room = message.type == "groupchat"
        return Alerts.alert(
            for: message, sender: "Bob", currentConversation: current, isRoom: room, isMention: mention,
            policy: Alerts.policy(stored: stored, isRoom: room), offersFile: false)
    }

    @Test func policies_decide_and_the_current_conversation_never_alerts_but_for_a_mention() {
        #expect(decide(message("hi"))?.title == "message from Bob")
        #expect(decide(message("hi"), current: "bob@x.org") == nil)
        #expect(decide(message("hi"), stored: "none") == nil)
        let roomMessage = message("hello all", in: "tea@rooms.x.org", room: true)
        #expect(decide(roomMessage) == nil, "a room alerts only for mentions by default")
        #expect(decide(roomMessage, stored: "all")?.title == "Bob in tea@rooms.x.org")
        #expect(decide(roomMessage, mention: true)?.isMention == true)
        #expect(decide(roomMessage, current: "tea@rooms.x.org", mention: true) != nil)
        #expect(decide(roomMessage, mention: true, stored: "none") == nil)
    }

    @Test func a_burst_is_one_summary() {
        let burst = [Alerts.Alert(title: "a", text: "1"), Alerts.Alert(title: "b", text: "2", isMention: true), Alerts.Alert(title: "c", text: "3")]
        #expect(Alerts.summary(burst) == Alerts.Alert(title: "tern", text: "3 new, 1 mentioning you", isMention: true))
    }

    @Test func notification_text_is_one_inert_line_that_cannot_pass_for_an_option() {
        #expect(Alerts.clean("--help me\nnow") == "help me now")
        #expect(!Alerts.clean("\u{1B}]0;title\u{7}x").unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        #expect(Alerts.clean(String(repeating: "a", count: 500)).count == 200)
        let osc = Alerts.escape(Alerts.Alert(title: "bob; evil", text: "x\u{7}\u{1B}[2J"), .osc777)!
        let inner = osc.dropFirst(2).dropLast()
        #expect(!inner.unicodeScalars.contains { $0.value < 0x20 })
        #expect(inner.split(separator: ";").count == 4, "notify, title and text only: \(osc)")
        #expect(Alerts.escape(Alerts.Alert(title: "t", text: "x"), .off) == nil)
    }

    @Test func the_notify_command_gets_argv_never_a_shell_and_a_burst_runs_it_once() async throws {
        let directory = NSTemporaryDirectory() + "tern-alerts-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/notify.sh"
        // Written through a close-on-exec descriptor: a child another test forks meanwhile must
        // not hold it open for writing, or exec would fail with ETXTBSY.
        let fd = open(script, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        let text = "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"\(directory)/args\"\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let editor = try LineEditor(historyFile: nil, interactive: false, input: open("/dev/null", O_RDONLY), output: open("/dev/null", O_WRONLY))
        let raiser = AlertRaiser(editor: editor)
        raiser.configure(command: "\(script) fixed", desktop: .off)
        raiser.raise(Alerts.Alert(title: "$(touch \(directory)/pwned)", text: "`id` ; rm -rf /"))
        try await waitUntil { (try? String(contentsOfFile: directory + "/args", encoding: .utf8)) != nil }
        let args = try String(contentsOfFile: directory + "/args", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(args == ["fixed", "$(touch \(directory)/pwned)", "`id` ; rm -rf /"])
        #expect(!FileManager.default.fileExists(atPath: directory + "/pwned"))

        try FileManager.default.removeItem(atPath: directory + "/args")
        for n in 0..<5 { raiser.raise(Alerts.Alert(title: "m\(n)", text: "x")) }
        try await waitUntil { (try? String(contentsOfFile: directory + "/args", encoding: .utf8)) != nil }
        try await Task.sleep(for: .milliseconds(300))
        let summary = try String(contentsOfFile: directory + "/args", encoding: .utf8)
        #expect(summary == "fixed\ntern\n5 new\n")
    }

    @Test func notify_commands_hold_at_most_two_slots_and_a_hung_one_is_killed_to_free_its_own() async throws {
        // `tail -f /dev/null` runs until killed, whatever arguments follow.
        let hung = "/usr/bin/tail -f /dev/null"
        let quiet = { try LineEditor(historyFile: nil, interactive: false, input: open("/dev/null", O_RDONLY), output: open("/dev/null", O_WRONLY)) }
        let patient = AlertRaiser(editor: try quiet(), commandTimeout: 300)
        defer { patient.killRunning() }
        patient.configure(command: hung, desktop: .off)
        for n in 0..<3 {
            patient.raise(Alerts.Alert(title: "a\(n)", text: "x"))
            try await waitUntil { patient.snapshot.started + patient.snapshot.dropped == n + 1 }
        }
        #expect(patient.snapshot.started == 2)
        #expect(patient.snapshot.dropped == 1, "a third would wait behind two hung ones: it is dropped")

        let strict = AlertRaiser(editor: try quiet(), commandTimeout: 1)
        defer { strict.killRunning() }
        strict.configure(command: hung, desktop: .off)
        strict.raise(Alerts.Alert(title: "first", text: "x"))
        try await waitUntil { strict.snapshot.started == 1 }
        strict.raise(Alerts.Alert(title: "second", text: "x"))
        try await waitUntil { strict.snapshot.started == 2 }
        // Only the kill at the timeout can free the slots: tail never exits by itself.
        try await waitUntil {
            strict.raise(Alerts.Alert(title: "later", text: "x"))
            try? await Task.sleep(for: .milliseconds(900))
            return strict.snapshot.started > 2
        }
    }

    private func waitUntil(timeout: Duration = .seconds(30), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while await !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
