import Foundation
import GRDB

/// Ranked full-text search over history (DESIGN §7 "Search"; SQLite FTS5 §4.2 `snippet()`).
///
/// Ranking every match is what costs: FTS5's own `ORDER BY rank` scores all of them, and its
/// bm25 first counts every row holding each phrase (260 ms for a common-word phrase at 1M
/// rows). So the work is bounded: FTS5 walks its doclists newest first (`ORDER BY rowid DESC`)
/// and stops at the newest `candidateCount` matches that pass the filters; only those are
/// scored, by Okapi BM25 computed here (document frequencies taken within the candidates,
/// which is what orders them against each other) blended with recency. Only the hits shown
/// get a `snippet()`.
public struct SearchFilters: Sendable, Equatable {
    /// The conversation (bare JID of a contact or a room).
    public var conversation: String?
    /// The sender's bare JID; in rooms, the occupant's real JID when the room revealed it.
    public var sender: String?
    /// Unix seconds: only messages at or after / strictly before.
    public var after: Double?
    public var before: Double?
    public var limit: Int

    public init(conversation: String? = nil, sender: String? = nil, after: Double? = nil, before: Double? = nil, limit: Int = 20) {
        self.conversation = conversation
        self.sender = sender
        self.after = after
        self.before = before
        self.limit = limit
    }
}

/// One search result: the message, its snippet with the matches marked, and its score.
public struct SearchHit: Sendable, Equatable {
    public var entry: HistoryEntry
    public var snippet: [SnippetPart]
    /// Higher is better: BM25 relevance times a recency boost between 1 and 2.
    public var rank: Double
}

/// A run of snippet text, matched (to highlight) or not.
public struct SnippetPart: Sendable, Equatable {
    public var text: String
    public var isMatch: Bool

    public init(_ text: String, isMatch: Bool) {
        self.text = text
        self.isMatch = isMatch
    }
}

extension Store {
    /// How many of the newest matches are ranked; the bound on each query's work.
    public static let searchCandidateCount = 200
    /// Words of context `snippet()` keeps around the matches.
    static let snippetTokens = 12

    /// The best `filters.limit` hits for `query`, best first. `now` is the recency reference.
    /// What is stored is what is found: the trailing index is caught up first.
    public func search(accountID: Int64, query: SearchQuery, filters: SearchFilters, now: Double = Store.now) throws -> [SearchHit] {
        guard filters.limit > 0 else { return [] }
        try catchUpSearchIndex()
        return try read { db in
            let candidates = try Self.searchCandidates(db, accountID: accountID, query: query, filters: filters)
            let ranked = SearchRanking.rank(candidates.map(\.entry.message), terms: query.positiveTerms, now: now)
            return try ranked.prefix(filters.limit).map { scored in
                let candidate = candidates[scored.index]
                return SearchHit(entry: candidate.entry, snippet: try Self.snippet(db, query: query, candidate: candidate), rank: scored.rank)
            }
        }
    }

    /// A candidate with the snippet FTS5 made while it stood on the row, markers still in.
    struct SearchCandidate {
        let entry: HistoryEntry
        let markedSnippet: String
    }

    /// The newest matches passing the filters, each with its snippet: made here, while FTS5
    /// stands on the row, a snippet costs a few microseconds; asked for later by rowid it costs
    /// a fresh seek through every term's doclist. FTS5 drives the join (CROSS JOIN keeps SQLite
    /// from turning it around), so the walk stops as soon as enough rows pass.
    ///
    /// The walk is bounded by the filters inside FTS5 (migration 0015): the conversation and
    /// sender as `meta` terms ANDed into the MATCH, so FTS5 skips to the rows holding them; a
    /// time window as the rowid ranges that can hold it, walked newest first. Both only narrow
    /// the walk to a superset of the rows that pass: every filter is still checked on the row.
    static func searchCandidates(_ db: Database, accountID: Int64, query: SearchQuery, filters: SearchFilters) throws -> [SearchCandidate] {
        let match = try SearchFilterTerms.matchExpression(db, accountID: accountID, query: query, filters: filters)
        var candidates: [SearchCandidate] = []
        for range in try SearchFilterTerms.rowidRanges(db, after: filters.after, before: filters.before) {
            let wanted = searchCandidateCount - candidates.count
            guard wanted > 0 else { break }
            candidates += try searchCandidates(db, accountID: accountID, match: match, filters: filters, rowids: range, limit: wanted)
        }
        return candidates
    }

    /// One walk: the newest `limit` matches within `rowids` (all rows when nil) passing the filters.
    private static func searchCandidates(
        _ db: Database, accountID: Int64, match: String, filters: SearchFilters, rowids: ClosedRange<Int64>?, limit: Int
    ) throws -> [SearchCandidate] {
        var conditions = ["message_fts MATCH ?", "message.account_id = ?"]
        var arguments: [(any DatabaseValueConvertible)?] = [
            String(SnippetMarkers.open), String(SnippetMarkers.close), snippetTokens, match, accountID,
        ]
        if let rowids {
            conditions.append("message_fts.rowid BETWEEN ? AND ?")
            arguments += [rowids.lowerBound, rowids.upperBound]
        }
        if let conversation = filters.conversation {
            conditions.append("message.conversation = ?")
            arguments.append(conversation)
        }
        if let after = filters.after {
            conditions.append("message.timestamp >= ?")
            arguments.append(after)
        }
        if let before = filters.before {
            conditions.append("message.timestamp < ?")
            arguments.append(before)
        }
        if let sender = filters.sender {
            // A bare JID matches itself and any of its resources; in a room, the occupant's real
            // JID stands in for the room/nick address when the room told us (XEP-0045 §7.2.3).
            conditions.append("""
                (message.sender = ?1 OR substr(message.sender, 1, length(?1) + 1) = ?1 || '/'
                 OR (message.type = 'groupchat' AND EXISTS (
                     SELECT 1 FROM occupant
                     WHERE occupant.account_id = message.account_id AND occupant.room = message.conversation
                       AND occupant.nick = message.nick
                       AND (occupant.real_jid = ?1 OR substr(occupant.real_jid, 1, length(?1) + 1) = ?1 || '/'))))
                """.replacingOccurrences(of: "?1", with: "?\(arguments.count + 1)"))
            arguments.append(sender)
        }
        arguments.append(limit)
        let sql = """
            SELECT message.*, outbox.state AS outbox_state, snippet(message_fts, 0, ?, ?, '…', ?) AS marked_snippet
            FROM message_fts CROSS JOIN message ON message.id = message_fts.rowid
            LEFT JOIN outbox ON outbox.id = message.outbox_id
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY message_fts.rowid DESC
            LIMIT ?\(arguments.count)
            """
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
            SearchCandidate(entry: try HistoryEntry(row: row), markedSnippet: row["marked_snippet"] ?? "")
        }
    }

    /// The snippet in parts. A body holding the usual markers itself (hostile, or pasted)
    /// gets its snippet again with markers it does not contain, so its text cannot forge a match.
    static func snippet(_ db: Database, query: SearchQuery, candidate: SearchCandidate) throws -> [SnippetPart] {
        let message = candidate.entry.message
        let usual = message.body.unicodeScalars.allSatisfy { $0 != SnippetMarkers.open && $0 != SnippetMarkers.close }
        if usual {
            return SnippetMarkers.split(candidate.markedSnippet, open: SnippetMarkers.open, close: SnippetMarkers.close)
        }
        guard let id = message.id, let (open, close) = SnippetMarkers.choose(avoiding: message.body) else {
            return [SnippetPart(message.body, isMatch: false)]
        }
        let text = try String.fetchOne(
            db,
            sql: "SELECT snippet(message_fts, 0, ?, ?, '…', ?) FROM message_fts WHERE message_fts MATCH ? AND rowid = ?",
            arguments: [String(open), String(close), snippetTokens, SearchFilterTerms.bodyExpression(query), id])
        return SnippetMarkers.split(text ?? message.body, open: open, close: close)
    }
}

/// Marker characters for `snippet()` and the split back into parts.
enum SnippetMarkers {
    /// The usual pair: private-use characters, which no ordinary message holds.
    static let open: Unicode.Scalar = "\u{E000}"
    static let close: Unicode.Scalar = "\u{E001}"

    /// The first pair of private-use characters (U+E000…) that the text does not contain;
    /// nil for a text holding nearly all of them, which is then shown without highlight.
    static func choose(avoiding text: String) -> (Unicode.Scalar, Unicode.Scalar)? {
        var present = Set<UInt32>()
        for scalar in text.unicodeScalars where (0xE000...0xF8FF).contains(scalar.value) {
            present.insert(scalar.value)
        }
        var free = (UInt32(0xE000)...0xF8FF).lazy.filter { !present.contains($0) }.makeIterator()
        guard let open = free.next().flatMap(Unicode.Scalar.init), let close = free.next().flatMap(Unicode.Scalar.init) else {
            return nil
        }
        return (open, close)
    }

    static func split(_ snippet: String, open: Unicode.Scalar, close: Unicode.Scalar) -> [SnippetPart] {
        var parts: [SnippetPart] = []
        var current = String.UnicodeScalarView()
        var inMatch = false
        func flush() {
            if !current.isEmpty { parts.append(SnippetPart(String(current), isMatch: inMatch)) }
            current = String.UnicodeScalarView()
        }
        for scalar in snippet.unicodeScalars {
            if scalar == open, !inMatch {
                flush()
                inMatch = true
            } else if scalar == close, inMatch {
                flush()
                inMatch = false
            } else {
                current.append(scalar)
            }
        }
        flush()
        return parts
    }
}
