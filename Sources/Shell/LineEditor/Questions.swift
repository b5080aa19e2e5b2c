/// `LineEditor.ask`: questions a running command puts to the user. The next line answers
/// the first one instead of reaching `onLine`; on a terminal its prompt replaces the command
/// prompt, and the half-typed command line is parked until the questions are done.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

extension LineEditor {
    /// A caller of `ask` waiting for the next line.
    struct Question {
        let id: UInt64
        let prompt: String
        let secret: Bool
        let answer: CheckedContinuation<String?, Never>
        /// Piped mode: its prompt has been printed.
        var announced = false
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

    /// Piped mode: the first question's prompt, as a line to print, unless secret or printed already.
    func announceHead(_ state: inout Shared) -> String? {
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

    /// Where the loop is when it brings the screen in line with the question queue.
    enum SyncPoint {
        /// Readline shows its prompt and the line being edited.
        case idle
        /// Inside the line handler: the cursor is on a fresh line and readline draws the prompt on return.
        case inLineHandler
        /// The cursor is on a fresh line and nothing draws the prompt yet: `redrawAfterQuestion` does.
        case freshLine
    }

    /// Shows the first queued question's prompt, or the command prompt when none is left.
    func syncQuestion(at point: SyncPoint) {
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
    func restoreParkedLine() -> Bool {
        guard let parked = parkedLine else { return false }
        parkedLine = nil
        rl_replace_line(parked.text, 1)
        tern_rl_set_point(min(parked.point, tern_rl_end()))
        return true
    }

    /// Ctrl-C or Ctrl-D at a question's prompt: the asker gets nil.
    func cancelShownQuestion() {
        guard let shown = shownQuestion else { return }
        let answer = shared.withLock { state -> CheckedContinuation<String?, Never>? in
            guard state.questions.first?.id == shown else { return nil }
            return state.questions.removeFirst().answer
        }
        answer?.resume(returning: nil)
    }

    /// On a fresh line after an answered or cancelled question: show what comes next.
    func redrawAfterQuestion() {
        syncQuestion(at: .freshLine)
        guard handlerInstalled else { return }
        _ = rl_on_new_line()
        rl_redisplay()
    }
}
