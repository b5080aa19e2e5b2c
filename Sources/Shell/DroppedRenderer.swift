import Sync

/// How skipped stanzas are told (DESIGN §6): one line per burst, however many it held, so a
/// flood of oversized stanzas cannot flood the terminal either.
enum DroppedRenderer {
    static func lines(_ reports: [DroppedStanzaReport], json: Bool) -> String? {
        guard let first = reports.first else { return nil }
        if json {
            return reports.map { report in
                var object: [String: Any] = ["event": "dropped", "kind": report.kind, "reason": report.reason]
                if let from = report.from { object["from"] = from }
                return Renderer.json(object)
            }.joined(separator: "\n")
        }
        let what = reports.count == 1 ? "an oversized \(Sanitizer.inert(first.kind))" : "\(reports.count) oversized stanzas"
        let senders = Array(Set(reports.compactMap(\.from))).sorted()
        var line = "-- dropped \(what)"
        if !senders.isEmpty {
            let shown = senders.prefix(3).map(Renderer.sender).joined(separator: ", ")
            line += " from \(shown)" + (senders.count > 3 ? " and \(senders.count - 3) more" : "")
        }
        return line + ": \(Sanitizer.inert(first.reason))"
    }
}
