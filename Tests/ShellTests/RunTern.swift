import ArgumentParser
@testable import Shell

/// Runs `tern ARGUMENTS` as the binary would, in process; nil for success, else the exit status it chose.
func runTern(_ arguments: [String]) async throws -> Int32? {
    guard var command = try Tern.parseAsRoot(Tern.globalOptionsMoved(arguments)) as? any AsyncParsableCommand else { return -1 }
    do {
        try await command.run()
        return nil
    } catch let exit as ExitCode {
        return exit.rawValue
    }
}
