import Foundation
import Store
import Synchronization

/// What Tab offers in the shell, by the kind of the argument under the cursor as the command
/// table declares it (`ShellArgument.Kind`): command names, contacts (by JID or roster name,
/// completed to the JID so the line names exactly one), rooms, nicks of the current room,
/// stored accounts, paths, presence values and fixed choices. At the start of a plain line a
/// nick completes to `nick: `, the way people address someone in a room.
///
/// Runs on the line editor's thread: each kind is one small read on the Store's reader pool.
enum ShellCompletion {
    /// What the shell is looking at, for kinds that depend on it (the current room's nicks).
    struct Scope: Sendable, Equatable {
        var accountID: Int64?
        var conversation: String?
    }

    /// Where the shell keeps its current `Scope` for the editor's thread to read.
    final class ScopeBox: Sendable {
        private let scope = Mutex(Scope())
        var current: Scope { scope.withLock { $0 } }
        func set(_ new: Scope) { scope.withLock { $0 = new } }
    }

    /// Only candidates the Sanitizer leaves as they are: a nick or JID a peer chose with control
    /// or bidi characters in it is never put on the line or listed raw.
    static func candidates(
        line: String, word: String, store: Store? = nil, scope: Scope = Scope(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        unfiltered(line: line, word: word, store: store, scope: scope, environment: environment).filter { Sanitizer.inert($0) == $0 }
    }

    private static func unfiltered(
        line: String, word: String, store: Store?, scope: Scope, environment: [String: String]
    ) -> [String] {
        let reader = Reader(store: store, scope: scope, environment: environment)
        guard line.hasPrefix("/") else {
            // A plain line: nicks of the current room; the first word addresses that occupant.
            let nicks = reader.nicks(word)
            return line.contains(" ") ? nicks : nicks.map { $0 + ":" }
        }
        guard line.contains(" ") else { return CommandTable.completionWords.filter { $0.hasPrefix(word.lowercased()) } }
        let words = CommandTable.words(String(line.dropFirst()))
        guard let name = words.first, let command = CommandTable.find(name.lowercased()) else { return [] }
        // The argument being completed: 0 for the first after the command word.
        let index = words.count - 1 - (line.hasSuffix(" ") ? 0 : 1)
        guard let argument = command.argument(at: index) else { return [] }
        // An option's first word is its flag, the second its value.
        if case .option(let flag, let valueKind) = argument.kind {
            return command.argument(at: index - 1) == argument ? reader.candidates(valueKind, word) : [flag].filter { $0.hasPrefix(word) }
        }
        return reader.candidates(argument.kind, word)
    }

    /// One completion's reads.
    private struct Reader {
        let store: Store?
        let scope: Scope
        let environment: [String: String]

        func candidates(_ kind: ShellArgument.Kind, _ word: String) -> [String] {
            switch kind {
            case .contact: contacts(word)
            case .conversation: contacts(word) + rooms(word)
            case .room: rooms(word)
            case .nick: nicks(word)
            case .account: accounts(word)
            case .path(let foldersOnly): paths(word, directoriesOnly: foldersOnly, environment: environment)
            case .presence: ShellArgument.presenceValues.filter { $0.hasPrefix(word.lowercased()) }
            case .choice(let choices): choices.filter { $0.hasPrefix(word.lowercased()) }
            case .command: CommandTable.commands.map(\.name).filter { $0.hasPrefix(word.lowercased()) }
            case .option(let flag, _): [flag].filter { $0.hasPrefix(word) }
            case .jid, .number, .id, .word, .text: []
            }
        }

        /// Contacts whose JID, roster name or a word of the name starts with `word`, folded.
        func contacts(_ word: String) -> [String] {
            guard let store, let accountID = scope.accountID,
                let contacts = try? store.namedContacts(accountID: accountID)
            else { return [] }
            var folder = Store.NamedContact.Folder()
            let wanted = folder.fold(word)
            return contacts.filter { $0.starts(with: wanted, folder: &folder) }.map(\.jid)
        }

        func rooms(_ word: String) -> [String] {
            guard let store, let accountID = scope.accountID, let rooms = try? store.roomJIDs(accountID: accountID) else { return [] }
            let wanted = ContactNames.fold(word)
            return rooms.filter { ContactNames.fold($0).hasPrefix(wanted) }
        }

        func nicks(_ word: String) -> [String] {
            guard let store, let accountID = scope.accountID, let room = scope.conversation,
                let nicks = try? store.occupantNicks(accountID: accountID, room: room)
            else { return [] }
            let wanted = ContactNames.fold(word)
            return nicks.filter { ContactNames.fold($0).hasPrefix(wanted) }
        }

        func accounts(_ word: String) -> [String] {
            guard let store, let accounts = try? store.accounts() else { return [] }
            let wanted = ContactNames.fold(word)
            return accounts.filter { $0.state != .deleted && ContactNames.fold($0.jid).hasPrefix(wanted) }.map(\.jid)
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
