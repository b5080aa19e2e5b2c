/// Tab completion through readline's completion hooks (readline(3), "Completion Functions"),
/// fed by the `completer`; never readline's own filename completion.
///
/// Tab behaves like readline's complete followed by menu-complete: the first press completes
/// the only candidate or the candidates' common prefix, the second lists them in columns, and
/// each press after that puts the next candidate in place (`TabPresses`).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

/// What a Tab press does, by how many Tabs came just before it (a pure state machine).
struct TabPresses: Equatable {
    enum Action: Equatable {
        /// Complete the only candidate, or the candidates' common prefix.
        case complete
        /// List the candidates.
        case list
        /// Put the first candidate in place (`starting`), or the next one.
        case cycle(starting: Bool)
    }

    private(set) var count = 0

    /// The next press; `repeated` when the key before it was Tab too.
    mutating func press(repeated: Bool) -> Action {
        count = repeated ? count + 1 : 1
        switch count {
        case 1: return .complete
        case 2: return .list
        default: return .cycle(starting: count == 3)
        }
    }

    /// After a press that settled it (one candidate or none): the next Tab starts afresh.
    mutating func settled() { count = 0 }
}

extension LineEditor {
    /// Points readline's completion hook at the running editor, or (`false`, when `run` ends) at nothing.
    static func hookCompletion(_ on: Bool) {
        tern_rl_set_attempted_completion_function(on ? readlineCompletion : nil)
    }

    /// Binds Tab to `tabKey`. Readline reads its init file (which binds Tab) when the first
    /// line handler is installed, so this comes after `rl_callback_handler_install`.
    static func bindTab() {
        _ = rl_bind_key(9, tabKey)
    }

    /// Whether the last key was Tab, which may have listed candidates below the line (so drawn
    /// outside it): readline records `tabKey`, not rl_complete or rl_possible_completions. Loop thread only.
    var lastKeyWasTab: Bool { tern_rl_last_func_is(tabKey) != 0 }

    fileprivate func tab(_ count: Int32, _ key: Int32) -> Int32 {
        switch tabPresses.press(repeated: tern_rl_last_func_is(tabKey) != 0) {
        case .complete:
            let result = rl_complete_internal(9)  // TAB: complete
            if candidates.count <= 1 { tabPresses.settled() }
            return result
        case .list:
            return rl_complete_internal(Int32(UInt8(ascii: "?")))
        case .cycle(let starting):
            // Readline's menu-complete starts over unless the last function was itself.
            if starting { tern_rl_forget_last_func() } else { tern_rl_set_last_func_menu_complete() }
            return rl_menu_complete(1, key)
        }
    }

    fileprivate func complete(_ text: UnsafePointer<CChar>) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        candidates = []
        // Answers are not commands: nothing to complete at a question.
        guard shownQuestion == nil, let completer = shared.withLock({ $0.completer }) else { return nil }
        let word = String(cString: text)
        var line = ""
        if let buffer = tern_rl_line_buffer() {
            let length = max(0, min(Int(tern_rl_point()), Int(tern_rl_end())))
            line = buffer.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
        }
        // The completer matches as it sees fit (a roster name completes to a JID); only repeats go.
        var seen = Set<String>()
        candidates = completer(line, word).filter { seen.insert($0).inserted }
        candidateIndex = 0
        guard !candidates.isEmpty else { return nil }
        // A folder goes on being typed: no space after it.
        tern_rl_set_completion_suppress_append(candidates.count == 1 && candidates[0].hasSuffix("/") ? 1 : 0)
        return rl_completion_matches(text, readlineCompletionEntry)
    }

    /// Readline frees what this returns, so each candidate is strdup'ed.
    fileprivate func nextCandidate(restart: Bool) -> UnsafeMutablePointer<CChar>? {
        if restart { candidateIndex = 0 }
        guard candidateIndex < candidates.count else { return nil }
        defer { candidateIndex += 1 }
        return strdup(candidates[candidateIndex])
    }
}

// Readline gives these no context pointer: they find the running editor.

private let tabKey: @convention(c) (Int32, Int32) -> Int32 = { count, key in
    LineEditor.current()?.tab(count, key) ?? 0
}

private let readlineCompletion: @convention(c) (UnsafePointer<CChar>?, Int32, Int32)
    -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = { text, _, _ in
    // Never fall back to readline's filename completion.
    tern_rl_set_attempted_completion_over(1)
    guard let text, let editor = LineEditor.current() else { return nil }
    return editor.complete(text)
}

private let readlineCompletionEntry: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = {
    _, state in
    LineEditor.current()?.nextCandidate(restart: state == 0)
}
