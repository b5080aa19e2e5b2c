/// The shell's line history through GNU History (history(3)): read at start, written at the
/// end with mode 0600 and at most `historyLimit` lines. Answers to questions never enter it.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

extension LineEditor {
    func loadHistory() {
        using_history()
        stifle_history(historyLimit)
        guard let historyFile else { return }
        let status = read_history(historyFile)
        if status != 0, status != ENOENT {
            noteHistoryProblem("cannot read history \(historyFile): \(errnoText(status))")
        }
    }

    func addToHistory(_ line: String) {
        guard line.contains(where: { !$0.isWhitespace }) else { return }
        let length = tern_history_length()
        if length > 0, let last = history_get(tern_history_base() + length - 1), let text = last.pointee.line,
           String(cString: text) == line {
            return
        }
        add_history(line)
    }

    func saveHistory() {
        guard let historyFile else { return }
        // write_history creates the file 0600; chmod covers a file that existed with looser bits.
        var status = write_history(historyFile)
        if status == 0 { status = history_truncate_file(historyFile, historyLimit) }
        if status == 0, chmod(historyFile, 0o600) != 0 { status = errno }
        if status != 0 {
            noteHistoryProblem("cannot write history \(historyFile): \(errnoText(status))")
        }
    }

    private func noteHistoryProblem(_ message: String) {
        shared.withLock { $0.historyWarning = message }
    }

    private func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
