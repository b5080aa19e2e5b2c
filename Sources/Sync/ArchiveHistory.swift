import Foundation
import Store
import XMPP

/// XEP-0313 §4.1 with XEP-0059 §2.5 (paging backwards): the newest part of an archive, then
/// older pages, up to a limit. A pure state machine like `ArchiveCatchUp`, walking the other way.
///
/// Each page asks for the items before the oldest one seen (the first page for the newest
/// items, with an empty `<before/>`). It ends when the archive says the set is complete, when
/// `limit` results came, or when a page does not move the cursor back (`.noProgress`), which
/// would otherwise loop forever.
struct ArchiveBackfill: ArchivePager, Equatable {
    let archive: MAM.Archive
    let filter: MAM.Filter
    let limit: Int
    let pageSize: Int

    private(set) var state: ArchiveCatchUp.State = .ready
    /// The next page ends before this archive id; nil starts from the newest item.
    private(set) var cursor: String?
    /// The newest archive id seen: where forward catch-up resumes after a first sync.
    private(set) var newestID: String?
    /// The oldest archive id seen so far.
    private(set) var oldestID: String?
    private(set) var resultCount = 0
    private(set) var pageCount = 0
    /// True once the archive said there is nothing older (within the filter).
    private(set) var reachedStart = false
    private(set) var idsAreStable = true
    private var pageFirst: String?
    private var pageLast: String?

    init(archive: MAM.Archive, filter: MAM.Filter = MAM.Filter(), before cursor: String? = nil, limit: Int, pageSize: Int = 100) {
        self.archive = archive
        self.filter = filter
        self.cursor = cursor
        self.limit = max(1, limit)
        self.pageSize = max(1, pageSize)
    }

    mutating func nextQuery(iqID: String, queryID: String) -> Element? {
        guard state == .ready, resultCount < limit else { return nil }
        let page = ResultSet.Request(max: min(pageSize, limit - resultCount), before: cursor ?? "")
        let query = MAM.Query(archive: archive, queryID: queryID, filter: filter, page: page)
        state = .waiting(iqID: iqID, query: query)
        pageFirst = nil
        pageLast = nil
        return query.iq(id: iqID)
    }

    mutating func receive(_ message: Element) throws(MAM.ResultError) -> MAM.Result {
        guard case .waiting(_, let query) = state else {
            guard MAM.isResult(message) else { throw .notAResult }
            throw .unknownQuery(message.child("result", namespace: NS.mam)?["queryid"])
        }
        let result = try MAM.result(message, of: query)
        // Within a page results come oldest first (§4.2), even when paging backwards.
        if pageFirst == nil { pageFirst = result.archiveID }
        pageLast = result.archiveID
        resultCount += 1
        return result
    }

    mutating func receivePage(_ iq: Element) -> ArchivePageStep? {
        guard case .waiting(let iqID, _) = state,
            iq.matches("iq", NS.client), iq["id"] == iqID, archive.isSender(iq["from"]),
            let reply = IQ(iq)
        else { return nil }
        switch reply.kind {
        case .error:
            let error = reply.error ?? StanzaError(type: "cancel", condition: "undefined-condition")
            if error.condition == "item-not-found", let cursor { return fail(.unknownArchiveID(cursor)) }
            return fail(.queryRefused(error))
        case .result:
            guard let fin = MAM.Fin(iqResult: iq) else { return fail(.malformedFin("result without <fin/>")) }
            pageCount += 1
            if !fin.stable { idsAreStable = false }
            let first = fin.page?.first ?? pageFirst
            if pageCount == 1 { newestID = fin.page?.last ?? pageLast }
            if let first { oldestID = first }
            if fin.complete {
                reachedStart = true
                state = .finished
                return .done
            }
            if resultCount >= limit {
                state = .finished
                return .done
            }
            guard pageFirst != nil, let first, first != cursor else { return fail(.noProgress(cursor: cursor)) }
            cursor = first
            state = .ready
            return .more
        case .get, .set:
            return fail(.malformedFin("reply of type \(reply.kind.rawValue)"))
        }
    }

    private mutating func fail(_ error: ArchiveCatchUp.CatchUpError) -> ArchivePageStep {
        state = .failed(error)
        return .failed(error)
    }
}

/// Older history of one conversation on demand (`tern history JID --fetch`), from our own
/// account's archive (XEP-0313 §4.1.1 `with`): the pages before the oldest message we hold.
public enum ArchiveHistory {
    public struct Fetched: Sendable, Equatable {
        /// Results the archive sent.
        public var received: Int
        /// Of those, the ones that were new to the store.
        public var stored: Int
        /// The archive has nothing older for this conversation.
        public var reachedStart: Bool
    }

    public enum FetchError: Error, Sendable, CustomStringConvertible {
        case offline
        case notSupported(String)
        case refused(String)
        case interrupted(String)

        public var description: String {
            switch self {
            case .offline: "not connected"
            case .notSupported(let jid): "the server keeps no message archive for \(jid) (XEP-0313)"
            case .refused(let why): "the archive refused the query: \(why)"
            case .interrupted(let why): why
            }
        }
    }

    public static let defaultCount = 50

    /// Fetches up to `count` messages exchanged with `jid` that are older than what the store
    /// holds, storing each page in one transaction. Call it on a live engine (e.g. inside
    /// `SyncEngine.withSession`).
    public static func fetchOlder(engine: SyncEngine, with jid: JID, count: Int = defaultCount, pageSize: Int = 50)
        async throws(FetchError) -> Fetched
    {
        guard let context = await engine.featureContext(), let router = await engine.archiveRouter else { throw .offline }
        if let room = (try? context.store.room(accountID: context.account.rowID, jid: jid.bare.description)) ?? nil {
            return try await fetchOlder(inRoom: room, router: router, context: context, count: count, pageSize: pageSize)
        }
        let support = await ArchiveSupport.discover(context)
        guard support.available else { throw .notSupported(context.boundJID.bare.description) }
        let conversation = jid.bare
        let held = (try? context.store.oldestArchiveCursor(accountID: context.account.rowID, conversation: conversation.description))
        var filter = MAM.Filter(with: conversation)
        if held?.archiveID == nil, let oldest = held?.timestamp {
            // No archive id to page from: everything up to our oldest message (duplicates are skipped).
            filter.end = Date(timeIntervalSince1970: oldest)
        }
        var pager = ArchiveBackfill(
            archive: .account(context.boundJID.bare), filter: filter, before: held?.archiveID, limit: count, pageSize: pageSize)
        var fetched = await ArchivePages.runBackwards(&pager, router: router, context: context)
        if case .failed(.unknownArchiveID) = fetched.outcome {
            // The archive no longer knows our oldest id: fall back to the time of our oldest message.
            filter.end = held?.timestamp.map { Date(timeIntervalSince1970: $0) }
            pager = ArchiveBackfill(
                archive: .account(context.boundJID.bare), filter: filter, limit: count, pageSize: pageSize)
            fetched = await ArchivePages.runBackwards(&pager, router: router, context: context)
        }
        // What the Store could not take counts as not stored; the command says how many were.
        let stored = (try? await ArchivePages.storeOldestFirst(
            ArchivePages.ordered(before: held?.timestamp, fetched), support: support, context: context)) ?? 0
        return try outcome(fetched.outcome, pager: pager, stored: stored)
    }

    /// A room's older history comes from the room's own archive (XEP-0313 §4 on a MUC), before
    /// the oldest room message we hold.
    private static func fetchOlder(inRoom room: Room, router: ArchiveRouter, context: FeatureContext, count: Int, pageSize: Int)
        async throws(FetchError) -> Fetched
    {
        guard room.archived != false, let roomJID = JID(validating: room.jid) else { throw .notSupported(room.jid) }
        let held = try? context.store.oldestArchiveCursor(accountID: context.account.rowID, conversation: room.jid)
        var filter = MAM.Filter()
        if held?.archiveID == nil, let oldest = held?.timestamp { filter.end = Date(timeIntervalSince1970: oldest) }
        var pager = ArchiveBackfill(
            archive: .room(roomJID), filter: filter, before: held?.archiveID, limit: count, pageSize: pageSize)
        let fetched = ArchivePages.ordered(
            before: held?.timestamp,
            await ArchivePages.runBackwards(&pager, router: router, context: context))
        var stored = 0
        for page in fetched.pages.reversed() { stored += (try? await RoomFeature.storeArchived(page, room: room.jid, context)) ?? 0 }
        return try outcome(fetched.outcome, pager: pager, stored: stored)
    }

    private static func outcome(_ outcome: ArchivePages.Outcome, pager: ArchiveBackfill, stored: Int) throws(FetchError) -> Fetched {
        switch outcome {
        case .finished: return Fetched(received: pager.resultCount, stored: stored, reachedStart: pager.reachedStart)
        case .failed(.queryRefused(let error)): throw .refused(error.condition)
        case .failed(let error): throw .refused("\(error)")
        case .interrupted(let why): throw .interrupted(why)
        }
    }
}
