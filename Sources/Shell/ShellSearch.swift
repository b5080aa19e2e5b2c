import Foundation
import Store

/// The shell's `/search`, `/goto` and `/history --around`: Store reads only, like `tern search`.
extension InteractiveShell {
    /// Context shown by `/goto`: this many messages around the hit.
    static let gotoContext = 11

    func search(_ raw: String) throws {
        let account = try requireCurrentAccount()
        let query: SearchQuery
        do {
            query = try SearchQuery(parsing: raw)
        } catch {
            throw Failure(error.description)
        }
        let hits = try context.store.search(accountID: account.rowID, query: query, filters: SearchFilters())
        searchHits = hits.compactMap(\.entry.message.id)
        guard !hits.isEmpty else {
            say("no messages match")
            return
        }
        let names = SenderNames(store: context.store, accountID: account.rowID)
        for (number, hit) in hits.enumerated() {
            say("\(number + 1)) " + SearchRenderer.line(hit, names: names, bold: editor.interactive))
        }
        say("-- /goto N opens a hit in its conversation")
    }

    func goto(_ word: String) throws {
        guard let number = Int(word), searchHits.indices.contains(number - 1) else {
            throw Failure(searchHits.isEmpty ? "no search hits yet: /search QUERY first" : "no hit \(word): choose 1…\(searchHits.count)")
        }
        try showContext(of: searchHits[number - 1], in: nil, limit: Self.gotoContext)
    }

    /// Enters the hit's conversation and prints it among its neighbours, the hit marked.
    func showContext(of id: Int64, in conversation: String?, limit: Int) throws {
        let account = try requireCurrentAccount()
        let entries: [HistoryEntry]
        do {
            entries = try HistoryContext.around(id, conversation: conversation, limit: limit, store: context.store, accountID: account.rowID)
        } catch let usage as UsageFailure {
            throw Failure(usage.message)
        }
        if let hit = entries.first(where: { $0.message.id == id }) { enterConversation(hit.message.conversation) }
        for entry in entries {
            say(HistoryContext.render(entry, hit: id, json: false, bold: editor.interactive))
        }
    }
}
