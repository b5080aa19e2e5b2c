/// Keys that stand for a whole command line (Alt-1 for `/c 1`), bound with readline's
/// `rl_bind_keyseq` (readline(3), "Binding Keys"). The line goes to `onLine` as if typed and
/// Enter pressed, but is never added to history, and the half-typed line stays as it was.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

extension LineEditor {
    /// Key sequence (as typed: "\u{1B}1" is Alt-1) → the line it runs. Set before `run`;
    /// interactive only (piped input has no keys).
    public var keyBindings: [String: String] {
        get { shared.withLock { $0.keyBindings } }
        set { shared.withLock { $0.keyBindings = newValue } }
    }

    /// Binds every sequence to the one dispatcher; called on the loop thread once readline is set up.
    func bindKeys() {
        for sequence in shared.withLock({ $0.keyBindings.keys }) {
            _ = rl_bind_keyseq(sequence, readlineKeyBinding)
        }
    }

    fileprivate func runBoundLine(for sequence: String) {
        // At a question the keys mean nothing; and one line at a time, as with Enter.
        guard shownQuestion == nil, handlerInstalled else { return }
        let line = shared.withLock { state -> String? in
            guard let line = state.keyBindings[sequence], state.questions.isEmpty, !(state.paced && state.awaitingHandled) else {
                return nil
            }
            if state.paced { state.awaitingHandled = true }
            return line
        }
        guard let line else { return }
        callLineCallback(line)
    }
}

/// Readline passes no context and only the last key: the sequence comes from `rl_executing_keyseq`.
private let readlineKeyBinding: @convention(c) (Int32, Int32) -> Int32 = { _, _ in
    guard let editor = LineEditor.current(), let keys = tern_rl_executing_keyseq() else { return 0 }
    let length = Int(max(0, tern_rl_key_sequence_length()))
    let sequence = keys.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    editor.runBoundLine(for: sequence)
    return 0
}
