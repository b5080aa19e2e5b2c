import GRDB

/// Search filters as bounds on FTS5's own walk (migration 0015; SQLite FTS5 §3.6 column
/// filters, and FTS5's handling of `rowid` range constraints).
///
/// A filter checked only on each joined row lets the walk run through every newer match that
/// fails it. Here each filter first becomes something FTS5 applies while walking its doclists:
/// the conversation and sender as `meta` terms ANDed into the MATCH (FTS5 skips to the rows
/// holding both), and a time window as the rowid ranges of the blocks that can hold a row
/// inside it. Each is a superset of the rows the filter passes, never a subset, so the row
/// check that follows keeps the results exact.
enum SearchFilterTerms {
    /// `message_time_block.block` is `id >> blockShift` (migration 0015).
    static let blockShift: Int64 = 10
    /// Each range is one more FTS5 query; past this many, the closest ones are merged.
    static let maximumRanges = 32
    /// A sender seen in more rooms than this is narrowed by the row check alone (the MATCH
    /// would grow one term per room).
    static let maximumSenderRooms = 64

    /// The user's query held to the `body` column, so no word can match a `meta` term.
    static func bodyExpression(_ query: SearchQuery) -> String {
        "body : (\(query.expression))"
    }

    /// The MATCH expression: the filter terms first (FTS5 advances the rarer side through the
    /// other's doclist), then the query.
    static func matchExpression(_ db: Database, accountID: Int64, query: SearchQuery, filters: SearchFilters) throws -> String {
        var parts: [String] = []
        if let conversation = filters.conversation {
            parts.append("meta : " + conversationTerm(conversation))
        }
        if let sender = filters.sender, let terms = try senderTerms(db, accountID: accountID, sender: sender) {
            parts.append("meta : (" + terms.joined(separator: " OR ") + ")")
        }
        parts.append(bodyExpression(query))
        return parts.map { "(\($0))" }.joined(separator: " AND ")
    }

    /// The term every row of `conversation` carries: `c` and the hex of its UTF-8, as the
    /// view `message_search_source` writes it (SQLite's `hex()` is uppercase; the tokenizer
    /// folds both sides alike).
    static func conversationTerm(_ conversation: String) -> String {
        "\"c" + hex(conversation) + "\""
    }

    /// Terms covering every row the sender filter passes: the bare JID of `sender` (a row
    /// from `sender` or one of its resources has the same bare JID, whether `sender` names a
    /// resource or not), and each room where an occupant's real JID matches (the filter's
    /// groupchat case). Nil when that would take too many rooms.
    static func senderTerms(_ db: Database, accountID: Int64, sender: String) throws -> [String]? {
        let rooms = try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT room FROM occupant
                WHERE account_id = ?1 AND (real_jid = ?2 OR substr(real_jid, 1, length(?2) + 1) = ?2 || '/')
                """,
            arguments: [accountID, sender])
        guard rooms.count <= maximumSenderRooms else { return nil }
        return ["\"s" + hex(bareJID(sender)) + "\""] + rooms.map(conversationTerm)
    }

    /// Everything before the first `/`, by Unicode scalars like SQLite's `instr`/`substr`.
    static func bareJID(_ jid: String) -> String {
        String(String.UnicodeScalarView(jid.unicodeScalars.prefix { $0 != "/" }))
    }

    private static func hex(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 2)
        for byte in text.utf8 {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The rowid ranges to walk, newest first: one unbounded walk (nil) without a time filter;
    /// otherwise the runs of blocks whose timestamps can fall inside the window, which may be
    /// none. A block's least and greatest timestamps cover every row in it, however late an
    /// old message arrived, so no row inside the window lies outside the ranges.
    static func rowidRanges(_ db: Database, after: Double?, before: Double?) throws -> [ClosedRange<Int64>?] {
        guard after != nil || before != nil else { return [nil] }
        var conditions = ["1"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let after {
            conditions.append("max_timestamp >= ?")
            arguments.append(after)
        }
        if let before {
            conditions.append("min_timestamp < ?")
            arguments.append(before)
        }
        let blocks = try Int64.fetchAll(
            db, sql: "SELECT block FROM message_time_block WHERE \(conditions.joined(separator: " AND ")) ORDER BY block DESC",
            arguments: StatementArguments(arguments))
        return mergedRuns(blocks).map { run in
            (run.lowerBound << blockShift)...((run.upperBound << blockShift) | ((1 << blockShift) - 1))
        }
    }

    /// Blocks (descending) as runs of consecutive blocks, newest first; past `maximumRanges`,
    /// the runs separated by the smallest gaps are joined (walking a gap costs time, never rows).
    static func mergedRuns(_ blocks: [Int64]) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for block in blocks {
            if let last = runs.last, last.lowerBound == block + 1 {
                runs[runs.count - 1] = block...last.upperBound
            } else {
                runs.append(block...block)
            }
        }
        guard runs.count > maximumRanges else { return runs }
        // gaps[i] lies between runs[i] and the older runs[i + 1].
        let gaps = zip(runs, runs.dropFirst()).map { newer, older in newer.lowerBound - older.upperBound }
        let threshold = gaps.sorted()[runs.count - maximumRanges - 1]
        var merged = [runs[0]]
        for (older, gap) in zip(runs.dropFirst(), gaps) {
            if gap <= threshold {
                merged[merged.count - 1] = older.lowerBound...merged[merged.count - 1].upperBound
            } else {
                merged.append(older)
            }
        }
        return merged
    }
}
