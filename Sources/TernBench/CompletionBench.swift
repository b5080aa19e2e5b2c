import Foundation
import GRDB
import Store

/// What one Tab on a contact argument costs with a large roster (issue 15: completion reads
/// the Store and must not hold up typing): `Store.namedContacts` plus the case- and
/// diacritics-folded prefix filter the shell applies, against the same rows fetched with raw
/// SQL on the same file in the same run (the floor). Best of 20; the budget is one 60 Hz frame.
enum CompletionBench {
    static let frame = 1.0 / 60

    static func run(contacts count: Int) throws {
        let directory = NSTemporaryDirectory() + "tern-completion-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(directory: directory)
        let account = try store.saveAccount(Account(jid: "me@example.org", resource: "bench", createdAt: Store.now), credential: nil)
        let names = ["Zébédée", "Zoé", "Ålesund", "Anaïs", "Björn", "Çelik", "Ðorđe", "Émile"]
        try store.replaceRoster(
            accountID: account.rowID,
            items: (0..<count).map { n in
                .init(jid: "contact\(n)@server\(n % 7).example.org", name: "\(names[n % names.count]) \(n)", subscription: .both)
            }, version: nil)
        let raw = try DatabaseQueue(path: store.databasePath)

        var best = (tab: Double.infinity, query: Double.infinity, raw: Double.infinity)
        var found = 0
        for _ in 0..<20 {
            best.tab = min(best.tab, time { found = tab(store, accountID: account.rowID, word: "zeb").count })
            best.query = min(best.query, time { _ = try? store.namedContacts(accountID: account.rowID) })
            best.raw = min(best.raw, time {
                _ = try? raw.read { db in try Row.fetchAll(db, sql: "SELECT jid, name FROM contact WHERE account_id = ?", arguments: [account.rowID]) }
            })
        }
        print("completion: Tab on a contact argument, \(count) contacts, best of 20 (\(found) candidates for \"zeb\")")
        print(String(format: "  namedContacts + folded prefix filter %8.2f ms   (budget %.1f ms, one frame)", best.tab * 1000, frame * 1000))
        print(String(format: "    of which namedContacts             %8.2f ms", best.query * 1000))
        print(String(format: "  raw SELECT jid, name                 %8.2f ms   (reference)", best.raw * 1000))
        print(String(format: "  ratio tern / raw: %.2f", best.tab / best.raw))
    }

    /// The shell's contact completion (ShellCompletion's `contacts`).
    static func tab(_ store: Store, accountID: Int64, word: String) -> [String] {
        var folder = Store.NamedContact.Folder()
        let wanted = folder.fold(word)
        let contacts = (try? store.namedContacts(accountID: accountID)) ?? []
        return contacts.filter { $0.starts(with: wanted, folder: &folder) }.map(\.jid)
    }

    static func time(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
