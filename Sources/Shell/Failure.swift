import ArgumentParser
import Foundation
import Sync

/// A failed command: one clear line on stderr and exit status 1 (CLI.md, exit codes).
struct Failure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Bad usage or a bad argument such as an invalid JID: exit status 64 (EX_USAGE).
struct UsageFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

enum Terminal {
    /// Prints one line on stderr, sanitised: error text may quote what a server said.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("tern: " + Sanitizer.inert(message) + "\n").utf8))
    }

    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }
}

/// Runs a command body, mapping our errors to CLI.md's exit codes; those of the layers
/// below come with theirs (`SyncFailure`).
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as Failure {
        Terminal.error(failure.message)
        throw ExitCode(SyncFailure.failed)
    } catch let failure as UsageFailure {
        Terminal.error(failure.message)
        throw ExitCode(SyncFailure.usage)
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let failure = SyncFailure(error)
        Terminal.error(failure.reason)
        throw ExitCode(failure.exitCode)
    }
}

enum Output {
    /// Flushes stdout so watchers and pipes see each line as it happens.
    static func flush() {
        _ = fflush(nil)
    }
}
