import Foundation
import Store
import Testing
@testable import Sync
@testable import XMPP

/// XEP-0313 catch-up on a session: archived copies become the rows live copies made (no
/// duplicates), forged results go nowhere, and backwards paging keeps its cursors right.
@Suite struct ArchiveFeatureTests {
    let me = try! JID("alice@example.org/tern.t")
    var archive: MAM.Archive { .account(me.bare) }

    func message(_ attributes: [String: String], _ children: [Element]) -> Element {
        Element("message", namespace: NS.client, attributes: attributes, elements: children)
    }

    func body(_ text: String) -> Element { Element("body", namespace: NS.client, elements: [], text: text) }

    /// `original` as our archive delivers it for query `queryID` (XEP-0313 §4.2).
    func archived(_ original: Element, id: String, queryID: String = "q1", from: String? = nil,
                  stamp: String = "2024-05-06T07:08:09.250Z") -> Element {
        var attributes = ["to": me.description, "id": "r-\(id)"]
        if let from { attributes["from"] = from }
        let forwarded = Element("forwarded", namespace: NS.forward, elements: [
            Element("delay", namespace: NS.delay, attributes: ["stamp": stamp]), original,
        ])
        return message(attributes, [Element("result", namespace: NS.mam, attributes: ["queryid": queryID, "id": id], elements: [forwarded])])
    }

    func result(_ original: Element, id: String, stamp: String = "2024-05-06T07:08:09.250Z") throws -> MAM.Result {
        try MAM.result(archived(original, id: id, stamp: stamp), of: MAM.Query(archive: archive, queryID: "q1"))
    }

    func fin(_ iqID: String, complete: Bool, first: String?, last: String?, from: String? = nil) -> Element {
        var set: [Element] = []
        if let first { set.append(Element("first", namespace: NS.rsm, elements: [], text: first)) }
        if let last { set.append(Element("last", namespace: NS.rsm, elements: [], text: last)) }
        var attributes = ["type": "result", "id": iqID]
        if let from { attributes["from"] = from }
        return Element("iq", namespace: NS.client, attributes: attributes, elements: [
            Element("fin", namespace: NS.mam, attributes: ["complete": complete ? "true" : "false"], elements: [
                Element("set", namespace: NS.rsm, elements: set)
            ])
        ])
    }

    func fromBob(_ text: String, id: String? = "b1", originID: String? = nil) -> Element {
        var attributes = ["from": "bob@example.org/phone", "to": me.description, "type": "chat"]
        if let id { attributes["id"] = id }
        return message(attributes, [body(text)] + (originID.map { [StanzaID.originID($0)] } ?? []))
    }

    func session() throws -> (Store, Account, FeatureContext) {
        let store = try Store(directory: NSTemporaryDirectory() + "tern-archive-\(UUID().uuidString)")
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "tern.t", createdAt: Store.now), credential: nil)
        let context = FeatureContext(
            store: store, account: account, boundJID: me, engine: SyncEngine(store: store, account: account), gate: SerialGate())
        return (store, account, context)
    }

    let stampsIDs = ArchiveSupport(available: true, stampsStanzaIDs: true)

    // MARK: - Our own messages

    @Test func store__archived_copy_of_our_outbox_message__is_that_row() async throws {
        let (store, account, context) = try session()
        let item = try Outbox.enqueueChat(store: store, account: account, to: "bob@example.org", body: "see you at 8")
        // The archive keeps what we sent, with our full JID stamped as `from`.
        let sent = message(
            ["from": me.description, "to": "bob@example.org", "type": "chat", "id": item.id],
            [body("see you at 8"), StanzaID.originID(item.id)])
        let inserted = try await ArchivePages.store([try result(sent, id: "A1")], support: stampsIDs, context: context)
        #expect(inserted.isEmpty)
        let history = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(history.count == 1)
        #expect(history.first?.message.outboxID == item.id)
        #expect(history.first?.message.direction == .outgoing)
    }

    @Test func record__our_message_from_another_client__is_outgoing_in_the_peers_conversation() throws {
        let (_, account, _) = try session()
        let sent = message(
            ["from": "alice@example.org/phone", "to": "bob@example.org/desk", "type": "chat", "id": "p1"],
            [body("from my phone"), StanzaID.originID("orig-7")])
        let record = try #require(ArchivedMessages.record(
            for: try result(sent, id: "A2"), account: account, ourJID: me, stampsStanzaIDs: true, outboxIDs: [], receivedAt: Date()))
        #expect(record.direction == .outgoing)
        #expect(record.conversation == "bob@example.org")
        #expect(record.sender == "alice@example.org/phone")
        // The key a XEP-0280 sent copy of the same message gets.
        #expect(record.dedupKey == "o:orig-7")
        #expect(record.stanzaID == "A2")
        #expect(record.isRead)
        // To ourselves is no conversation.
        let toSelf = message(["from": me.description, "to": "alice@example.org", "type": "chat"], [body("note")])
        #expect(ArchivedMessages.record(
            for: try result(toSelf, id: "A3"), account: account, ourJID: me, stampsStanzaIDs: true, outboxIDs: [], receivedAt: Date()) == nil)
    }

    // MARK: - Incoming messages

    @Test func store__archived_copy_of_a_live_message__is_not_stored_twice() async throws {
        let (store, account, context) = try session()
        let withOrigin = fromBob("one", id: "b1", originID: "o-1")
        let withIDOnly = fromBob("two", id: "b2")
        let live = [withOrigin, withIDOnly].compactMap {
            IncomingMessages.record(for: $0, account: account, ourJID: me, receivedAt: Date())
        }
        #expect(try store.insertMessages(live).count == 2)
        let fresh = fromBob("three", id: "b3")
        let inserted = try await ArchivePages.store(
            [try result(withOrigin, id: "A1"), try result(withIDOnly, id: "A2"), try result(fresh, id: "A3")],
            support: stampsIDs, context: context)
        #expect(inserted.map(\.body) == ["three"])
        // One row each; the archived one sorts by the archive's (older) time.
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").map(\.message.body) == ["three", "one", "two"])
    }

    @Test func store__message_without_sender_ids__matches_its_live_copy_by_trusted_stanza_id() async throws {
        let (store, account, context) = try session()
        // No id, no origin-id: the live copy's key is a hash of its (live) time; the server stamped a stanza-id.
        let live = message(
            ["from": "bob@example.org/phone", "to": me.description, "type": "chat"],
            [body("bare"), Element("stanza-id", namespace: NS.sid, attributes: ["by": "alice@example.org", "id": "A9"])])
        let liveRecord = try #require(IncomingMessages.record(for: live, account: account, ourJID: me, receivedAt: Date()))
        #expect(try store.insertMessages([liveRecord]).count == 1)
        let archivedCopy = message(["from": "bob@example.org/phone", "to": me.description, "type": "chat"], [body("bare")])
        // Without the archive's word that it stamps ids, the id proves nothing: the copy gets in.
        let untrusted = try await ArchivePages.store(
            [try result(archivedCopy, id: "A9", stamp: "2020-01-01T00:00:00Z")],
            support: ArchiveSupport(available: true), context: context)
        #expect(untrusted.count == 1)
        let (store2, account2, context2) = try session()
        let liveRecord2 = try #require(IncomingMessages.record(for: live, account: account2, ourJID: me, receivedAt: Date()))
        #expect(try store2.insertMessages([liveRecord2]).count == 1)
        let trusted = try await ArchivePages.store(
            [try result(archivedCopy, id: "A9", stamp: "2020-01-01T00:00:00Z")], support: stampsIDs, context: context2)
        #expect(trusted.isEmpty)
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").count == 2)
    }

    @Test func record__incoming_keeps_the_archive_time_and_its_stanza_id_only_when_stamped() throws {
        let (_, account, _) = try session()
        let archivedResult = try result(fromBob("old news", id: "b7"), id: "A7", stamp: "2024-05-06T07:08:09.250Z")
        let record = try #require(ArchivedMessages.record(
            for: archivedResult, account: account, ourJID: me, stampsStanzaIDs: true, outboxIDs: [], receivedAt: Date()))
        #expect(record.direction == .incoming)
        #expect(record.conversation == "bob@example.org")
        #expect(record.timestamp == 1_714_979_289.25)
        #expect(record.dedupKey == "i:bob@example.org/b7")
        #expect(record.stanzaID == "A7")
        let unstamped = try #require(ArchivedMessages.record(
            for: archivedResult, account: account, ourJID: me, stampsStanzaIDs: false, outboxIDs: [], receivedAt: Date()))
        #expect(unstamped.stanzaID == nil)
        #expect(unstamped.dedupKey == record.dedupKey)
    }

    // MARK: - Trust

    @Test func router__claims_results_and_our_replies_only() {
        #expect(ArchiveRouter.isArchiveTraffic(archived(fromBob("x"), id: "A1")))
        #expect(ArchiveRouter.isArchiveTraffic(fin("mam-1", complete: true, first: nil, last: nil)))
        #expect(!ArchiveRouter.isArchiveTraffic(fromBob("plain")))
        #expect(!ArchiveRouter.isArchiveTraffic(fin("other-1", complete: true, first: nil, last: nil)))
        let request = Element("iq", namespace: NS.client, attributes: ["type": "set", "id": "mam-2"])
        #expect(!ArchiveRouter.isArchiveTraffic(request))
    }

    @Test func router__drops_results_for_no_open_page_or_another_account() async throws {
        let router = ArchiveRouter()
        let inbox = await router.open(accountID: 1, queryID: "q1", iqID: "mam-1")
        await router.route([
            archived(fromBob("forged queryid"), id: "F1", queryID: "guess"),
            archived(fromBob("genuine"), id: "G1", queryID: "q1"),
            fin("mam-9", complete: true, first: nil, last: nil),
            fin("mam-1", complete: true, first: "G1", last: "G1"),
        ], accountID: 1)
        // The same ids on another account's session reach nothing.
        await router.route([archived(fromBob("cross"), id: "X1", queryID: "q1")], accountID: 2)
        await router.close(accountID: 1, queryID: "q1", iqID: "mam-1")
        // Late: the page is closed.
        await router.route([archived(fromBob("late"), id: "L1", queryID: "q1")], accountID: 1)
        var seen: [String] = []
        for await stanza in inbox {
            seen.append(stanza.child("result", namespace: NS.mam)?["id"] ?? stanza["id"] ?? "?")
        }
        #expect(seen == ["G1", "mam-1"])
    }

    @Test func router__a_page_past_its_limit_drops_the_surplus_results_but_not_the_reply() async throws {
        let router = ArchiveRouter()
        let inbox = await router.open(accountID: 1, queryID: "q1", iqID: "mam-1")
        let flood = (0..<(ArchiveRouter.resultsPerPageLimit + 50)).map { archived(fromBob("n\($0)"), id: "A\($0)", queryID: "q1") }
        await router.route(flood + [fin("mam-1", complete: true, first: "A0", last: "A1")], accountID: 1)
        await router.close(accountID: 1, queryID: "q1", iqID: "mam-1")
        var results = 0
        var replies = 0
        for await stanza in inbox {
            if stanza.name == "message" { results += 1 } else { replies += 1 }
        }
        #expect(results == ArchiveRouter.resultsPerPageLimit)
        #expect(replies == 1)
    }

    @Test func pager__forged_sender_or_queryid__rejected_and_not_counted() throws {
        var pager = ArchiveBackfill(archive: archive, limit: 10, pageSize: 5)
        #expect(throws: MAM.ResultError.unknownQuery("q1")) { try pager.receive(archived(fromBob("early"), id: "E")) }
        #expect(pager.nextQuery(iqID: "mam-1", queryID: "q1") != nil)
        #expect(throws: MAM.ResultError.wrongSender(from: "mallory@evil.example")) {
            try pager.receive(archived(fromBob("forged"), id: "F", from: "mallory@evil.example"))
        }
        #expect(throws: MAM.ResultError.unknownQuery("q0")) { try pager.receive(archived(fromBob("stale"), id: "S", queryID: "q0")) }
        #expect(try pager.receive(archived(fromBob("ok"), id: "G", from: "alice@example.org")).archiveID == "G")
        #expect(pager.resultCount == 1)
        // A fin from anyone but our account is not the reply.
        #expect(pager.receivePage(fin("mam-1", complete: true, first: "G", last: "G", from: "mallory@evil.example")) == nil)
        #expect(pager.receivePage(fin("mam-1", complete: true, first: "G", last: "G")) == .done)
    }

    @Test func run__without_a_link__ends_interrupted_without_hanging() async throws {
        let (_, _, context) = try session()
        let router = ArchiveRouter()
        var pager = ArchiveBackfill(archive: archive, limit: 10)
        var commits = 0
        let outcome = await ArchivePages.run(&pager, router: router, context: context, timeout: .seconds(5)) { results, _, step in
            commits += 1
            #expect(results.isEmpty)
            #expect(step == nil)
        }
        guard case .interrupted = outcome else {
            Issue.record("expected .interrupted, got \(outcome)")
            return
        }
        #expect(commits == 1)
    }

    // MARK: - Paging bookkeeping

    @Test func backfill__pages_backwards_from_the_newest_until_the_limit() throws {
        var pager = ArchiveBackfill(archive: archive, filter: MAM.Filter(start: Date(timeIntervalSince1970: 0)), limit: 5, pageSize: 2)
        func page(_ n: Int, ids: [String], complete: Bool) throws -> (Element, ArchivePageStep?) {
            let sent = pager.nextQuery(iqID: "mam-\(n)", queryID: "q\(n)")
            let iq = try #require(sent)
            for id in ids { _ = try pager.receive(archived(fromBob(id), id: id, queryID: "q\(n)")) }
            return (try #require(iq.child("query", namespace: NS.mam)), pager.receivePage(fin("mam-\(n)", complete: complete, first: ids.first, last: ids.last)))
        }
        func set(_ query: Element) -> (max: String?, before: String?) {
            let set = query.child("set", namespace: NS.rsm)
            return (set?.childText("max", namespace: NS.rsm), set?.childText("before", namespace: NS.rsm))
        }
        let (q1, s1) = try page(1, ids: ["a9", "a10"], complete: false)
        // The first page is the newest: an empty <before/>.
        #expect(set(q1).max == "2")
        #expect(set(q1).before == "")
        #expect(s1 == .more)
        #expect(pager.newestID == "a10")
        #expect(pager.cursor == "a9")
        let (q2, s2) = try page(2, ids: ["a7", "a8"], complete: false)
        #expect(set(q2).before == "a9")
        #expect(s2 == .more)
        // One left before the limit: the page shrinks to it.
        let (q3, s3) = try page(3, ids: ["a6"], complete: false)
        #expect(set(q3).max == "1")
        #expect(s3 == .done)
        #expect(pager.resultCount == 5)
        #expect(pager.newestID == "a10")
        #expect(pager.oldestID == "a6")
        #expect(!pager.reachedStart)
        #expect(pager.nextQuery(iqID: "mam-4", queryID: "q4") == nil)
    }

    @Test func backfill__complete_marks_the_start_and_a_stuck_page_fails() throws {
        var done = ArchiveBackfill(archive: archive, before: "c5", limit: 50)
        let sent = done.nextQuery(iqID: "mam-1", queryID: "q1")
        let iq = try #require(sent)
        #expect(iq.child("query", namespace: NS.mam)?.child("set", namespace: NS.rsm)?.childText("before", namespace: NS.rsm) == "c5")
        _ = try done.receive(archived(fromBob("c4"), id: "c4"))
        #expect(done.receivePage(fin("mam-1", complete: true, first: "c4", last: "c4")) == .done)
        #expect(done.reachedStart)

        var stuck = ArchiveBackfill(archive: archive, before: "c5", limit: 50)
        _ = stuck.nextQuery(iqID: "mam-1", queryID: "q1")
        #expect(stuck.receivePage(fin("mam-1", complete: false, first: nil, last: nil)) == .failed(.noProgress(cursor: "c5")))

        var gone = ArchiveBackfill(archive: archive, before: "expired", limit: 50)
        _ = gone.nextQuery(iqID: "mam-1", queryID: "q1")
        let error = Element("iq", namespace: NS.client, attributes: ["type": "error", "id": "mam-1"], elements: [
            Element("error", namespace: NS.client, attributes: ["type": "cancel"], elements: [
                Element("item-not-found", namespace: NS.stanzas)
            ])
        ])
        #expect(gone.receivePage(error) == .failed(.unknownArchiveID("expired")))
    }

    @Test func support__read_from_account_disco_info() {
        let query = Element("query", namespace: NS.discoInfo, elements: [NS.mam, NS.sid, MAM.extendedFeature].map {
            Element("feature", namespace: NS.discoInfo, attributes: ["var": $0])
        })
        #expect(ArchiveSupport(discoInfo: query) == ArchiveSupport(available: true, stampsStanzaIDs: true, extended: true))
        let bare = Element("query", namespace: NS.discoInfo, elements: [Element("feature", namespace: NS.discoInfo, attributes: ["var": NS.mam])])
        #expect(ArchiveSupport(discoInfo: bare) == ArchiveSupport(available: true))
    }

    @Test func store__cursor_roundtrip_and_oldest_archive_id() async throws {
        let (store, account, context) = try session()
        #expect(try store.archiveLastID(accountID: account.rowID) == nil)
        try store.setArchiveLastID(accountID: account.rowID, "A5")
        #expect(try store.archiveLastID(accountID: account.rowID) == "A5")
        _ = try await ArchivePages.store(
            [try result(fromBob("newer", id: "n"), id: "A8", stamp: "2024-05-07T00:00:00Z"),
             try result(fromBob("older", id: "o"), id: "A3", stamp: "2024-05-01T00:00:00Z")],
            support: stampsIDs, context: context)
        let cursor = try store.oldestArchiveCursor(accountID: account.rowID, conversation: "bob@example.org")
        #expect(cursor.archiveID == "A3")
        #expect(cursor.timestamp == 1_714_521_600)
        #expect(try store.archiveLastID(accountID: account.rowID) == "A5")
    }
}

/// Older pages fetched on demand must sort before what is held, whole-second stamps or not.
@Suite struct ArchiveOrderingTests {
    private func result(_ id: String, _ stamp: Double) -> MAM.Result {
        MAM.Result(archiveID: id, queryID: "q", message: Element("message", namespace: NS.client),
                   timestamp: Date(timeIntervalSince1970: stamp))
    }

    @Test func ordered__movesStampsThatWouldTie_justBeforeTheBoundary_keepingTheArchivesOrder() {
        // Newest page first, each page oldest first (how backwards paging returns them).
        let pages = [[result("c", 99), result("d", 100), result("e", 100)], [result("a", 98), result("b", 99)]]
        let ordered = ArchivePages.ordered(before: 100, (pages, .finished))
        let stamps = ordered.pages.reversed().flatMap { $0 }.map { $0.timestamp!.timeIntervalSince1970 }
        #expect(stamps == stamps.sorted() && Set(stamps).count == stamps.count, "strictly increasing: \(stamps)")
        #expect(stamps.allSatisfy { $0 < 100 })
        #expect(stamps.first == 98, "what was already earlier stays")
        #expect(ordered.pages.reversed().flatMap { $0 }.map(\.archiveID) == ["a", "b", "c", "d", "e"])
    }

    @Test func ordered__withNothingHeld_changesNothing() {
        let pages = [[result("a", 5), result("b", 5)]]
        #expect(ArchivePages.ordered(before: nil, (pages, .finished)).pages == pages)
    }
}

/// Two engines of one process, on two stores whose accounts have the same row id (the tests
/// run many at once): one losing its link must not end the other's archive pages. It did while
/// the features were shared process-wide, and a room's catch-up then came back empty.
@Suite struct SessionFeatureOwnershipTests {
    @Test func linkLost_inOneEngine__leavesAnotherEnginesPagesOpen() async throws {
        func router(_ features: [any SessionFeature]) throws -> ArchiveRouter {
            try #require(features.compactMap { $0 as? ArchiveFeature }.first).router
        }
        let first = SessionFeatures.make()
        let second = SessionFeatures.make()
        let page = try await router(first).open(accountID: 1, queryID: "q", iqID: "mam-1")
        for feature in second { await feature.linkLost(accountID: 1) }
        let reply = Element("iq", namespace: NS.client, attributes: ["type": "result", "id": "mam-1"])
        try await router(first).route([reply], accountID: 1)
        var iterator = page.makeAsyncIterator()
        #expect(await iterator.next() == reply)
    }
}
