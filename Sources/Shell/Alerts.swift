import Foundation
import Store
import Sync

/// Alerts (issue 14): which events deserve the user's attention, and raising them without
/// ever slowing the shell: the terminal bell, a desktop notification through the terminal
/// (OSC 9 or OSC 777), and an optional `notify-command`.
///
/// What alerts: a message outside the current conversation (by the conversation's policy:
/// `all`, `mentions`, `none`; a contact's default is `all`, a room's `mentions`), a mention in
/// a room, a subscription request, an invitation, a file offer. Nothing while our own presence
/// is do-not-disturb. A burst (a catch-up, an archive page) raises one summary, not one each.
enum Alerts {
    enum Policy: String, CaseIterable, Sendable {
        case all, mentions, none
    }

    struct Alert: Equatable, Sendable {
        let title: String
        let text: String
        var isMention = false
    }

    /// The policy of `conversation`: its stored one, else the default for its kind.
    static func policy(stored: String?, isRoom: Bool) -> Policy {
        stored.flatMap(Policy.init(rawValue:)) ?? (isRoom ? .mentions : .all)
    }

    /// The alert a message raises, if any.
    static func alert(
        for message: StoredMessage, sender: String, currentConversation: String?, isRoom: Bool, isMention: Bool,
        policy: Policy, offersFile: Bool
    ) -> Alert? {
        guard message.direction == .incoming, message.retractedAt == nil else { return nil }
        if message.conversation == currentConversation, !isMention { return nil }
        switch policy {
        case .none: return nil
        case .mentions where isRoom && !isMention: return nil
        case .all, .mentions: break
        }
        if offersFile { return Alert(title: "file from \(sender)", text: message.body) }
        let title = isRoom ? (isMention ? "\(sender) mentioned you in \(message.conversation)" : "\(sender) in \(message.conversation)")
            : "message from \(sender)"
        return Alert(title: title, text: message.body, isMention: isMention)
    }

    /// Several alerts that came together, as one.
    static func summary(_ alerts: [Alert]) -> Alert {
        summary(count: alerts.count, mentions: alerts.filter(\.isMention).count)
    }

    static func summary(count: Int, mentions: Int) -> Alert {
        let text = mentions > 0 ? "\(count) new, \(mentions) mentioning you" : "\(count) new"
        return Alert(title: "tern", text: text, isMention: mentions > 0)
    }

    /// Text for a notification: inert, one line, no leading dash (it could pass for an
    /// option of the notify command), at most `limit` characters.
    static func clean(_ text: String, limit: Int = 200) -> String {
        var line = Sanitizer.inert(text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " "))
        while line.first == "-" || line.first == " " { line.removeFirst() }
        if line.count > limit { line = String(line.prefix(limit - 1)) + "…" }
        return line
    }

    /// The terminal escape for a desktop notification (OSC 9, or OSC 777 `notify`).
    static func escape(_ alert: Alert, _ kind: Account.DesktopNotify) -> String? {
        let title = clean(alert.title).replacingOccurrences(of: ";", with: ",")
        let text = clean(alert.text).replacingOccurrences(of: ";", with: ",")
        switch kind {
        case .off: return nil
        case .osc9: return "\u{1B}]9;\(title): \(text)\u{7}"
        case .osc777: return "\u{1B}]777;notify;\(title);\(text)\u{7}"
        }
    }

    /// `name` found on $PATH, as an absolute path.
    static func findInPath(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Raises alerts for the shell: gathers those that come within `window` of each other and
/// raises one (or one summary) when the burst is over. The notify command runs detached with
/// a timeout, at most `maxRunning` at once; one that hangs or fails costs the shell nothing.
final class AlertRaiser: @unchecked Sendable {
    static let windowSeconds = 0.7
    static let maxRunning = 2

    private let editor: LineEditor
    private let lock = NSLock()
    // Guarded by `lock`.
    /// The burst being gathered: its first alert and its size (a flood keeps no more than that).
    private var pending: (first: Alerts.Alert?, count: Int, mentions: Int) = (nil, 0, 0)
    private var flushScheduled = false
    private var running = 0
    private var pids: Set<Int32> = []
    private var settings: (command: String?, desktop: Account.DesktopNotify) = (nil, .off)
    /// Alerts raised, commands started and commands dropped (too many running), for tests.
    private(set) var counts = (raised: 0, started: 0, dropped: 0)

    /// How long a notify command may run before it is killed.
    private let commandTimeout: Double

    init(editor: LineEditor, commandTimeout: Double = 5) {
        self.editor = editor
        self.commandTimeout = commandTimeout
    }

    func configure(command: String?, desktop: Account.DesktopNotify) {
        lock.withLock { settings = (command, desktop) }
    }

    func raise(_ alert: Alerts.Alert) {
        let schedule = lock.withLock { () -> Bool in
            pending = (pending.first ?? alert, pending.count + 1, pending.mentions + (alert.isMention ? 1 : 0))
            defer { flushScheduled = true }
            return !flushScheduled
        }
        guard schedule else { return }
        // A Dispatch timer, not a task: the alert must come even when the cooperative pool is busy.
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.windowSeconds) { [self] in flush() }
    }

    private func flush() {
        let (burst, settings) = lock.withLock { () -> ((first: Alerts.Alert?, count: Int, mentions: Int), (command: String?, desktop: Account.DesktopNotify)) in
            defer {
                pending = (nil, 0, 0)
                flushScheduled = false
            }
            return (pending, self.settings)
        }
        guard let first = burst.first else { return }
        let alert = burst.count == 1 ? first : Alerts.summary(count: burst.count, mentions: burst.mentions)
        lock.withLock { counts.raised += 1 }
        editor.bell()
        if editor.interactive, let escape = Alerts.escape(alert, settings.desktop) { editor.writeOut(escape) }
        if let command = settings.command { run(command, alert) }
    }

    /// Runs the notify command: its own words, then the title and the text, as arguments.
    private func run(_ command: String, _ alert: Alerts.Alert) {
        let words = command.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let program = words.first,
            let path = program.contains("/") ? program : Alerts.findInPath(program)
        else { return }
        let admitted = lock.withLock { () -> Bool in
            guard running < Self.maxRunning else {
                counts.dropped += 1
                return false
            }
            running += 1
            counts.started += 1
            return true
        }
        guard admitted else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(words.dropFirst()) + [Alerts.clean(alert.title), Alerts.clean(alert.text)]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // The slot is given back once, whichever comes first: the exit, or the kill at the timeout.
        let slot = Slot { [self] in lock.withLock { running -= 1 } }
        process.terminationHandler = { _ in slot.release() }
        do {
            try process.run()
        } catch {
            slot.release()
            return
        }
        let pid = process.processIdentifier
        lock.withLock { _ = pids.insert(pid) }
        DispatchQueue.global().asyncAfter(deadline: .now() + commandTimeout) { [self] in
            // SIGKILL: a program that ignores SIGTERM must not keep its slot.
            if process.isRunning { kill(pid, SIGKILL) }
            lock.withLock { _ = pids.remove(pid) }
            slot.release()
        }
    }

    /// Runs `onRelease` on the first `release()` only.
    private final class Slot: @unchecked Sendable {
        private let lock = NSLock()
        private var onRelease: (() -> Void)?

        init(_ onRelease: @escaping () -> Void) { self.onRelease = onRelease }

        func release() {
            let action = lock.withLock { () -> (() -> Void)? in
                defer { onRelease = nil }
                return onRelease
            }
            action?()
        }
    }

    var snapshot: (raised: Int, started: Int, dropped: Int) { lock.withLock { counts } }

    /// Kills the notify commands still running (the shell is quitting, or a test ends).
    func killRunning() {
        for pid in lock.withLock({ pids }) { kill(pid, SIGKILL) }
    }
}
