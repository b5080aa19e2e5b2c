import ArgumentParser
import Foundation
import Store

/// Completions the bash, zsh and fish scripts (`tern --generate-completion-script SHELL`) ask
/// tern for at Tab: stored contact and room JIDs, read from the store of `--home` (or
/// TERN_HOME, or the default) without creating or changing it (`Store.completionJIDs`).
enum CompletionKinds {
    static let storedJIDs = CompletionKind.custom { words, _, prefix in
        Store.completionJIDs(directory: Paths.home(explicit: explicitHome(words))).filter { $0.hasPrefix(prefix) }
    }

    /// The `--home DIR` or `--home=DIR` on the line being completed, if any.
    static func explicitHome(_ words: [String]) -> String? {
        for (index, word) in words.enumerated() {
            if word == "--home", index + 1 < words.count { return words[index + 1] }
            if word.hasPrefix("--home=") { return String(word.dropFirst("--home=".count)) }
        }
        return nil
    }
}
