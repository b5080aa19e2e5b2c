/// Line input for the shell on GNU Readline's callback interface (readline(3) "Alternate Interface"; DESIGN.md §2 Shell).
///
/// Readline is not thread-safe and owns the terminal, so one dedicated thread runs
/// `run`, multiplexing stdin and a self-pipe with `poll()`. Other threads never call
/// readline: they queue work (lines to print above the prompt, a new prompt, stop)
/// and write a byte to the self-pipe. Signal handlers only write the signal number to
/// that pipe; the loop thread then does the readline work (clear line, resize, suspend).
/// When stdin is not a terminal there is no readline at all: lines are read as is, so
/// the shell can be scripted.
///
/// A running command may `ask` a question: the next line answers it instead of reaching
/// `onLine`, and is never added to history. A secret answer never goes through readline
/// (its display, kill ring, undo list and history would show or keep it): readline shows
/// the prompt over an empty line and keeps the terminal in its no-echo mode, while the loop
/// reads the keys itself instead of handing them to `rl_callback_read_char`.
///
/// This file holds the type, its state and the API other threads call. The files beside
/// it hold one concern each: the loop (ReadlineLoop), questions, secret input, signals,
/// history and completion. Their state lives here, so it is internal rather than private.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline
import Synchronization

public enum LineEditorError: Error, Equatable, Sendable {
    /// The self-pipe used to wake the loop could not be created.
    case selfPipeFailed(errno: Int32)
}

/// Reads lines from the user and prints asynchronous output above the prompt.
///
/// `@unchecked Sendable` invariant: every readline call and every property marked
/// "loop thread only" below is touched solely by the thread inside `run` (including
/// readline callbacks, which readline makes on that thread). Everything other threads
/// reach (`print`, `setPrompt`, `stop`, `ask`, `lineHandled`, `completer`) goes through
/// `shared`, a mutex, plus a write to the self-pipe.
public final class LineEditor: @unchecked Sendable {
    /// Why `run` returned.
    public enum EndReason: Equatable, Sendable {
        /// `stop()` was called.
        case stopped
        /// End of input: Ctrl-D on an empty line, or the end of piped stdin.
        case endOfInput
        /// SIGTERM or SIGHUP arrived (interactive mode); the terminal has been restored.
        case signal(Int32)
        /// Reading input failed with this errno.
        case inputFailed(errno: Int32)
        /// Another interactive LineEditor is already running in this process (readline is global).
        case alreadyRunning
    }

    /// Completes `word` (the text before the cursor back to the previous blank), given
    /// `line`, the buffer up to the cursor (the whole line when the cursor is at the end).
    public typealias Completer = @Sendable (_ line: String, _ word: String) -> [String]

    /// Told, on the loop thread, the command line after each key that changed it: its text,
    /// and `accepted`, the line Enter just handed on (its text is then the new, empty line).
    /// Never for an answer to a question, secret or not.
    public typealias EditObserver = @Sendable (_ line: String, _ accepted: String?) -> Void

    public let interactive: Bool
    let input: Int32
    let output: Int32
    let historyFile: String?
    let historyLimit: Int32
    let wakeRead: Int32
    let wakeWrite: Int32

    struct Shared {
        var prompt: String
        var promptChanged = false
        var pendingLines: [String] = []
        /// Marks on some of `pendingLines`, by index (`print(_:mark:)`), and mark changes to make.
        var pendingLineMarks: [Int: LineMark] = [:]
        var pendingMarkChanges: [(key: String, mark: String)] = []
        var stopRequested = false
        var running = false
        /// FIFO; the first one gets the next line.
        var questions: [Question] = []
        var nextQuestionID: UInt64 = 0
        /// `run(paced: true)`: a line went to `onLine` and `lineHandled()` has not come yet.
        var paced = false
        var awaitingHandled = false
        /// The loop thread while it is inside `onLine`: prints from there go straight out.
        var handlerThread: pthread_t?
        var completer: Completer?
        var editObserver: EditObserver?
        var keyBindings: [String: String] = [:]
        var historyWarning: String?
    }

    let shared: Mutex<Shared>
    /// Serialises direct writes so lines from several threads never interleave.
    private let writeLock = Mutex(())

    // Loop thread only (with `lineCallback` down to `restoreParkedLineAfterInput`).
    var lineCallback: ((String) -> Void)?
    var endReason: EndReason?
    var handlerInstalled = false
    var newlineAtEnd = false
    var candidates: [String] = []
    var candidateIndex = 0
    var tabPresses = TabPresses()
    var inStream: UnsafeMutablePointer<FILE>?
    var outStream: UnsafeMutablePointer<FILE>?
    /// Interactive: the question whose prompt is up (readline's, or the secret reader's).
    var shownQuestion: UInt64?
    /// Interactive: set while a secret answer is being typed (readline is not fed meanwhile).
    var secretInput: SecretInput?
    /// Interactive: the half-typed command line put aside while questions are up.
    var parkedLine: (text: String, point: Int32)?
    var restoreParkedLineAfterInput = false
    /// What the edit observer was last told, and the line Enter accepted since.
    var observedLine = ""
    var acceptedLine: String?
    /// Interactive: rows printed since each tracked line (LineMarks).
    var printedRows = PrintedRows()

    /// The terminal's width in columns, read at each call so a resize counts at once; nil when
    /// the output is not a terminal (piped output is never wrapped).
    public var columns: Int? {
        guard interactive else { return nil }
        var size = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// The editor currently inside `run`; readline's C callbacks cannot carry context.
    static let active = Mutex<LineEditor?>(nil)

    /// - Parameters:
    ///   - historyFile: read at start and written (mode 0600, last `historyLimit` lines) at the end; nil for none.
    ///   - interactive: use readline; defaults to whether `input` is a terminal.
    ///   - input, output: file descriptors, stdin and stdout unless testing.
    public init(
        historyFile: String?,
        prompt: String = "> ",
        interactive: Bool? = nil,
        input: Int32 = STDIN_FILENO,
        output: Int32 = STDOUT_FILENO,
        historyLimit: Int32 = 2000
    ) throws(LineEditorError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw .selfPipeFailed(errno: errno)
        }
        for fd in fds {
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0, fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else {
                let code = errno
                close(fds[0])
                close(fds[1])
                throw .selfPipeFailed(errno: code)
            }
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.historyFile = historyFile
        self.historyLimit = max(historyLimit, 1)
        self.input = input
        self.output = output
        self.interactive = interactive ?? (isatty(input) == 1)
        shared = Mutex(Shared(prompt: prompt))
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    // MARK: Thread-safe API

    /// Tab completion source; nil disables completion (Tab then does nothing).
    public var completer: Completer? {
        get { shared.withLock { $0.completer } }
        set { shared.withLock { $0.completer = newValue } }
    }

    /// Told of every change to the command line (for chat states); nil for none.
    public var editObserver: EditObserver? {
        get { shared.withLock { $0.editObserver } }
        set { shared.withLock { $0.editObserver = newValue } }
    }

    /// Set when the history file could not be read or written.
    public var historyWarning: String? {
        shared.withLock { $0.historyWarning }
    }

    /// Prints `text` and a newline above the prompt, keeping the half-typed line. Any thread.
    public func print(_ text: String) {
        let (queued, onLoop) = shared.withLock { state -> (Bool, Bool) in
            let onLoop = Self.isCurrentThread(state.handlerThread)
            guard interactive, state.running, !onLoop else { return (false, onLoop) }
            state.pendingLines.append(text)
            return (true, false)
        }
        if queued {
            wake()
        } else {
            writeOut(text + "\n")
            // From inside onLine, on the loop thread: below the accepted line, so counted.
            if interactive, onLoop, let columns { printedRows.printed(rows: PrintedRows.rows(of: text, columns: columns), mark: nil) }
        }
    }

    /// Rings the terminal bell (BEL): terminals turn it into their own notification. It
    /// moves no cursor, so it needs no redraw of the prompt. Any thread.
    public func bell() {
        guard interactive else { return }
        writeOut("\u{7}")
    }

    /// Replaces the prompt (already marked with `markInvisible` if it has escapes). Any thread.
    public func setPrompt(_ prompt: String) {
        let onHandler = shared.withLock { state -> Bool in
            state.prompt = prompt
            state.promptChanged = true
            return Self.isCurrentThread(state.handlerThread)
        }
        // Inside onLine the prompt is not on screen; readline shows rl_prompt next.
        // While a question is up its prompt stays; the loop takes the new one afterwards.
        if onHandler, interactive, shownQuestion == nil {
            shared.withLock { $0.promptChanged = false }
            _ = rl_set_prompt(prompt)
        } else {
            wake()
        }
    }

    /// Makes `run` return after printing what is queued. Any thread.
    public func stop() {
        shared.withLock { $0.stopRequested = true }
        wake()
    }

    /// With `run(paced: true)`: the last line given to `onLine` is dealt with, read the next. Any thread.
    public func lineHandled() {
        let wasWaiting = shared.withLock { state -> Bool in
            defer { state.awaitingHandled = false }
            return state.awaitingHandled
        }
        if wasWaiting { wake() }
    }

    /// Wraps ANSI escape sequences in \001…\002 so readline does not count them as prompt width.
    public static func markInvisible(_ prompt: String) -> String {
        guard !prompt.unicodeScalars.contains("\u{1}") else { return prompt }  // already marked
        let scalars = Array(prompt.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            guard scalars[index] == "\u{1B}" else {
                out.append(scalars[index])
                index += 1
                continue
            }
            let end = escapeSequenceEnd(scalars, from: index)
            out.append("\u{1}")
            out.append(contentsOf: scalars[index...end])
            out.append("\u{2}")
            index = end + 1
        }
        return String(out)
    }

    /// Last index of the escape sequence starting with ESC at `start` (CSI, OSC, or ESC + one).
    private static func escapeSequenceEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int {
        let next = start + 1
        guard next < scalars.count else { return start }
        switch scalars[next] {
        case "[":
            var index = next + 1
            while index < scalars.count {
                if (0x40...0x7E).contains(scalars[index].value) { return index }
                index += 1
            }
            return scalars.count - 1
        case "]":
            var index = next + 1
            while index < scalars.count {
                if scalars[index] == "\u{7}" { return index }
                if scalars[index] == "\u{1B}", index + 1 < scalars.count, scalars[index + 1] == "\\" { return index + 1 }
                index += 1
            }
            return scalars.count - 1
        default:
            return next
        }
    }

    // MARK: Output

    func writeOut(_ text: String) {
        let bytes = Array(text.utf8)
        writeLock.withLock { _ in
            if interactive { fflush(tern_rl_outstream()) }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return write(output, base + offset, raw.count - offset)
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // output closed or broken: nothing useful left to do with the text
                }
                offset += written
            }
        }
    }

    private static func isCurrentThread(_ thread: pthread_t?) -> Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    static func current() -> LineEditor? {
        active.withLock { $0 }
    }
}
