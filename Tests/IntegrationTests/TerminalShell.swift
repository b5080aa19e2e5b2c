import Foundation
import Glibc
import Synchronization

/// `tern shell` in a pseudo-terminal of a given size, as a user at a real terminal runs it:
/// readline, completion, colours and wrapping all take their interactive paths.
///
/// What the shell writes is collected raw; `text` is the same with escape sequences removed
/// and carriage returns dropped, which is what a test usually asserts on.
final class TerminalShell: @unchecked Sendable {
    let process: Process
    private let master: Int32
    private let screen = Mutex<[UInt8]>([])

    /// Starts `tern --home HOME shell` on a fresh pty of `columns`×`rows`.
    init(home: TernHome, columns: Int = 100, rows: Int = 40, environment: [String: String] = [:]) throws {
        // posix_openpt & co. are hidden behind _XOPEN_SOURCE in the Glibc module: use the Linux ioctls.
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw HarnessError("no pty: errno \(errno)") }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0, ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0
        else { throw HarnessError("pty setup failed: errno \(errno)") }
        var size = winsize(ws_row: UInt16(rows), ws_col: UInt16(columns), ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw HarnessError("cannot open /dev/pts/\(number): errno \(errno)") }

        process = Process()
        process.executableURL = URL(fileURLWithPath: ternBinary)
        process.arguments = ["--home", home.path, "shell"]
        var env = ProcessInfo.processInfo.environment
        env["TERN_PASSWORD"] = nil
        env["NO_COLOR"] = nil
        env["TERM"] = "xterm-256color"
        env["COLUMNS"] = nil
        env["LINES"] = nil
        env["SWIFT_BACKTRACE"] = "interactive=no"  // a crash prints its trace and ends, never waits for a key
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        close(slave)  // the child holds its own copy

        let reader = Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 8192)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if count <= 0 { return }  // EIO once the child has gone
                self.screen.withLock { $0 += chunk[0..<count] }
            }
        }
        reader.start()
    }

    /// Keys as typed: "\t" is Tab, "\r" is Enter, "\u{1B}1" is Alt-1.
    func type(_ keys: String) {
        let bytes = Array(keys.utf8)
        bytes.withUnsafeBytes { _ = write(master, $0.baseAddress, $0.count) }
    }

    /// Everything written so far, escape sequences included.
    var raw: String { screen.withLock { String(decoding: $0, as: UTF8.self) } }

    /// What was written, without escape sequences (CSI, OSC, the two-byte ones) and `\r`.
    var text: String { Self.plain(raw) }

    /// How much has been written; `text(since:)` then gives only what came after.
    var mark: Int { screen.withLock { $0.count } }

    func text(since mark: Int) -> String {
        Self.plain(screen.withLock { String(decoding: $0[min(mark, $0.count)...], as: UTF8.self) })
    }

    /// Waits until the plain text written since `mark` satisfies `condition`; throws with what was seen.
    @discardableResult
    func waitFor(
        _ what: String, since mark: Int = 0, timeout: Duration = .seconds(30), _ condition: (String) -> Bool
    ) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = text(since: mark)
            if condition(seen) { return seen }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("timed out waiting for \(what); the terminal shows:\n\(seen.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits until `needle` appears after `mark`.
    @discardableResult
    func waitFor(_ needle: String, since mark: Int = 0, timeout: Duration = .seconds(30)) async throws -> String {
        try await waitFor("\"\(needle)\"", since: mark, timeout: timeout) { $0.contains(needle) }
    }

    /// Types `keys`, then waits until `needle` appears in what follows them; returns that text.
    @discardableResult
    func type(_ keys: String, thenWaitFor needle: String, timeout: Duration = .seconds(30)) async throws -> String {
        let start = mark
        type(keys)
        return try await waitFor(needle, since: start, timeout: timeout)
    }

    /// `/quit`, then waits for the process; kills it if it does not end.
    func quit() async {
        type("/quit\r")
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        close(master)
    }

    static func plain(_ raw: String) -> String {
        var out = String.UnicodeScalarView()
        var scalars = raw.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            switch scalar {
            case "\r", "\u{07}", "\u{01}", "\u{02}":  // CR, bell, readline's invisible-text marks
                continue
            case "\u{1B}":
                guard let kind = scalars.next() else { break }
                if kind == "[" {
                    // CSI: parameters, then one final byte in @…~.
                    while let next = scalars.next(), !(0x40...0x7E).contains(next.value) {}
                } else if kind == "]" {
                    // OSC: up to BEL or ST (ESC \).
                    while let next = scalars.next(), next != "\u{07}" {
                        if next == "\u{1B}" {
                            _ = scalars.next()
                            break
                        }
                    }
                }
            // Any other: a two-byte sequence (ESC 7, ESC 8, ESC =, …): both dropped.
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }
}
