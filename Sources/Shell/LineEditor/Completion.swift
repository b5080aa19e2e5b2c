/// Tab completion through readline's completion hooks (readline(3), "Completion Functions"),
/// fed by the `completer`; never readline's own filename completion.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

extension LineEditor {
    /// Points readline's completion hook at the running editor, or (`false`, when `run` ends) at nothing.
    static func hookCompletion(_ on: Bool) {
        tern_rl_set_attempted_completion_function(on ? readlineCompletion : nil)
    }

    fileprivate func complete(_ text: UnsafePointer<CChar>) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
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
        var seen = Set<String>()
        candidates = completer(line, word).filter { $0.hasPrefix(word) && seen.insert($0).inserted }
        candidateIndex = 0
        guard !candidates.isEmpty else { return nil }
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
