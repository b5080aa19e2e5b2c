/// Tests for the line editor's piped (non-terminal) mode and prompt escaping (DESIGN.md §2 Shell).
import Foundation
import Synchronization
import Testing
@testable import Shell

@Suite("LineEditor", .serialized)
struct LineEditorTests {
    /// A pipe whose ends are closed when the test is done with them.
    final class Pipe: @unchecked Sendable {
        let read: Int32
        let write: Int32
        private let writeOpen = Mutex(true)

        init() throws {
            var fds: [Int32] = [-1, -1]
            try #require(pipe(&fds) == 0)
            read = fds[0]
            write = fds[1]
        }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { _ = Foundation.write(write, $0.baseAddress, $0.count) }
        }

        func send(bytes: [UInt8]) {
            bytes.withUnsafeBytes { _ = Foundation.write(write, $0.baseAddress, $0.count) }
        }

        func closeWrite() {
            writeOpen.withLock { open in
                if open { close(write) }
                open = false
            }
        }

        /// Reads everything until the write end is closed.
        func readAll() -> String {
            var data: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { Foundation.read(read, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                data += chunk[0..<count]
            }
            return String(decoding: data, as: UTF8.self)
        }

        deinit {
            closeWrite()
            close(read)
        }
    }

    /// Runs `editor.run` on its own Thread, as the shell does, and returns the lines and reason.
    private func runOnThread(
        _ editor: LineEditor,
        onLine: @escaping @Sendable (String, LineEditor) -> Void = { _, _ in }
    ) async -> ([String], LineEditor.EndReason) {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var lines: [String] = []
                let reason = editor.run { line in
                    lines.append(line)
                    onLine(line, editor)
                }
                continuation.resume(returning: (lines, reason))
            }
            thread.start()
        }
    }

    @Test func piped__linesSplitAcrossReads__areReassembled() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        let writer = Thread {
            input.send("hel")
            Thread.sleep(forTimeInterval: 0.05)
            input.send("lo\nwor")
            Thread.sleep(forTimeInterval: 0.05)
            input.send("ld\n")
            input.closeWrite()
        }
        writer.start()
        let (lines, reason) = await runOnThread(editor)
        #expect(lines == ["hello", "world"])
        #expect(reason == .endOfInput)
    }

    @Test func piped__crlfAndFinalLineWithoutNewline__areDelivered() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        input.send("one\r\ntwo\r")
        input.send("\n\nlast")
        input.closeWrite()
        let (lines, reason) = await runOnThread(editor)
        #expect(lines == ["one", "two", "", "last"])
        #expect(reason == .endOfInput)
    }

    @Test func piped__invalidUTF8__isRepairedNotDropped() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        input.send(bytes: [0x61, 0xFF, 0x62, 0x0A])
        input.closeWrite()
        let (lines, _) = await runOnThread(editor)
        #expect(lines == ["a\u{FFFD}b"])
    }

    @Test func piped__endOfInput__endsRunWithoutLines() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        input.closeWrite()
        let (lines, reason) = await runOnThread(editor)
        #expect(lines.isEmpty)
        #expect(reason == .endOfInput)
    }

    @Test func piped__stopInsideOnLine__skipsBufferedLines() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        // All three lines arrive in one read; stopping on "b" must not deliver "c".
        input.send("a\nb\nc\n")
        let (lines, reason) = await runOnThread(editor) { line, editor in
            if line == "b" { editor.stop() }
        }
        #expect(lines == ["a", "b"])
        #expect(reason == .stopped)
    }

    @Test func piped__printFromAnotherThread__isDeliveredAndStopWakesTheLoop() async throws {
        let input = try Pipe()
        let output = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read, output: output.write)
        // Input stays open: only stop() can end this run.
        let other = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            editor.print("from another thread")
            editor.print("multi\nline")
            editor.stop()
        }
        other.start()
        let (lines, reason) = await runOnThread(editor)
        #expect(lines.isEmpty)
        #expect(reason == .stopped)
        output.closeWrite()
        #expect(output.readAll() == "from another thread\nmulti\nline\n")
    }

    @Test func piped__printInsideOnLine__keepsOrder() async throws {
        let input = try Pipe()
        let output = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read, output: output.write)
        input.send("x\ny\n")
        input.closeWrite()
        _ = await runOnThread(editor) { line, editor in editor.print("got \(line)") }
        output.closeWrite()
        #expect(output.readAll() == "got x\ngot y\n")
    }

    @Test func piped__stopBeforeRun__endsTheRunAtOnce() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        editor.stop()
        input.send("never\n")
        let (lines, reason) = await runOnThread(editor)
        #expect(lines.isEmpty)
        #expect(reason == .stopped)
    }

    @Test func interactive__defaultsToWhetherInputIsATerminal() throws {
        let input = try Pipe()
        #expect(try LineEditor(historyFile: nil, input: input.read).interactive == false)
    }

    @Test func markInvisible__wrapsEscapeSequences() {
        #expect(LineEditor.markInvisible("\u{1B}[1;32mtern\u{1B}[0m> ")
            == "\u{1}\u{1B}[1;32m\u{2}tern\u{1}\u{1B}[0m\u{2}> ")
        #expect(LineEditor.markInvisible("\u{1B}]0;title\u{7}> ") == "\u{1}\u{1B}]0;title\u{7}\u{2}> ")
        #expect(LineEditor.markInvisible("plain> ") == "plain> ")
        // Already marked prompts are left alone rather than double-wrapped.
        let marked = "\u{1}\u{1B}[1m\u{2}x> "
        #expect(LineEditor.markInvisible(marked) == marked)
    }
}

/// Drives the readline path through a pseudo-terminal, as a user at a terminal would.
@Suite("LineEditor on a terminal", .serialized)
struct LineEditorTerminalTests {
    /// Collects what the editor writes to the terminal (the pty master side).
    final class Terminal: @unchecked Sendable {
        let master: Int32
        let slave: Int32
        private let screen = Mutex<[UInt8]>([])

        init() throws {
            // posix_openpt & co. are hidden behind _XOPEN_SOURCE in the Glibc module: use the Linux ioctls.
            master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
            try #require(master >= 0)
            var unlock: Int32 = 0
            var number: UInt32 = 0
            try #require(ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0)
            try #require(ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0)
            slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
            try #require(slave >= 0)
            let reader = Thread { [self] in
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                    if count <= 0 {
                        Glibc.close(master)
                        return
                    }
                    screen.withLock { $0 += chunk[0..<count] }
                }
            }
            reader.start()
        }

        func type(_ text: String) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { _ = write(master, $0.baseAddress, $0.count) }
        }

        var output: String { screen.withLock { String(decoding: $0, as: UTF8.self) } }

        /// Waits up to 5 s for the output to satisfy `condition`.
        /// Up to 30 s: the fault tests may be loading both cores meanwhile.
        func waitFor(_ condition: (String) -> Bool) -> Bool {
            for _ in 0..<3000 {
                if condition(output) { return true }
                usleep(10_000)
            }
            return false
        }

        /// Closes the slave; the reader thread then reads EIO and closes the master.
        func close() {
            Glibc.close(slave)
        }
    }

    @Test func terminal__editObserver__seesEachChangeAndTheAcceptedLine_butNoAnswer() async throws {
        let terminal = try Terminal()
        defer { terminal.close() }
        let editor = try LineEditor(historyFile: nil, prompt: "P> ", interactive: true, input: terminal.slave, output: terminal.slave)
        let seen = Mutex<[String]>([])
        editor.editObserver = { line, accepted in seen.withLock { $0.append(accepted.map { "\(line)|\($0)" } ?? line) } }
        let finished = Mutex(false)
        let runner = Thread {
            _ = editor.run { line in
                if line == "/pin" { Task { _ = await editor.ask("PIN: ", secret: true) } }
            }
            finished.withLock { $0 = true }
        }
        runner.start()

        terminal.type("hi")
        // Keys typed together may come as one change.
        #expect(terminal.waitFor { _ in seen.withLock { $0.last } == "hi" }, "\(seen.withLock { $0 })")
        terminal.type("\u{7F}")
        #expect(terminal.waitFor { _ in seen.withLock { $0.last } == "h" })
        terminal.type("o\r")
        #expect(terminal.waitFor { _ in seen.withLock { $0.last } == "|ho" })
        // A secret answer is nobody's business: the observer hears nothing of it.
        terminal.type("/pin\r")
        #expect(terminal.waitFor { $0.contains("PIN: ") })
        terminal.type("1234\r")
        terminal.type("x")
        #expect(terminal.waitFor { _ in seen.withLock { $0.last } == "x" })
        #expect(!seen.withLock { $0 }.contains { $0.contains("1234") })
        editor.stop()
        #expect(terminal.waitFor { _ in finished.withLock { $0 } })
    }

    @Test func terminal__printWhileTyping__showsMessageAboveAndKeepsHalfTypedLine() async throws {
        let terminal = try Terminal()
        defer { terminal.close() }
        let historyPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("tern-le-\(UInt32.random(in: 0...UInt32.max))").path
        defer { unlink(historyPath) }
        let editor = try LineEditor(
            historyFile: historyPath, prompt: "P> ", interactive: true, input: terminal.slave, output: terminal.slave)
        #expect(editor.interactive)

        let finished = Mutex<([String], LineEditor.EndReason)?>(nil)
        let runner = Thread {
            var lines: [String] = []
            let reason = editor.run { lines.append($0) }
            finished.withLock { $0 = (lines, reason) }
        }
        runner.start()

        terminal.type("half")
        #expect(terminal.waitFor { $0.contains("P> half") })
        editor.print("incoming message")
        // The message appears, and after it the prompt and the half-typed line are redrawn.
        #expect(terminal.waitFor { output in
            guard let range = output.range(of: "incoming message") else { return false }
            return output[range.upperBound...].contains("P> half")
        })

        terminal.type(" done\r")
        editor.stop()
        #expect(terminal.waitFor { _ in finished.withLock { $0 != nil } })
        let result = finished.withLock { $0 }
        #expect(result?.0 == ["half done"])
        #expect(result?.1 == .stopped)

        // History holds the line and is private to the user.
        let saved = try String(contentsOfFile: historyPath, encoding: .utf8)
        #expect(saved.contains("half done"))
        var info = stat()
        #expect(stat(historyPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }
}

// MARK: Questions (`ask`) and paced runs

/// A value shared with closures that outlive the statement that made them (Task bodies).
private final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update(_ change: (inout Value) -> Void) { storage.withLock { change(&$0) } }
}

/// Polls `condition` for up to 5 s.
private func eventually(_ condition: @Sendable () -> Bool) async -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}

extension LineEditorTests {
    /// Like `runOnThread`, for a paced run.
    private func runPacedOnThread(
        _ editor: LineEditor,
        onLine: @escaping @Sendable (String, LineEditor) -> Void
    ) async -> ([String], LineEditor.EndReason) {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var lines: [String] = []
                let reason = editor.run(paced: true) { line in
                    lines.append(line)
                    onLine(line, editor)
                }
                continuation.resume(returning: (lines, reason))
            }
            thread.start()
        }
    }

    @Test func ask__piped__questionAskedWhileLinesFlow__getsExactlyTheNextLine() async throws {
        let input = try Pipe()
        let output = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read, output: output.write)
        let seen = Shared<[String]>([])
        async let run = runOnThread(editor) { line, _ in seen.update { $0.append(line) } }
        input.send("before\n")
        #expect(await eventually { seen.value == ["before"] })
        let answer = Task { await editor.ask("Nick: ", secret: false) }
        #expect(await eventually { editor.pendingQuestions == 1 })
        input.send("bob\nafter\n")
        #expect(await answer.value == "bob")
        input.closeWrite()
        let (lines, reason) = await run
        #expect(lines == ["before", "after"])  // the answer never reached onLine
        #expect(reason == .endOfInput)
        output.closeWrite()
        // The prompt is printed on its own line so transcripts read well.
        #expect(output.readAll() == "Nick:\n")
    }

    @Test func ask__piped__queuedQuestions__areAnsweredInOrderAndSecretPromptsStaySilent() async throws {
        let input = try Pipe()
        let output = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read, output: output.write)
        async let run = runOnThread(editor)
        #expect(await eventually { editor.isRunning })
        let first = Task { await editor.ask("First? ", secret: false) }
        #expect(await eventually { editor.pendingQuestions == 1 })
        let second = Task { await editor.ask("Password: ", secret: true) }
        #expect(await eventually { editor.pendingQuestions == 2 })
        let third = Task { await editor.ask("Third? ", secret: false) }
        #expect(await eventually { editor.pendingQuestions == 3 })
        input.send("one\ntwo\nthree\nfour\n")
        input.closeWrite()
        #expect(await first.value == "one")
        #expect(await second.value == "two")
        #expect(await third.value == "three")
        let (lines, _) = await run
        #expect(lines == ["four"])
        output.closeWrite()
        // Each prompt appears when its question is next in line; the secret one prints nothing.
        #expect(output.readAll() == "First?\nThird?\n")
    }

    @Test func ask__pacedPipedRun__commandGetsTheLinesThatFollowIt() async throws {
        let input = try Pipe()
        let output = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read, output: output.write)
        // Everything arrives in one read, before the command has had a chance to ask.
        input.send("/passwd\nnewpw\nnewpw\nnext\n")
        input.closeWrite()
        let answers = Shared<[String?]>([])
        let (lines, reason) = await runPacedOnThread(editor) { line, editor in
            guard line == "/passwd" else {
                editor.lineHandled()
                return
            }
            Task {
                let first = await editor.ask("New password: ", secret: true)
                let second = await editor.ask("Again: ", secret: true)
                answers.update { $0 = [first, second] }
                editor.lineHandled()
            }
        }
        #expect(lines == ["/passwd", "next"])
        #expect(answers.value == ["newpw", "newpw"])
        #expect(reason == .endOfInput)
        output.closeWrite()
        #expect(output.readAll().isEmpty)
    }

    @Test func ask__pacedPipedRun__endOfInputAnswersNil() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        input.send("/ask\n")
        input.closeWrite()
        let answer = Shared<String??>(nil)
        let (lines, reason) = await runPacedOnThread(editor) { _, editor in
            Task {
                let reply = await editor.ask("Sure? ", secret: false)
                answer.update { $0 = .some(reply) }
                editor.lineHandled()
            }
        }
        #expect(lines == ["/ask"])
        #expect(reason == .endOfInput)
        #expect(await eventually { answer.value != nil })
        #expect(answer.value == .some(nil))
    }

    @Test func ask__editorNotRunningOrStopped__answersNil() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        #expect(await editor.ask("Early? ", secret: false) == nil)
        async let run = runOnThread(editor)
        #expect(await eventually { editor.isRunning })
        let pending = Task { await editor.ask("Waiting? ", secret: true) }
        #expect(await eventually { editor.pendingQuestions == 1 })
        editor.stop()
        #expect(await pending.value == nil)
        let (_, reason) = await run
        #expect(reason == .stopped)
        #expect(editor.pendingQuestions == 0)
    }

    @Test func ask__cancelledTask__answersNilAndTheLineGoesToOnLine() async throws {
        let input = try Pipe()
        let editor = try LineEditor(historyFile: nil, interactive: false, input: input.read)
        async let run = runOnThread(editor)
        #expect(await eventually { editor.isRunning })
        let pending = Task { await editor.ask("Waiting? ", secret: false) }
        #expect(await eventually { editor.pendingQuestions == 1 })
        pending.cancel()
        #expect(await pending.value == nil)
        #expect(editor.pendingQuestions == 0)
        input.send("command\n")
        input.closeWrite()
        let (lines, _) = await run
        #expect(lines == ["command"])
    }
}

extension LineEditorTerminalTests {
    @Test func terminal__secretQuestion__isNeitherEchoedNorKeptInHistory() async throws {
        let terminal = try Terminal()
        defer { terminal.close() }
        let historyPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("tern-le-\(UInt32.random(in: 0...UInt32.max))").path
        defer { unlink(historyPath) }
        let editor = try LineEditor(
            historyFile: historyPath, prompt: "P> ", interactive: true, input: terminal.slave, output: terminal.slave)

        let answers = Shared<[String?]>([])
        let seen = Shared<[String]>([])
        let finished = Mutex<([String], LineEditor.EndReason)?>(nil)
        let runner = Thread {
            var lines: [String] = []
            let reason = editor.run(paced: true) { line in
                lines.append(line)
                seen.update { $0.append(line) }
                Task {
                    switch line {
                    case "/passwd":
                        let secret = await editor.ask("Secret: ", secret: true)
                        let name = await editor.ask("Name: ", secret: false)
                        answers.update { $0 += [secret, name] }
                    case "/pin":
                        let pin = await editor.ask("PIN: ", secret: true)
                        answers.update { $0.append(pin) }
                    default:
                        break
                    }
                    editor.lineHandled()
                }
            }
            finished.withLock { $0 = (lines, reason) }
        }
        runner.start()
        // Readline must own the terminal (echo off) before anything is typed.
        #expect(terminal.waitFor { $0.contains("P> ") })

        // The password is typed ahead of its prompt; pacing keeps it for the question.
        terminal.type("/passwd\rhunter2\r")
        #expect(terminal.waitFor { $0.contains("Name: ") })
        terminal.type("bob\r")
        #expect(terminal.waitFor { _ in answers.value.count == 2 })

        // Erase works in a secret answer, ^D on a non-empty one is ignored, ^D on an empty one cancels.
        terminal.type("/pin\r")
        #expect(terminal.waitFor { $0.components(separatedBy: "PIN: ").count == 2 })
        terminal.type("xy\u{7F}z\u{4}\r")
        #expect(terminal.waitFor { _ in answers.value.count == 3 })
        terminal.type("/pin\r")
        #expect(terminal.waitFor { $0.components(separatedBy: "PIN: ").count == 3 })
        terminal.type("\u{4}")
        #expect(terminal.waitFor { _ in answers.value.count == 4 })

        terminal.type("after\r")
        #expect(terminal.waitFor { _ in seen.value.last == "after" })
        editor.stop()
        #expect(terminal.waitFor { _ in finished.withLock { $0 != nil } })

        #expect(answers.value == ["hunter2", "bob", "xz", nil])
        #expect(finished.withLock { $0?.0 } == ["/passwd", "/pin", "/pin", "after"])
        let screen = terminal.output
        #expect(!screen.contains("hunter2"))
        #expect(!screen.contains("xy"))
        #expect(screen.contains("Name: bob"))  // ordinary questions echo as usual
        // Answers are not commands: none of them is in the history.
        let saved = try String(contentsOfFile: historyPath, encoding: .utf8)
        #expect(saved.contains("/passwd") && saved.contains("after"))
        #expect(!saved.contains("hunter2"))
        #expect(!saved.contains("bob"))
        #expect(!saved.contains("xz"))
    }
}

extension LineEditorTerminalTests {
    /// Readline used to put the terminal back in cooked mode while a line was handled: keys
    /// typed ahead in that window were echoed by the terminal itself, a password among them.
    @Test func terminal__keysTypedWhileALineIsHandled__areNotEchoedByTheTerminal() async throws {
        let terminal = try Terminal()
        defer { terminal.close() }
        let editor = try LineEditor(historyFile: nil, prompt: "P> ", interactive: true, input: terminal.slave, output: terminal.slave)
        let inHandler = Shared(false)
        let typed = Shared(false)
        let answer = Shared<String?>(nil)
        let finished = Mutex(false)
        let runner = Thread {
            _ = editor.run(paced: true) { line in
                guard line == "/pw" else { return }
                Task {
                    answer.update { $0 = "asked" }
                    let secret = await editor.ask("Password: ", secret: true)
                    answer.update { $0 = secret }
                    editor.lineHandled()
                }
                // Still inside readline's line handler while the password is typed.
                inHandler.update { $0 = true }
                while !typed.value { usleep(1000) }
                usleep(300_000)  // the kernel has processed (and in cooked mode, echoed) the keys by now
            }
            finished.withLock { $0 = true }
        }
        runner.start()
        #expect(terminal.waitFor { $0.contains("P> ") })
        terminal.type("/pw\r")
        #expect(terminal.waitFor { _ in inHandler.value })
        terminal.type("hunter2\r")
        typed.update { $0 = true }
        #expect(terminal.waitFor { _ in answer.value == "hunter2" })
        #expect(!terminal.output.contains("hunter2"), "\(terminal.output.debugDescription)")
        editor.stop()
        #expect(terminal.waitFor { _ in finished.withLock { $0 } })
    }
}
