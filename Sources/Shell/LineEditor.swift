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

    public let interactive: Bool
    private let input: Int32
    private let output: Int32
    private let historyFile: String?
    private let historyLimit: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// A caller of `ask` waiting for the next line.
    private struct Question {
        let id: UInt64
        let prompt: String
        let secret: Bool
        let answer: CheckedContinuation<String?, Never>
        /// Piped mode: its prompt has been printed.
        var announced = false
    }

    private struct Shared {
        var prompt: String
        var promptChanged = false
        var pendingLines: [String] = []
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
        var historyWarning: String?
    }

    private let shared: Mutex<Shared>
    /// Serialises direct writes so lines from several threads never interleave.
    private let writeLock = Mutex(())

    // Loop thread only.
    private var lineCallback: ((String) -> Void)?
    private var endReason: EndReason?
    private var handlerInstalled = false
    private var newlineAtEnd = false
    private var candidates: [String] = []
    private var candidateIndex = 0
    private var inStream: UnsafeMutablePointer<FILE>?
    private var outStream: UnsafeMutablePointer<FILE>?
    /// Interactive: the question whose prompt is up (readline's, or the secret reader's).
    private var shownQuestion: UInt64?
    /// Interactive: set while a secret answer is being typed (readline is not fed meanwhile).
    private var secretInput: SecretInput?
    /// Interactive: the half-typed command line put aside while questions are up.
    private var parkedLine: (text: String, point: Int32)?
    private var restoreParkedLineAfterInput = false

    /// A secret answer being typed, byte by byte, in readline's raw no-echo terminal mode.
    private struct SecretInput {
        enum Escape { case none, escape, csi([UInt8]), ss3 }
        var bytes: [UInt8]
        var escape = Escape.none
        /// Inside a bracketed paste: line ends are pasted text, not Enter.
        var pasting = false
    }

    /// The editor currently inside `run`; readline's C callbacks cannot carry context.
    private static let active = Mutex<LineEditor?>(nil)

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

    /// Set when the history file could not be read or written.
    public var historyWarning: String? {
        shared.withLock { $0.historyWarning }
    }

    /// Prints `text` and a newline above the prompt, keeping the half-typed line. Any thread.
    public func print(_ text: String) {
        let queued = shared.withLock { state -> Bool in
            guard interactive, state.running, !Self.isCurrentThread(state.handlerThread) else { return false }
            state.pendingLines.append(text)
            return true
        }
        if queued {
            wake()
        } else {
            writeOut(text + "\n")
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

    /// Makes the next line the user enters the answer to `prompt`, instead of going to `onLine`.
    ///
    /// Any thread or task, while `run` is active. Questions are answered in the order asked.
    /// On a terminal the prompt replaces the normal one for that line; a `secret` answer is
    /// read with echo off. Answers never enter the history. When input is piped the next
    /// line answers; the prompt is printed on its own line unless `secret`.
    /// - Returns: the line, or nil when input ended, the editor stopped or was not running,
    ///   the task was cancelled, or the user pressed Ctrl-C or Ctrl-D at the prompt.
    public func ask(_ prompt: String, secret: Bool) async -> String? {
        let id = shared.withLock { state -> UInt64 in
            state.nextQuestionID &+= 1
            return state.nextQuestionID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (answer: CheckedContinuation<String?, Never>) in
                // A cancel handler that ran before this lock found nothing to remove, but set the flag read here.
                let outcome = shared.withLock { state -> (accepted: Bool, announce: String?) in
                    guard state.running, !Task.isCancelled else { return (false, nil) }
                    state.questions.append(Question(id: id, prompt: prompt, secret: secret, answer: answer))
                    return (true, announceHead(&state))
                }
                guard outcome.accepted else {
                    answer.resume(returning: nil)
                    return
                }
                if let text = outcome.announce { writeOut(text) }
                wake()
            }
        } onCancel: {
            let (answer, announce) = shared.withLock { state -> (CheckedContinuation<String?, Never>?, String?) in
                guard let index = state.questions.firstIndex(where: { $0.id == id }) else { return (nil, nil) }
                let question = state.questions.remove(at: index)
                return (question.answer, announceHead(&state))
            }
            guard let answer else { return }
            answer.resume(returning: nil)
            if let announce { writeOut(announce) }
            wake()
        }
    }

    /// Questions waiting for a line (tests use it to know an `ask` has been queued).
    var pendingQuestions: Int {
        shared.withLock { $0.questions.count }
    }

    /// Inside `run`, so `ask` is accepted (tests wait for it).
    var isRunning: Bool {
        shared.withLock { $0.running }
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

    // MARK: Run loop

    /// Reads lines until `stop()`, end of input or SIGTERM/SIGHUP, calling `onLine` on this thread.
    /// Blocks: call it from a dedicated Thread, not from the Swift concurrency pool.
    /// - Parameter paced: after each line given to `onLine`, read no further input until
    ///   `lineHandled()`, except to answer questions. A command handled asynchronously can then
    ///   `ask` and get the lines that follow it in piped input, and keys typed ahead (a
    ///   password, say) wait in the terminal instead of becoming commands.
    @discardableResult
    public func run(paced: Bool = false, onLine: (String) -> Void) -> EndReason {
        // Readline is process-global; piped mode touches none of it and needs no claim.
        if interactive {
            let claimed = Self.active.withLock { current -> Bool in
                guard current == nil else { return false }
                current = self
                return true
            }
            guard claimed else { return .alreadyRunning }
        }
        defer { if interactive { Self.active.withLock { $0 = nil } } }

        shared.withLock { state in
            state.running = true
            state.paced = paced
            state.awaitingHandled = false
        }
        endReason = nil
        withoutActuallyEscaping(onLine) { callback in
            lineCallback = callback
            if interactive {
                runInteractive()
            } else {
                runPiped()
            }
            lineCallback = nil
        }
        // Anything queued after the loop ended is written out plainly; open questions get nil.
        let (leftover, unanswered) = shared.withLock { state -> ([String], [Question]) in
            state.running = false
            state.stopRequested = false  // consumed; a stop() before run still ends that run at once
            state.awaitingHandled = false
            defer {
                state.pendingLines = []
                state.questions = []
            }
            return (state.pendingLines, state.questions)
        }
        for line in leftover { writeOut(line + "\n") }
        for question in unanswered { question.answer.resume(returning: nil) }
        return endReason ?? .stopped
    }

    private func runPiped() {
        var buffer: [UInt8] = []
        var start = 0  // first byte of `buffer` not yet delivered
        var scanned = 0  // bytes from `start` known to hold no LF: long lines stay linear
        var inputEnded = false
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while endReason == nil {
            let mayRead = mayReadInput()
            // Lines go out one at a time so that pacing and questions apply to the very next one.
            if mayRead {
                if let newline = buffer[(start + scanned)...].firstIndex(of: 0x0A) {
                    deliver(buffer[start..<newline])
                    start = newline + 1
                    scanned = 0
                    continue
                }
                scanned = buffer.count - start
                if inputEnded {
                    if start < buffer.count {
                        deliver(buffer[start...])
                        start = buffer.count
                        scanned = 0
                        continue
                    }
                    endReason = .endOfInput
                    break
                }
            }
            guard waitForInput(reading: mayRead && !inputEnded) else { continue }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                endReason = .inputFailed(errno: errno)
            } else if count == 0 {
                inputEnded = true
            } else {
                buffer.append(contentsOf: chunk[0..<count])
            }
        }
    }

    /// Hands one piped line (without its LF, CR stripped) to the first question or `onLine`, unless stopping.
    private func deliver(_ bytes: ArraySlice<UInt8>) {
        if shared.withLock({ $0.stopRequested }) {
            endReason = .stopped
            return
        }
        var line = bytes
        if line.last == 0x0D { line = line.dropLast() }
        let text = String(decoding: line, as: UTF8.self)
        let (answer, announce) = shared.withLock { state -> (CheckedContinuation<String?, Never>?, String?) in
            guard !state.questions.isEmpty else {
                if state.paced { state.awaitingHandled = true }
                return (nil, nil)
            }
            let question = state.questions.removeFirst()
            return (question.answer, announceHead(&state))
        }
        if let answer {
            answer.resume(returning: text)
            if let announce { writeOut(announce) }
        } else {
            callLineCallback(text)
        }
        if shared.withLock({ $0.stopRequested }) { endReason = .stopped }
    }

    /// False while a paced run waits for `lineHandled()` and no question wants a line.
    private func mayReadInput() -> Bool {
        shared.withLock { !$0.paced || !$0.awaitingHandled || !$0.questions.isEmpty }
    }

    /// Piped mode: the first question's prompt, as a line to print, unless secret or printed already.
    private func announceHead(_ state: inout Shared) -> String? {
        guard !interactive, let first = state.questions.first, !first.secret, !first.announced else { return nil }
        state.questions[0].announced = true
        var text = Self.withoutInvisibleMarkers(first.prompt)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text + "\n"
    }

    /// The prompt as the terminal shows it: without readline's \001…\002 markers.
    private static func withoutInvisibleMarkers(_ prompt: String) -> String {
        String(String.UnicodeScalarView(prompt.unicodeScalars.filter { $0 != "\u{1}" && $0 != "\u{2}" }))
    }

    /// Polls input (when `reading`) and the self-pipe; true when input is readable. Handles wake-ups itself.
    private func waitForInput(reading: Bool) -> Bool {
        var fds = [
            pollfd(fd: reading ? input : -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, 2, -1)
        if ready < 0 {
            if errno != EINTR { endReason = .inputFailed(errno: errno) }
            return false
        }
        if fds[0].revents & Int16(POLLNVAL) != 0 {
            endReason = .inputFailed(errno: EBADF)
            return false
        }
        // A hung-up terminal may never read EOF through readline; a pipe still drains to EOF.
        if interactive, fds[0].revents & Int16(POLLIN) == 0, fds[0].revents & Int16(POLLHUP | POLLERR) != 0 {
            endReason = .endOfInput
            return false
        }
        if fds[1].revents != 0 {
            let signals = drainWakePipe()
            if interactive {
                for signo in signals { handleSignal(signo) }
                processQueue()
            } else if shared.withLock({ $0.stopRequested }) {
                endReason = .stopped
            }
            if endReason != nil { return false }
        }
        return fds[0].revents != 0
    }

    /// Empties the self-pipe; returns the signal numbers found in it (0 bytes are plain wake-ups).
    private func drainWakePipe() -> [Int32] {
        var signals: [Int32] = []
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            let count = bytes.withUnsafeMutableBytes { read(wakeRead, $0.baseAddress, $0.count) }
            if count > 0 {
                for byte in bytes[0..<count] where byte != 0 && !signals.contains(Int32(byte)) {
                    signals.append(Int32(byte))
                }
                continue
            }
            if count < 0, errno == EINTR { continue }
            return signals
        }
    }

    private func wake() {
        var byte: UInt8 = 0
        // EAGAIN means the pipe is full, so the loop will wake anyway.
        _ = write(wakeWrite, &byte, 1)
    }

    private func callLineCallback(_ line: String) {
        shared.withLock { $0.handlerThread = pthread_self() }
        lineCallback?(line)
        shared.withLock { $0.handlerThread = nil }
    }

    // MARK: Interactive (readline)

    private func runInteractive() {
        configureReadline()
        loadHistory()
        let savedSignals = SignalRoute.install(wakeFD: wakeWrite)
        let prompt = shared.withLock { state -> String in
            state.promptChanged = false
            return state.prompt
        }
        rl_callback_handler_install(prompt, readlineLineHandler)
        handlerInstalled = true

        while endReason == nil {
            if shared.withLock({ $0.stopRequested }) {
                endReason = .stopped
                break
            }
            guard waitForInput(reading: mayReadInput()) else { continue }
            if secretInput != nil {
                readSecretByte()
            } else {
                rl_callback_read_char()
                if restoreParkedLineAfterInput {
                    restoreParkedLineAfterInput = false
                    if handlerInstalled, shownQuestion == nil, restoreParkedLine() { rl_redisplay() }
                }
            }
        }

        if handlerInstalled {
            rl_callback_handler_remove()
            handlerInstalled = false
            newlineAtEnd = true
        }
        wipeSecretBytes()
        secretInput = nil
        if shownQuestion != nil { rl_replace_line("", 1) }  // an unfinished answer is nobody's line
        shownQuestion = nil
        parkedLine = nil
        restoreParkedLineAfterInput = false
        if newlineAtEnd {
            writeOut("\n")
            newlineAtEnd = false
        }
        SignalRoute.restore(savedSignals)
        saveHistory()
        tern_rl_set_attempted_completion_function(nil)
        tern_rl_set_instream(nil)
        tern_rl_set_outstream(nil)
        if let inStream { fclose(inStream) }
        if let outStream { fclose(outStream) }
        inStream = nil
        outStream = nil
    }

    private func configureReadline() {
        tern_rl_set_readline_name_tern()
        tern_rl_set_catch_signals(0)
        tern_rl_set_catch_sigwinch(0)
        tern_rl_set_change_environment(0)
        tern_rl_set_blank_word_breaks()
        tern_rl_set_attempted_completion_function(readlineCompletion)
        // Non-standard descriptors get their own FILE on a dup so fclose leaves the caller's fd open.
        if input != STDIN_FILENO {
            let copy = dup(input)
            inStream = copy >= 0 ? fdopen(copy, "r") : nil
        }
        if output != STDOUT_FILENO {
            let copy = dup(output)
            outStream = copy >= 0 ? fdopen(copy, "w") : nil
        }
        tern_rl_set_instream(inStream ?? tern_stdin())
        tern_rl_set_outstream(outStream ?? tern_stdout())
    }

    /// Called by readline on this thread with a finished line, or nil at end of input.
    fileprivate func handleReadlineLine(_ raw: UnsafeMutablePointer<CChar>?) {
        guard let raw else {
            // Ctrl-D on an empty line. Removing the handler here stops readline redrawing the prompt.
            // With bracketed paste on, readline itself ends the line when it sees EOF.
            let needsNewline = !Self.readlineSetting("enable-bracketed-paste", is: "on")
            if shownQuestion != nil {
                // At a question it only cancels that question.
                if needsNewline { writeOut("\n") }
                cancelShownQuestion()
                syncQuestion(at: .inLineHandler)
                return
            }
            newlineAtEnd = needsNewline
            rl_callback_handler_remove()
            handlerInstalled = false
            endReason = .endOfInput
            return
        }
        let line = String(cString: raw)
        free(raw)
        let shown = shownQuestion
        let answer = shared.withLock { state -> CheckedContinuation<String?, Never>?? in
            // Typed at a question's prompt: that question's answer, or nothing if it was withdrawn.
            if let shown {
                guard state.questions.first?.id == shown else { return .some(nil) }
                return state.questions.removeFirst().answer
            }
            // Typed at the command prompt before a new question showed up: still "the next line".
            if !state.questions.isEmpty { return state.questions.removeFirst().answer }
            if state.paced { state.awaitingHandled = true }
            return nil
        }
        if let answer {
            answer?.resume(returning: line)
        } else {
            addToHistory(line)
            callLineCallback(line)
        }
        if shared.withLock({ $0.stopRequested }) {
            // Readline already moved to a fresh line; do not let it draw the prompt again.
            rl_callback_handler_remove()
            handlerInstalled = false
            endReason = .stopped
            return
        }
        syncQuestion(at: .inLineHandler)
    }

    /// Prints queued lines above the prompt and applies a new prompt, in one redraw.
    private func processQueue() {
        let (lines, newPrompt) = shared.withLock { state -> ([String], String?) in
            defer {
                state.pendingLines = []
                state.promptChanged = false
            }
            return (state.pendingLines, state.promptChanged ? state.prompt : nil)
        }
        // While a question is up the new prompt waits in `shared`; syncQuestion takes it back.
        let applyPrompt = shownQuestion == nil ? newPrompt : nil
        if !handlerInstalled {
            if !lines.isEmpty { writeOut(lines.joined(separator: "\n") + "\n") }
            if let applyPrompt { _ = rl_set_prompt(applyPrompt) }
        } else if !lines.isEmpty || applyPrompt != nil {
            fflush(tern_rl_outstream())
            _ = rl_clear_visible_line()
            if !lines.isEmpty { writeOut(lines.joined(separator: "\n") + "\n") }
            if let applyPrompt { _ = rl_set_prompt(applyPrompt) }
            _ = rl_forced_update_display()
        }
        syncQuestion(at: .idle)
    }

    // MARK: Questions (interactive)

    /// Where the loop is when it brings the screen in line with the question queue.
    private enum SyncPoint {
        /// Readline shows its prompt and the line being edited.
        case idle
        /// Inside the line handler: the cursor is on a fresh line and readline draws the prompt on return.
        case inLineHandler
        /// The cursor is on a fresh line and nothing draws the prompt yet: `redrawAfterQuestion` does.
        case freshLine
    }

    /// Shows the first queued question's prompt, or the command prompt when none is left.
    private func syncQuestion(at point: SyncPoint) {
        guard interactive, endReason == nil else { return }
        let (head, commandPrompt) = shared.withLock { state -> ((id: UInt64, prompt: String, secret: Bool)?, String?) in
            let head = state.questions.first.map { (id: $0.id, prompt: $0.prompt, secret: $0.secret) }
            guard head?.id != shownQuestion else { return (head, nil) }
            if head == nil { state.promptChanged = false }
            return (head, state.prompt)
        }
        guard head?.id != shownQuestion, let commandPrompt else { return }

        // Take down what is up now.
        wipeSecretBytes()
        secretInput = nil
        if handlerInstalled, point == .idle {
            fflush(tern_rl_outstream())
            _ = rl_clear_visible_line()
            if shownQuestion == nil {
                parkLine()
            } else {
                rl_replace_line("", 1)
            }
        }
        shownQuestion = head?.id
        if let head, head.secret {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(256)  // growing would leave copies behind in freed memory
            secretInput = SecretInput(bytes: bytes)
        }
        guard handlerInstalled else { return }
        _ = rl_set_prompt(head?.prompt ?? commandPrompt)
        switch point {
        case .idle:
            if head == nil { _ = restoreParkedLine() }
            _ = rl_forced_update_display()
        case .inLineHandler:
            // Readline clears the buffer after the handler returns; the parked line comes back after that.
            if head == nil, parkedLine != nil { restoreParkedLineAfterInput = true }
        case .freshLine:
            if head == nil { _ = restoreParkedLine() }
        }
    }

    /// Puts the half-typed command line aside while questions are answered.
    private func parkLine() {
        guard let buffer = tern_rl_line_buffer() else { return }
        let length = max(0, Int(tern_rl_end()))
        let text = buffer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        if !text.isEmpty { parkedLine = (text, tern_rl_point()) }
        rl_replace_line("", 1)
        tern_rl_set_point(0)
    }

    /// Puts the parked line back into readline's buffer; true if there was one (the caller redraws).
    private func restoreParkedLine() -> Bool {
        guard let parked = parkedLine else { return false }
        parkedLine = nil
        rl_replace_line(parked.text, 1)
        tern_rl_set_point(min(parked.point, tern_rl_end()))
        return true
    }

    /// Ctrl-C or Ctrl-D at a question's prompt: the asker gets nil.
    private func cancelShownQuestion() {
        guard let shown = shownQuestion else { return }
        let answer = shared.withLock { state -> CheckedContinuation<String?, Never>? in
            guard state.questions.first?.id == shown else { return nil }
            return state.questions.removeFirst().answer
        }
        answer?.resume(returning: nil)
    }

    /// Zeroes the typed bytes in place (mutating through `secretInput?` avoids copy-on-write copies).
    private func wipeSecretBytes() {
        let count = secretInput?.bytes.count ?? 0
        for index in 0..<count { secretInput?.bytes[index] = 0 }
        secretInput?.bytes.removeAll(keepingCapacity: true)
    }

    /// Reads one key byte of a secret answer. The terminal is in readline's raw mode, so
    /// erase, kill and ^D are handled here; escape sequences (arrows, paste brackets) are dropped.
    private func readSecretByte() {
        var byte: UInt8 = 0
        let count = read(input, &byte, 1)
        if count < 0 {
            if errno != EINTR, errno != EAGAIN { endReason = .inputFailed(errno: errno) }
            return
        }
        if count == 0 {
            endReason = .endOfInput  // raw mode reads nothing only when the terminal is gone
            return
        }
        guard let secret = secretInput else { return }
        switch secret.escape {
        case .none:
            break
        case .escape:
            secretInput?.escape = byte == 0x5B ? .csi([]) : byte == 0x4F ? .ss3 : .none
            return
        case .csi(let parameters):
            guard (0x40...0x7E).contains(byte) else {
                secretInput?.escape = .csi(parameters.count < 16 ? parameters + [byte] : parameters)
                return
            }
            secretInput?.escape = .none
            if byte == 0x7E, parameters == Array("200".utf8) { secretInput?.pasting = true }
            if byte == 0x7E, parameters == Array("201".utf8) { secretInput?.pasting = false }
            return
        case .ss3:
            secretInput?.escape = .none
            return
        }
        switch byte {
        case 0x0A, 0x0D:
            guard !secret.pasting else { return }
            let text = String(decoding: secretInput?.bytes ?? [], as: UTF8.self)
            let shown = shownQuestion
            let answer = shared.withLock { state -> CheckedContinuation<String?, Never>? in
                guard let shown, state.questions.first?.id == shown else { return nil }
                return state.questions.removeFirst().answer
            }
            finishSecretLine()
            answer?.resume(returning: text)
            redrawAfterQuestion()
        case 0x03, 0x04:
            // ^C only arrives as a byte if ISIG is off; ^D cancels on an empty answer, like EOF.
            if byte == 0x04, !secret.bytes.isEmpty { return }
            finishSecretLine()
            cancelShownQuestion()
            redrawAfterQuestion()
        case 0x1B:
            secretInput?.escape = .escape
        case 0x7F, 0x08:
            // Drop the last character, continuation bytes included.
            while let last = secretInput?.bytes.popLast(), last & 0xC0 == 0x80 {}
        case 0x15:
            wipeSecretBytes()
        case 0x00..<0x20:
            break  // other control keys have no meaning in an answer
        default:
            secretInput?.bytes.append(byte)
        }
    }

    /// Leaves the secret prompt's line as it is (prompt only) and moves to a fresh one.
    private func finishSecretLine() {
        wipeSecretBytes()
        fflush(tern_rl_outstream())
        _ = rl_crlf()
    }

    /// On a fresh line after an answered or cancelled question: show what comes next.
    private func redrawAfterQuestion() {
        syncQuestion(at: .freshLine)
        guard handlerInstalled else { return }
        _ = rl_on_new_line()
        rl_redisplay()
    }

    private func handleSignal(_ signo: Int32) {
        switch signo {
        case SIGINT:
            guard handlerInstalled else { return }
            wipeSecretBytes()
            // Like a shell: abandon the line, show ^C, fresh prompt. At a question, cancel it.
            rl_free_line_state()
            rl_callback_sigcleanup()
            tern_rl_set_point(tern_rl_end())
            rl_redisplay()
            fputs("^C", tern_rl_outstream())
            _ = rl_crlf()
            rl_replace_line("", 1)
            tern_rl_set_point(0)
            using_history()
            cancelShownQuestion()
            redrawAfterQuestion()
        case SIGWINCH:
            if handlerInstalled { rl_resize_terminal() }
        case SIGTSTP:
            suspend()
        case SIGTERM, SIGHUP:
            endReason = .signal(signo)
        default:
            break
        }
    }

    /// Ctrl-Z: give the terminal back in its original mode, stop, and redraw on `fg`.
    private func suspend() {
        if handlerInstalled {
            tern_rl_set_point(tern_rl_end())
            rl_redisplay()
            _ = rl_crlf()
            fflush(tern_rl_outstream())
            rl_deprep_terminal()
        }
        SignalRoute.stopProcess()
        if handlerInstalled {
            rl_prep_terminal(1)
            _ = rl_forced_update_display()
        }
    }

    // MARK: Completion

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

    // MARK: History

    private func loadHistory() {
        using_history()
        stifle_history(historyLimit)
        guard let historyFile else { return }
        let status = read_history(historyFile)
        if status != 0, status != ENOENT {
            noteHistoryProblem("cannot read history \(historyFile): \(errnoText(status))")
        }
    }

    private func addToHistory(_ line: String) {
        guard line.contains(where: { !$0.isWhitespace }) else { return }
        let length = tern_history_length()
        if length > 0, let last = history_get(tern_history_base() + length - 1), let text = last.pointee.line,
           String(cString: text) == line {
            return
        }
        add_history(line)
    }

    private func saveHistory() {
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

    // MARK: Output

    private func writeOut(_ text: String) {
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

    private static func readlineSetting(_ name: String, is expected: String) -> Bool {
        guard let value = rl_variable_value(name) else { return false }
        return String(cString: value) == expected
    }

    private static func isCurrentThread(_ thread: pthread_t?) -> Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    fileprivate static func current() -> LineEditor? {
        active.withLock { $0 }
    }
}

// MARK: C callbacks (readline gives them no context pointer: they find the running editor)

private let readlineLineHandler: @convention(c) (UnsafeMutablePointer<CChar>?) -> Void = { raw in
    guard let editor = LineEditor.current() else {
        free(raw)
        return
    }
    editor.handleReadlineLine(raw)
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

// MARK: Signals

/// Routes signals to the loop: the handler only writes the signal number to the self-pipe.
private enum SignalRoute {
    /// Write end of the running editor's self-pipe, or -1. Atomic so the handler may read it.
    static let wakeFD = Atomic<Int32>(-1)
    static let handled: [Int32] = [SIGINT, SIGWINCH, SIGTSTP, SIGTERM, SIGHUP]

    struct Saved {
        var entries: [(Int32, sigaction)]
    }

    static func install(wakeFD fd: Int32) -> Saved {
        wakeFD.store(fd, ordering: .releasing)
        var saved = Saved(entries: [])
        for signo in handled {
            var old = sigaction()
            guard sigaction(signo, nil, &old) == 0 else { continue }
            // A signal ignored by our parent (nohup, background job) stays ignored.
            if isIgnored(old) { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = signalHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            if sigaction(signo, &action, nil) == 0 {
                saved.entries.append((signo, old))
            }
        }
        return saved
    }

    static func restore(_ saved: Saved) {
        for (signo, old) in saved.entries {
            var previous = old
            _ = sigaction(signo, &previous, nil)
        }
        wakeFD.store(-1, ordering: .releasing)
    }

    /// Stops the process with the default SIGTSTP action, returning after SIGCONT.
    static func stopProcess() {
        var ours = sigaction()
        var defaultAction = sigaction()
        defaultAction.__sigaction_handler.sa_handler = nil  // SIG_DFL
        sigemptyset(&defaultAction.sa_mask)
        guard sigaction(SIGTSTP, &defaultAction, &ours) == 0 else { return }
        _ = raise(SIGTSTP)
        _ = sigaction(SIGTSTP, &ours, nil)
    }

    private static func isIgnored(_ action: sigaction) -> Bool {
        guard let handler = action.__sigaction_handler.sa_handler else { return false }
        return unsafeBitCast(handler, to: Int.self) == 1  // SIG_IGN
    }
}

/// Async-signal-safe: an atomic load and write(2), errno preserved.
private let signalHandler: @convention(c) (Int32) -> Void = { signo in
    let savedErrno = errno
    let fd = SignalRoute.wakeFD.load(ordering: .acquiring)
    if fd >= 0 {
        var byte = UInt8(truncatingIfNeeded: signo)
        _ = write(fd, &byte, 1)
    }
    errno = savedErrno
}
