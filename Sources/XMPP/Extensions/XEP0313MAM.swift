import Foundation

/// XEP-0313: Message Archive Management (`urn:xmpp:mam:2`) §4–§5: queries, results, `<fin/>`, and catch-up paging.
///
/// Archived messages arrive as ordinary `<message/>` stanzas, so anyone who can reach us can
/// forge one (DESIGN §6): a result counts only when it comes from the archive we queried,
/// carries the `queryid` we chose, and arrives while that query is open. Paging uses
/// XEP-0059; in v2 the RSM item ids are the archive ids.
public enum MAM {
    /// Advertised by archives that accept `after-id`, `before-id` and `ids` (§4.1.1, §6).
    public static let extendedFeature = "urn:xmpp:mam:2#extended"

    /// Which archive a query goes to (§3).
    public enum Archive: Sendable, Hashable {
        /// Our own account's archive: the query has no `to`, and results come from our bare
        /// JID or carry no `from` (RFC 6120 §8.1.2.1: the account itself).
        case account(JID)
        /// A MUC room's archive, addressed by the room's bare JID.
        case room(JID)

        public var jid: JID {
            switch self {
            case .account(let jid), .room(let jid): jid.bare
            }
        }

        /// The `to` of the query iq; nil for our own archive.
        public var queryTarget: JID? {
            switch self {
            case .account: nil
            case .room(let jid): jid.bare
            }
        }

        /// Whether a stanza with this raw `from` was sent by this archive.
        public func isSender(_ rawFrom: String?) -> Bool {
            guard let rawFrom else {
                if case .account = self { return true }
                return false
            }
            guard let sender = try? JID(rawFrom) else { return false }
            return sender == jid
        }
    }

    /// The data-form filters of §4.1 (`with`, `start`, `end`) and the extended ones of §4.1.1.
    public struct Filter: Sendable, Equatable {
        public var with: JID?
        public var start: Date?
        public var end: Date?
        /// Only items after this archive id; needs `extendedFeature`.
        public var afterID: String?
        /// Only items before this archive id; needs `extendedFeature`.
        public var beforeID: String?

        public init(with: JID? = nil, start: Date? = nil, end: Date? = nil, afterID: String? = nil, beforeID: String? = nil) {
            self.with = with
            self.start = start
            self.end = end
            self.afterID = afterID
            self.beforeID = beforeID
        }

        public var isEmpty: Bool { self == Filter() }

        /// The submitted form: FORM_TYPE first, as XEP-0068 expects, then the set filters.
        public var form: Element {
            var values: [String: [String]] = [:]
            if let with { values["with"] = [with.description] }
            if let start { values["start"] = [MAM.timestamp(start)] }
            if let end { values["end"] = [MAM.timestamp(end)] }
            if let afterID { values["after-id"] = [afterID] }
            if let beforeID { values["before-id"] = [beforeID] }
            let formType = DataForm.Field(variable: "FORM_TYPE", type: .hidden, values: [NS.mam])
            return DataForm(type: .form, fields: [formType]).submission(values)
        }
    }

    /// One query (one page): where it goes, the id echoed in its results, filters and page.
    public struct Query: Sendable, Equatable {
        public var archive: Archive
        public var queryID: String
        public var filter: Filter
        public var page: ResultSet.Request

        public init(archive: Archive, queryID: String, filter: Filter = Filter(), page: ResultSet.Request = ResultSet.Request()) {
            self.archive = archive
            self.queryID = queryID
            self.filter = filter
            self.page = page
        }

        /// `<iq type='set'><query xmlns='urn:xmpp:mam:2' queryid='…'><x/><set/></query></iq>` (§4).
        public func iq(id: String) -> Element {
            var children: [Element] = []
            // §4.1: with no filters the form may be left out; sending FORM_TYPE alone is also valid.
            if !filter.isEmpty { children.append(filter.form) }
            if page != ResultSet.Request() { children.append(page.element) }
            let query = Element("query", namespace: NS.mam, attributes: ["queryid": queryID], elements: children)
            return IQ.request(.set, id: id, to: archive.queryTarget, payload: query)
        }
    }

    /// One archived message delivered by a query (§4.2).
    public struct Result: Sendable, Equatable {
        /// The archive's id for it: the RSM item id, and its stanza-id in that archive.
        public var archiveID: String
        public var queryID: String
        /// The original `<message/>` as archived.
        public var message: Element
        /// When the archive received it (the `<delay/>` in `<forwarded/>`, XEP-0297).
        public var timestamp: Date?

        public init(archiveID: String, queryID: String, message: Element, timestamp: Date?) {
            self.archiveID = archiveID
            self.queryID = queryID
            self.message = message
            self.timestamp = timestamp
        }

        /// What to deduplicate on (DESIGN §6): the archive id when the archive advertises
        /// `urn:xmpp:sid:0` (then it equals the stanza-id live copies carried), else the
        /// sender's origin-id, else nothing.
        public func dedupKey(archiveAdvertisesStanzaID: Bool) -> DedupKey? {
            if archiveAdvertisesStanzaID { return .stanzaID(archiveID) }
            return StanzaID.originID(of: message).map(DedupKey.originID)
        }
    }

    public enum DedupKey: Sendable, Hashable {
        case stanzaID(String)
        case originID(String)
    }

    /// Why a message was not accepted as a result of an open query.
    public enum ResultError: Error, Sendable, Equatable {
        /// It carries no `<result xmlns='urn:xmpp:mam:2'/>`: an ordinary message.
        case notAResult
        /// Sent by someone other than the archive we queried (a forgery).
        case wrongSender(from: String?)
        /// Its `queryid` is not that of the open query (stale, forged, or no query open).
        case unknownQuery(String?)
        /// No `id`, or no `<forwarded><message/></forwarded>` inside.
        case malformed(String)
    }

    /// Whether `message` claims to be a MAM result at all (before any trust check).
    public static func isResult(_ message: Element) -> Bool {
        message.child("result", namespace: NS.mam) != nil
    }

    /// Accepts `message` as a result of the open `query`, or says why not.
    public static func result(_ message: Element, of query: Query) throws(ResultError) -> Result {
        guard message.matches("message", NS.client), let result = message.child("result", namespace: NS.mam) else {
            throw .notAResult
        }
        guard query.archive.isSender(message["from"]) else { throw .wrongSender(from: message["from"]) }
        guard result["queryid"] == query.queryID else { throw .unknownQuery(result["queryid"]) }
        guard let archiveID = result["id"], !archiveID.isEmpty else { throw .malformed("result without id") }
        guard let forwarded = result.child("forwarded", namespace: NS.forward),
              let inner = forwarded.child("message", namespace: NS.client)
        else { throw .malformed("result \(archiveID) without a forwarded message") }
        return Result(archiveID: archiveID, queryID: query.queryID, message: inner, timestamp: Delay.timestamp(of: forwarded))
    }

    /// The `<fin/>` closing a query (§4.2): whether the archive has no more items in
    /// this direction, and the page it sent.
    public struct Fin: Sendable, Equatable {
        public var complete: Bool
        /// False when the archive says ids may yet change (§4.2); then they are not stored.
        public var stable: Bool
        public var page: ResultSet.Reply?

        public init(complete: Bool, stable: Bool = true, page: ResultSet.Reply? = nil) {
            self.complete = complete
            self.stable = stable
            self.page = page
        }

        /// Parses the `<fin/>` of a result iq; nil when there is none.
        public init?(iqResult: Element) {
            guard let fin = iqResult.child("fin", namespace: NS.mam) else { return nil }
            self.init(
                complete: MAM.bool(fin["complete"], default: false),
                stable: MAM.bool(fin["stable"], default: true),
                page: ResultSet.Reply(in: fin))
        }
    }

    /// XEP-0082 DateTime in UTC without fractions, the form every archive accepts.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// xs:boolean (`true`/`1`, `false`/`0`).
    static func bool(_ value: String?, default fallback: Bool) -> Bool {
        switch value {
        case "true", "1": true
        case "false", "0": false
        default: fallback
        }
    }
}

/// Paging forward through an archive to its end (XEP-0313 §4.1.2 with XEP-0059 §2.2):
/// a pure state machine; the caller sends the iqs, the machine judges the replies.
///
/// Each page asks for the items after the last one seen; a `<fin complete='true'/>` ends
/// it. A server that answers "incomplete" without moving forward would loop us forever,
/// so a page that does not advance the cursor stops the catch-up with `.noProgress`.
public struct ArchiveCatchUp: Sendable, Equatable {
    /// Where to resume from.
    public enum Origin: Sendable, Equatable {
        /// After an archive id we stored (the usual case after a new session).
        case afterID(String)
        /// From a time, for a first sync with no stored id.
        case since(Date)
        /// The whole archive.
        case beginning
    }

    public enum State: Sendable, Equatable {
        /// Ready to send the next page's query.
        case ready
        /// A query is out; only its results and its iq reply are accepted.
        case waiting(iqID: String, query: MAM.Query)
        case finished
        case failed(CatchUpError)
    }

    public enum CatchUpError: Error, Sendable, Equatable {
        /// The archive said "not complete" but the page did not move past `cursor`.
        case noProgress(cursor: String?)
        /// The stored id is no longer in the archive (`item-not-found`, §4.1.1): restart from a time.
        case unknownArchiveID(String)
        /// The archive refused the query.
        case queryRefused(StanzaError)
        /// The reply to the query iq was neither a result nor an error, or had no `<fin/>`.
        case malformedFin(String)
    }

    /// What the caller does next after a `<fin/>`.
    public enum Step: Sendable, Equatable {
        /// Call `nextQuery(iqID:queryID:)` and send it.
        case fetchNextPage
        /// The archive is caught up; `lastID` is the id to store (nil if it holds nothing new).
        case finished(lastID: String?)
        case failed(CatchUpError)
    }

    public let archive: MAM.Archive
    public let origin: Origin
    public let pageSize: Int
    public let with: JID?
    /// Put a stored id in the `after-id` field (§4.1.1) rather than RSM `<after/>`;
    /// only for archives advertising `MAM.extendedFeature`.
    public let useExtendedFilters: Bool

    public private(set) var state: State = .ready
    /// The newest archive id seen so far; what the caller persists once results are stored.
    public private(set) var lastID: String?
    /// Results accepted across all pages.
    public private(set) var resultCount = 0
    public private(set) var pageCount = 0
    /// False once any `<fin/>` said `stable='false'`: the ids may change, so don't store `lastID`.
    public private(set) var idsAreStable = true
    /// Results accepted on the open page.
    private var pageResults = 0

    public init(archive: MAM.Archive, from origin: Origin, pageSize: Int = 100, with: JID? = nil, useExtendedFilters: Bool = false) {
        self.archive = archive
        self.origin = origin
        self.pageSize = max(1, pageSize)
        self.with = with
        self.useExtendedFilters = useExtendedFilters
        if case .afterID(let id) = origin { lastID = id }
    }

    /// The query iq for the next page, with fresh ids from the caller; nil unless `.ready`.
    public mutating func nextQuery(iqID: String, queryID: String) -> Element? {
        guard state == .ready else { return nil }
        var filter = MAM.Filter(with: with)
        var page = ResultSet.Request(max: pageSize, after: lastID)
        switch origin {
        case .since(let date): filter.start = date
        case .afterID(let stored) where useExtendedFilters:
            // The filter stays on every page; RSM pages within it from the second page on.
            filter.afterID = stored
            if lastID == stored { page.after = nil }
        case .afterID, .beginning: break
        }
        let query = MAM.Query(archive: archive, queryID: queryID, filter: filter, page: page)
        state = .waiting(iqID: iqID, query: query)
        pageResults = 0
        return query.iq(id: iqID)
    }

    /// Accepts a message as a result of the open query, advancing `lastID`; throws for
    /// forgeries and for results arriving when no query is open.
    public mutating func receive(_ message: Element) throws(MAM.ResultError) -> MAM.Result {
        guard case .waiting(_, let query) = state else {
            guard MAM.isResult(message) else { throw .notAResult }
            throw .unknownQuery(message.child("result", namespace: NS.mam)?["queryid"])
        }
        let result = try MAM.result(message, of: query)
        lastID = result.archiveID
        pageResults += 1
        resultCount += 1
        return result
    }

    /// Consumes the reply to the open query's iq (result with `<fin/>`, or error).
    /// Replies to other iqs, or from anyone but the archive, are ignored (nil).
    public mutating func receiveReply(_ iq: Element) -> Step? {
        guard case .waiting(let iqID, let query) = state,
              iq.matches("iq", NS.client), iq["id"] == iqID, archive.isSender(iq["from"]),
              let reply = IQ(iq)
        else { return nil }
        let cursor = query.page.after ?? query.filter.afterID
        switch reply.kind {
        case .error:
            let error = reply.error ?? StanzaError(type: "cancel", condition: "undefined-condition")
            if error.condition == "item-not-found", let cursor {
                return fail(.unknownArchiveID(cursor))
            }
            return fail(.queryRefused(error))
        case .result:
            guard let fin = MAM.Fin(iqResult: iq) else { return fail(.malformedFin("result without <fin/>")) }
            pageCount += 1
            if !fin.stable { idsAreStable = false }
            // The fin's <last/> is the authoritative cursor; results may have been filtered out.
            if let last = fin.page?.last { lastID = last }
            if fin.complete {
                state = .finished
                return .finished(lastID: lastID)
            }
            guard pageResults > 0, let last = lastID, last != cursor else {
                return fail(.noProgress(cursor: cursor))
            }
            state = .ready
            return .fetchNextPage
        case .get, .set:
            return fail(.malformedFin("reply of type \(reply.kind.rawValue)"))
        }
    }

    private mutating func fail(_ error: CatchUpError) -> Step {
        state = .failed(error)
        return .failed(error)
    }
}
