import Foundation

/// Passwords never come from the command line (CLI.md): a prompt with echo off on a
/// terminal, else `--password-file`, else `TERN_PASSWORD`.
enum Password {
    static func obtain(file: String?, prompt: String) throws -> String {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw UsageFailure("cannot read the password file \(file)")
            }
            return trimmingNewline(text)
        }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TERN_PASSWORD"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw UsageFailure("no password: give --password-file FILE or set TERN_PASSWORD")
        }
        return try readWithoutEcho(prompt: prompt)
    }

    static func readWithoutEcho(prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var original = termios()
        tcgetattr(STDIN_FILENO, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw UsageFailure("no password given")
        }
        return line
    }

    private static func trimmingNewline(_ text: String) -> String {
        var text = text
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
