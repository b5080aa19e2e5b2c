import Foundation

/// What Tab offers in the shell: command names first, then an argument by its kind — a path
/// for `/file` and `/sendfile`, a folder for `/download ID DIR`.
enum ShellCompletion {
    static func candidates(line: String, word: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        guard line.contains(" ") else { return CommandTable.completionWords }
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        // The argument being completed: 1 for the first after the command word.
        let argument = words.count - (line.hasSuffix(" ") ? 0 : 1)
        switch (words.first.map { $0.lowercased() }, argument) {
        case ("/file", 1), ("/sendfile", 1): return paths(word, directoriesOnly: false, environment: environment)
        case ("/download", 2): return paths(word, directoriesOnly: true, environment: environment)
        default: return []
        }
    }

    /// Entries of the folder `word` points into whose names start with what follows its last
    /// `/`, written as the user began (a leading `~` kept); folders end in `/`. Hidden entries
    /// only when the name typed so far starts with a dot.
    static func paths(_ word: String, directoriesOnly: Bool, environment: [String: String]) -> [String] {
        let slash = word.lastIndex(of: "/")
        let typedFolder = slash.map { String(word[...$0]) } ?? ""
        let prefix = slash.map { String(word[word.index(after: $0)...]) } ?? word
        var folder = typedFolder.isEmpty ? "." : typedFolder
        if folder.hasPrefix("~"), let home = environment["HOME"] { folder = home + folder.dropFirst() }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.sorted().compactMap { name in
            guard name.hasPrefix(prefix), !name.hasPrefix(".") || prefix.hasPrefix(".") else { return nil }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(name), isDirectory: &isDirectory)
            if directoriesOnly, !isDirectory.boolValue { return nil }
            return typedFolder + name + (isDirectory.boolValue ? "/" : "")
        }
    }
}
