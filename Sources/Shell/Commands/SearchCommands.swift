import ArgumentParser
import Foundation
import Store
import XMPP

/// `tern search` (CLI.md): ranked full-text search across all history.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: CommandTable.summary(ofSubcommand: "search"),
        discussion: """
            QUERY: words (all must match), "exact phrases" (quote them for the shell too: '"a b"'), \
            prefix*, -exclude, and OR between two terms. Case and accents are ignored.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only this conversation (a contact's or a room's JID).", valueName: "JID")) var with: String?
    @Option(name: .customLong("in"), help: ArgumentHelp("Only this room.", valueName: "ROOM")) var room: String?
    @Option(help: ArgumentHelp("Only messages from this bare JID (in rooms, the occupant's real JID when known).", valueName: "JID"))
    var from: String?
    @Option(help: ArgumentHelp("Only messages at or after this date (ISO 8601, or YYYY-MM-DD).", valueName: "DATE")) var after: String?
    @Option(help: ArgumentHelp("Only messages before this date (ISO 8601, or YYYY-MM-DD).", valueName: "DATE")) var before: String?
    @Option(help: "How many hits.") var limit: Int = 20
    @Flag(help: "Print JSON Lines with the message fields plus snippet and rank.") var json = false
    // Unrecognised words are part of the query, so `tern search cafe -paris` excludes paris.
    @Argument(parsing: .allUnrecognized, help: "What to look for.") var query: [String] = []

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let parsed = try SearchRequest.query(query)
            var filters = SearchFilters(limit: limit)
            guard limit > 0 else { throw UsageFailure("--limit must be positive") }
            filters.conversation = try SearchRequest.conversation(with: with, room: room, store: context.store, accountID: account.rowID)
            filters.sender = try from.map { try SearchRequest.bareJID($0, option: "--from") }
            filters.after = try after.map(DateArgument.parse)?.timeIntervalSince1970
            filters.before = try before.map(DateArgument.parse)?.timeIntervalSince1970
            try SearchIndexProgress.catchUp(context.store)
            let hits = try context.store.search(accountID: account.rowID, query: parsed, filters: filters)
            let names = SenderNames(store: context.store, accountID: account.rowID)
            let bold = !json && isatty(STDOUT_FILENO) == 1
            for hit in hits {
                print(json ? SearchRenderer.json(hit) : SearchRenderer.line(hit, names: names, bold: bold))
            }
        }
    }
}

/// Turning command-line words into a query and filters; shared by `tern search` and `/search`.
enum SearchRequest {
    static func query(_ words: [String]) throws -> SearchQuery {
        if let option = words.first(where: { $0.hasPrefix("--") && $0.count > 2 }) {
            throw UsageFailure("unknown option \(option)")
        }
        do {
            return try SearchQuery(parsing: words.joined(separator: " "))
        } catch {
            throw UsageFailure(error.description)
        }
    }

    static func bareJID(_ text: String, option: String) throws -> String {
        do {
            return try JID(text).bare.description
        } catch {
            throw UsageFailure("\(option): \(error)")
        }
    }

    /// `--with` takes any conversation; `--in` a room this account knows. Both must agree.
    static func conversation(with: String?, room: String?, store: Store, accountID: Int64) throws -> String? {
        let conversation = try with.map { try bareJID($0, option: "--with") }
        guard let room else { return conversation }
        let roomJID = try bareJID(room, option: "--in")
        guard try store.room(accountID: accountID, jid: roomJID) != nil else {
            throw UsageFailure("--in \(roomJID): not a room of this account (see tern rooms)")
        }
        if let conversation, conversation != roomJID { throw UsageFailure("--with and --in name different conversations") }
        return roomJID
    }
}

/// How a hit looks: the snippet's matches in bold on a terminal, `[`…`]` elsewhere and in JSON.
enum SearchRenderer {
    static let boldOn = "\u{1B}[1m"
    static let boldOff = "\u{1B}[22m"

    /// The snippet on one line. Message text is made inert first, so only our own markers
    /// can turn bold on; a body's own `[` `]` stay plain characters.
    static func snippet(_ parts: [SnippetPart], bold: Bool) -> String {
        parts.map { part in
            let text = Sanitizer.inert(part.text.replacingOccurrences(of: "\n", with: " "))
            guard part.isMatch else { return text }
            return bold ? boldOn + text + boldOff : "[" + text + "]"
        }.joined()
    }

    /// `conversation [time] sender: snippet`
    static func line(_ hit: SearchHit, names: SenderNames, bold: Bool) -> String {
        let message = hit.entry.message
        return "\(Sanitizer.inert(message.conversation)) [\(Renderer.clock(message.timestamp))] \(names.name(message)): "
            + snippet(hit.snippet, bold: bold)
    }

    static func json(_ hit: SearchHit) -> String {
        var object = Renderer.messageObject(hit.entry.message, state: hit.entry.state)
        object["snippet"] = hit.snippet.map { $0.isMatch ? "[" + $0.text + "]" : $0.text }.joined()
        object["rank"] = (hit.rank * 1000).rounded() / 1000
        return Renderer.json(object)
    }
}

/// A long backlog of unindexed messages (after a kill during a big catch-up, or migrating a
/// large store) is indexed before searching, with progress on stderr when it is a terminal.
enum SearchIndexProgress {
    static let worthShowing = 50_000

    static func catchUp(_ store: Store) throws {
        guard isatty(STDERR_FILENO) == 1, try store.searchIndexBacklog() >= worthShowing else { return }
        try store.catchUpSearchIndex { done, total in
            FileHandle.standardError.write(Data("\rindexing messages for search: \(done * 100 / max(total, 1))%".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
