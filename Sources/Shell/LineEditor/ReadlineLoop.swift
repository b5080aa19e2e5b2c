/// The loop of `LineEditor.run`: one thread polls input and the self-pipe. Piped input is
/// split into lines here; a terminal goes through readline's callback interface (readline(3),
/// "Alternate Interface"), whose line handler hands each line to a question or to `onLine`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

extension LineEditor {
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
                state.pendingLineMarks = [:]
                state.pendingMarkChanges = []
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

    func wake() {
        var byte: UInt8 = 0
        // EAGAIN means the pipe is full, so the loop will wake anyway.
        _ = write(wakeWrite, &byte, 1)
    }

    func callLineCallback(_ line: String) {
        shared.withLock { $0.handlerThread = pthread_self() }
        lineCallback?(line)
        shared.withLock { $0.handlerThread = nil }
    }

    private func runInteractive() {
        printedRows.forgetAll()  // a run before this one printed elsewhere on the screen
        configureReadline()
        loadHistory()
        let savedSignals = SignalRoute.install(wakeFD: wakeWrite)
        let prompt = shared.withLock { state -> String in
            state.promptChanged = false
            return state.prompt
        }
        rl_callback_handler_install(prompt, readlineLineHandler)
        Self.bindTab()
        handlerInstalled = true
        bindKeys()  // after the install, which reads ~/.inputrc the first time

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
                forgetMarksIfScreenChanged()
                if restoreParkedLineAfterInput {
                    restoreParkedLineAfterInput = false
                    if handlerInstalled, shownQuestion == nil, restoreParkedLine() { rl_redisplay() }
                }
                observeEdit()
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
        // The terminal stayed in readline's mode between lines (tern_rl_keep_terminal_prepared).
        rl_deprep_terminal()
        tern_rl_keep_terminal_prepared(0)
        if newlineAtEnd {
            writeOut("\n")
            newlineAtEnd = false
        }
        SignalRoute.restore(savedSignals)
        saveHistory()
        Self.hookCompletion(false)
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
        tern_rl_keep_terminal_prepared(1)
        tern_rl_set_blank_word_breaks()
        Self.hookCompletion(true)
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
    /// Tells the edit observer what the command line now holds, when that changed.
    private func observeEdit() {
        guard handlerInstalled, let observer = shared.withLock({ $0.editObserver }) else { return }
        let accepted = acceptedLine
        acceptedLine = nil
        // A question's prompt came up with the accepted line: its buffer holds an answer, so the
        // observer hears only that the command line went and the new one is empty.
        guard shownQuestion == nil else {
            if let accepted {
                observedLine = ""
                observer("", accepted)
            }
            return
        }
        var text = ""
        if let buffer = tern_rl_line_buffer() {
            let length = max(0, Int(tern_rl_end()))
            text = buffer.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
        }
        guard text != observedLine || accepted != nil else { return }
        observedLine = text
        observer(text, accepted)
    }

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
        if shown == nil {
            acceptedLine = line
            countAcceptedLine(line)
        } else {
            printedRows.forgetAll()
        }
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
        let (lines, marks, changes, newPrompt) = shared.withLock { state in
            defer {
                state.pendingLines = []
                state.pendingLineMarks = [:]
                state.pendingMarkChanges = []
                state.promptChanged = false
            }
            return (state.pendingLines, state.pendingLineMarks, state.pendingMarkChanges, state.promptChanged ? state.prompt : nil)
        }
        // While a question is up the new prompt waits in `shared`; syncQuestion takes it back.
        let applyPrompt = shownQuestion == nil ? newPrompt : nil
        if !handlerInstalled {
            // No prompt on screen to clear: where the cursor is, only readline knows.
            if !lines.isEmpty { writeOut(lines.joined(separator: "\n") + "\n") }
            printedRows.forgetAll()
            if let applyPrompt { _ = rl_set_prompt(applyPrompt) }
        } else if !lines.isEmpty || applyPrompt != nil || !changes.isEmpty {
            fflush(tern_rl_outstream())
            _ = rl_clear_visible_line()
            writeCounting(lines, marks: marks)
            applyMarkChanges(changes)
            if let applyPrompt { _ = rl_set_prompt(applyPrompt) }
            _ = rl_forced_update_display()
        }
        syncQuestion(at: .idle)
    }

    private static func readlineSetting(_ name: String, is expected: String) -> Bool {
        guard let value = rl_variable_value(name) else { return false }
        return String(cString: value) == expected
    }
}

/// Readline gives its line handler no context pointer: it finds the running editor.
private let readlineLineHandler: @convention(c) (UnsafeMutablePointer<CChar>?) -> Void = { raw in
    guard let editor = LineEditor.current() else {
        free(raw)
        return
    }
    editor.handleReadlineLine(raw)
}
