import Foundation
import Store
import XMPP

/// XEP-0313 §4 on a MUC room (a room's own archive, queried at the room's JID), with XEP-0059
/// paging: the catch-up after each join, from the last id we hold, and the pages `history
/// ROOM --fetch` asks for. Results are trusted only from the room we queried, through the
/// same router as our own archive's.
extension RoomFeature {
    /// From the last id we hold to the end of the room's archive; a room we never read gets
    /// a recent window. The cursor moves only once a page is stored.
    func catchUp(_ room: JID, _ context: FeatureContext) async {
        let accountID = context.account.rowID
        let key = room.description
        let archive = MAM.Archive.room(room)
        let stored = ((try? context.store.room(accountID: accountID, jid: key)) ?? nil)?.mamLastID
        var finished = false
        if let stored {
            var machine = ArchiveCatchUp(archive: archive, from: .afterID(stored), pageSize: 100)
            // A page the Store could not take stops the cursor where it is: the next join asks again.
            var unstored = false
            let outcome = await ArchivePages.run(&machine, router: archiveRouter, context: context) { results, machine, step in
                guard !unstored else { return }
                guard (try? await Self.storeArchived(results, room: key, context)) != nil else {
                    unstored = true
                    return
                }
                if step != nil, machine.idsAreStable, let last = machine.lastID, last != stored {
                    try? context.store.setRoomArchiveCursor(accountID: accountID, jid: key, lastID: last)
                }
            }
            finished = outcome == .finished && !unstored
            if case .failed(.unknownArchiveID) = outcome, !unstored { finished = await window(room, context) }
        } else {
            finished = await window(room, context)
        }
        if finished { await tracker.caughtUp(accountID, room: key) }
    }

    private func window(_ room: JID, _ context: FeatureContext) async -> Bool {
        let key = room.description
        var backfill = ArchiveBackfill(
            archive: .room(room), filter: MAM.Filter(start: Date().addingTimeInterval(-Self.firstCatchUp.maxAge)),
            limit: Self.firstCatchUp.maxMessages, pageSize: 100)
        let pages = await ArchivePages.runBackwards(&backfill, router: archiveRouter, context: context)
        var stored = true
        for page in pages.pages.reversed() where stored {
            stored = (try? await Self.storeArchived(page, room: key, context)) != nil
        }
        guard stored else { return false }
        if pages.outcome == .finished, backfill.idsAreStable, let newest = backfill.newestID {
            try? context.store.setRoomArchiveCursor(accountID: context.account.rowID, jid: key, lastID: newest)
        }
        return pages.outcome == .finished
    }

    /// One page of the room's archive, in one transaction; returns how many rows were new.
    /// Throws when the Store could not take it: the cursor must then stay where it is.
    @discardableResult
    static func storeArchived(_ results: [MAM.Result], room key: String, _ context: FeatureContext) async throws -> Int {
        let accountID = context.account.rowID
        guard !results.isEmpty, let room = try context.store.room(accountID: accountID, jid: key) else { return 0 }
        let ours = ownOutboxIDs(try outboxRows(originIDsIn: results.map(\.message), context), room: room, context)
        let now = Date()
        let rows = results.compactMap { result -> MessageRows.Row? in
            RoomMessages.record(
                for: result.message, room: room, account: context.account, ourJID: context.boundJID, ownOutboxIDs: ours,
                receivedAt: now, archivedAt: result.timestamp, archiveID: result.archiveID
            ).map { ($0, result.message) }
        }
        let stored = try await MessageRows.commit(rows, context)
        for message in stored.changed { await context.emit(.message(message)) }
        return stored.inserted.count
    }
}
