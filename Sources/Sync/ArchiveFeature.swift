import Foundation
import Store
import XMPP

/// XEP-0313 (`urn:xmpp:mam:2`) §4 with XEP-0059 paging on a live session: after every new
/// session, our own account's archive is read from the last archive id we stored to its end.
/// With no stored id (a first sync), only a bounded recent window is fetched; older history
/// comes on demand (`ArchiveHistory.fetchOlder`).
///
/// Results arrive as `<message/>` stanzas before their query's iq reply, on the engine's
/// stanza path. The feature claims every message that looks like a result (forgeries must not
/// reach the ordinary message path either) and the replies to its own queries, and routes them
/// in arrival order to the open page; the paging machines accept only what comes from the
/// archive we queried, with our queryid, while that page is open (DESIGN §6). Each page is
/// stored in one transaction, and the stored cursor moves only after that commit.
struct ArchiveFeature: SessionFeature {
    /// How much a first sync fetches: the newest messages of the last `maxAge` seconds, at
    /// most `maxMessages` of them (whichever bound is reached first).
    struct Window: Sendable, Equatable {
        var maxAge: TimeInterval
        var maxMessages: Int

        static let firstSync = Window(maxAge: 7 * 24 * 3600, maxMessages: 1000)
    }

    var firstSyncWindow: Window = .firstSync
    var pageSize = 100
    /// The pages open on every session of this process, by account and id.
    var router = ArchiveRouter()

    var discoFeatures: [String] { [] }

    /// After every new session. A catch-up the link cut short is finished later, on the
    /// resumed stream (resumption brings back what the server still held for the session,
    /// not what it archived while no session existed), but at most every `retryInterval`,
    /// so a link that keeps dropping does not flood the server with archive queries.
    func sessionSettled(_ context: FeatureContext, resumed: Bool) async {
        let due = await router.isCatchUpDue(context.account.rowID, retryInterval: Self.retryInterval)
        if !resumed || due { await trackedCatchUp(context) }
    }

    func poll(_ context: FeatureContext) async {
        if await router.isCatchUpDue(context.account.rowID, retryInterval: Self.retryInterval) {
            await trackedCatchUp(context)
        }
    }

    static let retryInterval: Duration = .seconds(5)

    private func trackedCatchUp(_ context: FeatureContext) async {
        await router.catchUpStarted(context.account.rowID)
        if await catchUp(context) { await router.catchUpFinished(context.account.rowID) }
    }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        ArchiveRouter.isArchiveTraffic(stanza)
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async {
        await router.route(stanzas, accountID: context.account.rowID)
    }

    func linkLost(accountID: Int64) async {
        await router.closeAll(accountID: accountID)
    }

    /// From the stored id to the end of the archive; a first sync (or a stored id the archive
    /// no longer knows) fetches the recent window instead. Returns whether it got to the end.
    @discardableResult
    func catchUp(_ context: FeatureContext) async -> Bool {
        let support = await ArchiveSupport.discover(context)
        guard support.available else { return await context.engine.isOnline }
        let accountID = context.account.rowID
        let archive = MAM.Archive.account(context.boundJID.bare)
        if let stored = (try? context.store.archiveLastID(accountID: accountID)) ?? nil {
            var machine = ArchiveCatchUp(
                archive: archive, from: .afterID(stored), pageSize: pageSize, useExtendedFilters: support.extended)
            // A page the Store could not take stops the cursor where it is: the next session asks again.
            var unstored = false
            let outcome = await ArchivePages.run(&machine, router: router, context: context) { results, machine, step in
                guard !unstored else { return }
                guard (try? await ArchivePages.store(results, support: support, context: context)) != nil else {
                    unstored = true
                    return
                }
                if step != nil, machine.idsAreStable, let last = machine.lastID, last != stored {
                    try? context.store.setArchiveLastID(accountID: accountID, last)
                }
            }
            if unstored { return false }
            guard case .failed(.unknownArchiveID) = outcome else { return outcome == .finished }
            // The stored id expired from the archive: start over from a recent window.
        }
        var window = ArchiveBackfill(
            archive: archive, filter: MAM.Filter(start: Date().addingTimeInterval(-firstSyncWindow.maxAge)),
            limit: firstSyncWindow.maxMessages, pageSize: pageSize)
        let pages = await ArchivePages.runBackwards(&window, router: router, context: context)
        let windowStored = (try? await ArchivePages.storeOldestFirst(pages, support: support, context: context)) != nil
        // The newest item fixes where the next session resumes, but only once the whole window
        // is in: after a cut, the pages between it and what we hold would never be asked for.
        if windowStored, pages.outcome == .finished, window.idsAreStable, let newest = window.newestID {
            try? context.store.setArchiveLastID(accountID: accountID, newest)
        }
        return pages.outcome == .finished
    }
}

/// What our account's archive offers, from disco#info on our bare JID (XEP-0313 §6.1).
struct ArchiveSupport: Sendable, Equatable {
    var available = false
    /// `urn:xmpp:sid:0`: archive ids are the stanza-ids it stamps (XEP-0359), so they can dedupe.
    var stampsStanzaIDs = false
    /// `urn:xmpp:mam:2#extended`: `after-id`/`before-id` filters.
    var extended = false

    init(available: Bool = false, stampsStanzaIDs: Bool = false, extended: Bool = false) {
        self.available = available
        self.stampsStanzaIDs = stampsStanzaIDs
        self.extended = extended
    }

    init(discoInfo query: Element) {
        let features = Set(query.children("feature", namespace: NS.discoInfo).compactMap { $0["var"] })
        self.init(
            available: features.contains(NS.mam), stampsStanzaIDs: features.contains(NS.sid),
            extended: features.contains(MAM.extendedFeature))
    }

    static func discover(_ context: FeatureContext) async -> ArchiveSupport {
        guard let query = try? await context.discoInfo(of: context.boundJID.bare) else { return ArchiveSupport() }
        return ArchiveSupport(discoInfo: query)
    }
}

/// Hands claimed archive traffic to the page it belongs to. A result whose queryid, or a reply
/// whose id, names no open page of this account is dropped: forged, stale or late.
actor ArchiveRouter {
    private struct Key: Hashable {
        let accountID: Int64
        let id: String
    }

    /// Our query iq ids start with this, so their replies can be claimed without a lookup.
    static let iqPrefix = "mam-"

    /// An open page's results so far: past `resultsPerPageLimit` they are dropped, so a server
    /// that ignores the page size (XEP-0059 §2.1 `max`) cannot make memory grow.
    private struct OpenPage {
        let sink: AsyncStream<Element>.Continuation
        var results = 0
    }

    /// Ten times the largest page we ask for.
    static let resultsPerPageLimit = 1_000

    private var byQueryID: [Key: OpenPage] = [:]
    /// Accounts whose catch-up reached the end of the archive in this process. Any other one
    /// is pending, so a process that starts by resuming a saved session still catches up.
    private var caughtUp: Set<Int64> = []
    private var lastAttempt: [Int64: ContinuousClock.Instant] = [:]

    /// Pending, and not tried within `retryInterval`.
    func isCatchUpDue(_ accountID: Int64, retryInterval: Duration) -> Bool {
        guard !caughtUp.contains(accountID) else { return false }
        return lastAttempt[accountID].map { $0.duration(to: .now) >= retryInterval } ?? true
    }

    func catchUpStarted(_ accountID: Int64) {
        caughtUp.remove(accountID)
        lastAttempt[accountID] = .now
    }

    func catchUpFinished(_ accountID: Int64) {
        caughtUp.insert(accountID)
    }

    private var byIQID: [Key: AsyncStream<Element>.Continuation] = [:]

    /// Anything claiming to be a MAM result, and the result or error replies to our queries.
    nonisolated static func isArchiveTraffic(_ stanza: Element) -> Bool {
        if stanza.matches("message", NS.client) { return MAM.isResult(stanza) }
        guard stanza.matches("iq", NS.client), stanza["type"] == "result" || stanza["type"] == "error" else { return false }
        return stanza["id"]?.hasPrefix(iqPrefix) == true
    }

    func open(accountID: Int64, queryID: String, iqID: String) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream<Element>.makeStream(bufferingPolicy: .unbounded)
        byQueryID[Key(accountID: accountID, id: queryID)] = OpenPage(sink: continuation)
        byIQID[Key(accountID: accountID, id: iqID)] = continuation
        return stream
    }

    /// Ends the page: its stream finishes, and later stanzas for it are dropped.
    func close(accountID: Int64, queryID: String, iqID: String) {
        byQueryID.removeValue(forKey: Key(accountID: accountID, id: queryID))?.sink.finish()
        byIQID.removeValue(forKey: Key(accountID: accountID, id: iqID))?.finish()
    }

    /// Ends every open page of the account (the link is gone, their answers will not come).
    func closeAll(accountID: Int64) {
        for key in byQueryID.keys where key.accountID == accountID { byQueryID.removeValue(forKey: key)?.sink.finish() }
        for key in byIQID.keys where key.accountID == accountID { byIQID.removeValue(forKey: key)?.finish() }
    }

    func route(_ stanzas: [Element], accountID: Int64) {
        for stanza in stanzas {
            let page: AsyncStream<Element>.Continuation?
            if stanza.name == "message" {
                guard let queryID = stanza.child("result", namespace: NS.mam)?["queryid"],
                    var open = byQueryID[Key(accountID: accountID, id: queryID)], open.results < Self.resultsPerPageLimit
                else { continue }
                open.results += 1
                byQueryID[Key(accountID: accountID, id: queryID)] = open
                page = open.sink
            } else {
                page = stanza["id"].flatMap { byIQID[Key(accountID: accountID, id: $0)] }
            }
            page?.yield(stanza)
        }
    }
}

/// A pure paging machine the page runner can drive (forwards or backwards).
protocol ArchivePager: Sendable {
    /// The next page's query iq; nil when there is nothing more to ask.
    mutating func nextQuery(iqID: String, queryID: String) -> Element?
    /// Accepts a result of the open page, or says why not.
    mutating func receive(_ message: Element) throws(MAM.ResultError) -> MAM.Result
    /// Judges the reply to the open page's iq; nil when it is not that reply.
    mutating func receivePage(_ iq: Element) -> ArchivePageStep?
}

enum ArchivePageStep: Sendable, Equatable {
    case more
    case done
    case failed(ArchiveCatchUp.CatchUpError)
}

extension ArchiveCatchUp: ArchivePager {
    mutating func receivePage(_ iq: Element) -> ArchivePageStep? {
        switch receiveReply(iq) {
        case nil: nil
        case .fetchNextPage: .more
        case .finished: .done
        case .failed(let error): .failed(error)
        }
    }
}

/// Runs a pager against the live session, one page at a time, and turns archived messages into history rows.
enum ArchivePages {
    enum Outcome: Sendable, Equatable {
        case finished
        case failed(ArchiveCatchUp.CatchUpError)
        /// The link went away, or the archive did not answer in time.
        case interrupted(String)
    }

    static let pageTimeout: Duration = .seconds(30)

    /// Sends each page's query, feeds the page its results and reply in arrival order, then
    /// hands the accepted results to `commit` (with the reply's step, nil when none came)
    /// before asking for the next page.
    static func run<Pager: ArchivePager>(
        _ pager: inout Pager, router: ArchiveRouter, context: FeatureContext, timeout: Duration = pageTimeout,
        commit: ([MAM.Result], Pager, ArchivePageStep?) async -> Void
    ) async -> Outcome {
        let accountID = context.account.rowID
        while true {
            let iqID = ArchiveRouter.iqPrefix + context.nextID()
            let queryID = context.nextID()
            guard let query = pager.nextQuery(iqID: iqID, queryID: queryID) else { return .finished }
            let inbox = await router.open(accountID: accountID, queryID: queryID, iqID: iqID)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                await router.close(accountID: accountID, queryID: queryID, iqID: iqID)
            }
            var results: [MAM.Result] = []
            var step: ArchivePageStep?
            do {
                try await context.send([query])
                for await stanza in inbox {
                    if stanza.name == "iq" {
                        step = pager.receivePage(stanza)
                        if step != nil { break }
                    } else if let result = try? pager.receive(stanza) {
                        results.append(result)
                    }
                }
            } catch {
                step = nil
            }
            timer.cancel()
            await router.close(accountID: accountID, queryID: queryID, iqID: iqID)
            await commit(results, pager, step)
            await context.engine.waitForEventRoom()
            switch step {
            case nil: return .interrupted("no answer from the archive to query \(queryID)")
            case .more: continue
            case .done: return .finished
            case .failed(let error): return .failed(error)
            }
        }
    }

    /// Runs a backwards pager and keeps its pages (newest first) instead of storing them at once.
    static func runBackwards(
        _ pager: inout ArchiveBackfill, router: ArchiveRouter, context: FeatureContext
    ) async -> (pages: [[MAM.Result]], outcome: Outcome) {
        var pages: [[MAM.Result]] = []
        let outcome = await run(&pager, router: router, context: context) { results, _, _ in
            if !results.isEmpty { pages.append(results) }
        }
        return (pages, outcome)
    }

    /// Older pages fetched on demand go *before* everything held, but archive stamps have whole
    /// seconds and history breaks ties by insertion order, so a page from the same second as
    /// our oldest message would sort after it. Stamps that would are moved a millisecond
    /// earlier each, from the newest back: the order is the archive's, the times barely move.
    static func ordered(before boundary: Double?, _ fetched: (pages: [[MAM.Result]], outcome: Outcome))
        -> (pages: [[MAM.Result]], outcome: Outcome)
    {
        guard let boundary else { return fetched }
        var limit = boundary
        var pages = fetched.pages  // newest page first, each page oldest first
        for p in pages.indices {
            for r in pages[p].indices.reversed() {
                let stamp = pages[p][r].timestamp?.timeIntervalSince1970 ?? limit
                if stamp >= limit { pages[p][r].timestamp = Date(timeIntervalSince1970: limit - 0.001) }
                limit = pages[p][r].timestamp?.timeIntervalSince1970 ?? limit
            }
        }
        return (pages, fetched.outcome)
    }

    /// Archive stamps have whole seconds, and history breaks ties by insertion order: pages
    /// fetched backwards go in oldest first, still one transaction each.
    @discardableResult
    static func storeOldestFirst(
        _ fetched: (pages: [[MAM.Result]], outcome: Outcome), support: ArchiveSupport, context: FeatureContext
    ) async throws -> Int {
        var stored = 0
        for page in fetched.pages.reversed() {
            stored += try await store(page, support: support, context: context).count
        }
        return stored
    }

    /// Stores one page in one transaction; returns the rows that were new. Throws when the
    /// Store could not take it: the cursor must then stay where it is.
    @discardableResult
    static func store(_ results: [MAM.Result], support: ArchiveSupport, context: FeatureContext) async throws -> [StoredMessage] {
        let now = Date()
        let accountID = context.account.rowID
        // Our own messages sent through this store's outbox: their archived copies are that row.
        let ownIDs = results.compactMap { StanzaID.originID(of: $0.message) }
        let outbox = try context.store.outboxItems(ids: ownIDs).filter { $0.value.accountID == accountID }
        var rows = results.compactMap { result -> MessageRows.Row? in
            ArchivedMessages.record(
                for: result, account: context.account, ourJID: context.boundJID, stampsStanzaIDs: support.stampsStanzaIDs,
                outboxIDs: Set(outbox.keys), receivedAt: now
            ).map { ($0, result.message) }
        }
        rows = try dropKnownStanzaIDs(rows, context: context)
        let stored = try await MessageRows.commit(rows, context)
        for message in stored.changed { await context.emit(.message(message)) }
        return stored.inserted
    }

    /// Copies whose only dedup key is a content hash (the sender gave no ids) match their live
    /// copy through the archive's stanza-id instead, which the live copy recorded.
    private static func dropKnownStanzaIDs(_ rows: [MessageRows.Row], context: FeatureContext) throws -> [MessageRows.Row] {
        let hashed = rows.map(\.record).filter { $0.dedupKey.hasPrefix("h:") && $0.stanzaID != nil }
        guard !hashed.isEmpty else { return rows }
        var known: Set<String> = []
        for (conversation, group) in Dictionary(grouping: hashed, by: \.conversation) {
            let ids = group.compactMap(\.stanzaID)
            known.formUnion(try context.store.knownStanzaIDs(accountID: context.account.rowID, conversation: conversation, among: ids))
        }
        return rows.filter { row in
            guard row.record.dedupKey.hasPrefix("h:"), let id = row.record.stanzaID else { return true }
            return !known.contains(id)
        }
    }
}

/// Archived messages as history rows: exactly the row the same message made when it came live,
/// so the UNIQUE (conversation, dedup key) index keeps one of each.
enum ArchivedMessages {
    /// The row for an archived chat or normal message with a body; nil for anything else.
    ///
    /// - Incoming: `IncomingMessages.record`, with the archive's time (XEP-0203 in `<forwarded/>`).
    /// - Ours, sent through this store's outbox (its origin-id is in `outboxIDs`): the outbox
    ///   row's key (the outbox id itself), so the copy is that row.
    /// - Ours, sent from another client: the key a XEP-0280 sent copy gets.
    ///
    /// The archive id is recorded as the stanza-id only when the archive says it stamps them.
    static func record(
        for result: MAM.Result, account: Account, ourJID: JID, stampsStanzaIDs: Bool, outboxIDs: Set<String>,
        receivedAt: Date
    ) -> StoredMessage? {
        let original = result.message
        let message = Message(original)
        let timestamp = result.timestamp ?? Delay.timestamp(of: original) ?? receivedAt
        let stanzaID = stampsStanzaIDs ? result.archiveID : nil
        // A message without `from` in our own archive was written by the account itself.
        let sender = message.from ?? ourJID.bare
        guard sender.bare == ourJID.bare else {
            guard var record = IncomingMessages.record(for: original, account: account, ourJID: ourJID, receivedAt: timestamp)
            else { return nil }
            record.receivedAt = receivedAt.timeIntervalSince1970
            record.stanzaID = stanzaID
            return record
        }
        guard message.kind == .chat || message.kind == .normal,
            let body = message.body, !body.isEmpty,
            let to = message.to, to.bare != ourJID.bare
        else { return nil }
        let originID = StanzaID.originID(of: original)
        let dedupKey: String
        if let originID, outboxIDs.contains(originID) {
            dedupKey = originID
        } else {
            dedupKey = IncomingMessages.dedupKey(from: sender, id: message.id, originID: originID, body: body, timestamp: timestamp)
        }
        return HistoryEdits.marking(StoredMessage(
            accountID: account.rowID, conversation: to.bare.description, direction: .outgoing,
            type: message.kind == .chat ? "chat" : "normal", sender: sender.description, recipient: to.description,
            body: body, timestamp: timestamp.timeIntervalSince1970, receivedAt: receivedAt.timeIntervalSince1970,
            stanzaKey: message.id, originID: originID, stanzaID: stanzaID, dedupKey: dedupKey, isRead: true), from: original)
    }
}
