/// The search query language, parsed into a safe SQLite FTS5 MATCH expression
/// (https://sqlite.org/fts5.html §3, "Full-text Query Syntax").
///
/// Users type what web search taught them: words (all must match), `"exact phrases"`,
/// `prefix*`, `-exclude`, and `OR` between two terms. Every term reaches FTS5 as a quoted
/// string, so no user text is ever FTS5 syntax (`NEAR`, `:`, `^`, `(`, a stray `"` or `*`
/// are just characters); the operators are ours. Case and diacritics are folded by the
/// table's tokenizer (`unicode61 remove_diacritics 2`), not here.
///
/// `OR` binds tighter than the implied AND: `cafe OR tea paris` is `(cafe OR tea) AND paris`.
public struct SearchQuery: Sendable, Equatable {
    /// One term: a word (one or more tokens once the tokenizer splits it) or a phrase.
    public struct Term: Sendable, Equatable {
        /// The text between the quotes, with `"` and control characters already removed.
        public var text: String
        /// Matches any token starting with the last token (`word*`).
        public var isPrefix: Bool

        /// The term as an FTS5 string: `"text"` or `"text"*`.
        var fts5: String { "\"\(text)\"" + (isPrefix ? "*" : "") }
    }

    /// Terms that must all match; each group matches when any of its terms does.
    public var required: [[Term]]
    /// Terms no hit may contain.
    public var excluded: [Term]

    /// The FTS5 MATCH expression: `(a OR b) AND c NOT (d OR e)`.
    public var expression: String {
        let groups = required.map { group in
            group.count == 1 ? group[0].fts5 : "(" + group.map(\.fts5).joined(separator: " OR ") + ")"
        }
        var text = groups.joined(separator: " AND ")
        if !excluded.isEmpty {
            // FTS5's NOT is binary: the whole positive side first, then everything excluded.
            text = "(\(text)) NOT (" + excluded.map(\.fts5).joined(separator: " OR ") + ")"
        }
        return text
    }

    /// Every positive term, for ranking and highlighting.
    public var positiveTerms: [Term] { required.flatMap { $0 } }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case onlyExclusions
        case unbalancedQuote
        case danglingOr
        case excludedInOr
        case tooLong(limit: Int)
        case tooManyTerms(limit: Int)
        case shortPrefix(String)

        public var description: String {
            switch self {
            case .empty: "nothing to search for: give at least one word"
            case .onlyExclusions: "a search needs at least one word to find, not only -exclusions"
            case .unbalancedQuote: "unbalanced quote: close the \"phrase\" with a second \""
            case .danglingOr: "OR needs a term on each side, e.g. cafe OR tea"
            case .excludedInOr: "an -exclusion cannot be part of OR"
            case .tooLong(let limit): "the query is too long (at most \(limit) characters)"
            case .tooManyTerms(let limit): "too many terms (at most \(limit))"
            case .shortPrefix(let text): "prefix \(text)* is too short: give at least \(SearchQuery.minimumPrefix) letters before *"
            }
        }
    }

    /// Bounds the work one query can ask of the index.
    public static let maximumLength = 1000
    public static let maximumTerms = 32
    /// The index keeps prefixes of 2 to 6 characters (migrations 0011, 0015); one letter would
    /// merge the postings of a large part of the vocabulary.
    public static let minimumPrefix = 2

    /// Parses what the user typed; every input gives a query or a `ParseError`.
    public init(parsing input: String) throws(ParseError) {
        guard input.count <= Self.maximumLength else { throw .tooLong(limit: Self.maximumLength) }
        let lexemes = try Self.lex(input)
        var required: [[Term]] = []
        var excluded: [Term] = []
        var pendingOr = false
        var lastWasPositive = false
        for lexeme in lexemes {
            switch lexeme {
            case .or:
                guard lastWasPositive, !pendingOr else { throw .danglingOr }
                pendingOr = true
            case .term(let term, let negated):
                if negated {
                    guard !pendingOr else { throw .excludedInOr }
                    excluded.append(term)
                    lastWasPositive = false
                } else if pendingOr {
                    required[required.count - 1].append(term)
                    pendingOr = false
                    lastWasPositive = true
                } else {
                    required.append([term])
                    lastWasPositive = true
                }
            case .nothing(let negated):
                // A term with no searchable characters: dropped, and an OR beside it loses its side.
                if pendingOr { throw .danglingOr }
                if !negated { lastWasPositive = false }
            }
        }
        if pendingOr { throw .danglingOr }
        guard !required.isEmpty else { throw excluded.isEmpty ? .empty : .onlyExclusions }
        guard required.joined().count + excluded.count <= Self.maximumTerms else {
            throw .tooManyTerms(limit: Self.maximumTerms)
        }
        self.required = required
        self.excluded = excluded
    }

    private enum Lexeme {
        case term(Term, negated: Bool)
        case nothing(negated: Bool)
        case or
    }

    /// Splits on whitespace; `"` opens and closes a phrase wherever it stands.
    private static func lex(_ input: String) throws(ParseError) -> [Lexeme] {
        var lexemes: [Lexeme] = []
        var scalars = Array(input.unicodeScalars)[...]
        while let first = scalars.first {
            if isSpace(first) {
                scalars = scalars.dropFirst()
                continue
            }
            var negated = false
            if first == "-", let next = scalars.dropFirst().first, !isSpace(next) {
                negated = true
                scalars = scalars.dropFirst()
            }
            var text = String.UnicodeScalarView()
            var isPhrase = false
            if scalars.first == "\"" {
                isPhrase = true
                scalars = scalars.dropFirst()
                guard let close = scalars.firstIndex(of: "\"") else { throw .unbalancedQuote }
                text.append(contentsOf: scalars[..<close])
                scalars = scalars[scalars.index(after: close)...]
            } else {
                while let scalar = scalars.first, !isSpace(scalar), scalar != "\"" {
                    text.append(scalar)
                    scalars = scalars.dropFirst()
                }
            }
            var isPrefix = false
            if isPhrase {
                if scalars.first == "*" {
                    isPrefix = true
                    scalars = scalars.dropFirst()
                }
            } else {
                if !negated, String(text) == "OR" {
                    lexemes.append(.or)
                    continue
                }
                while text.last == "*" {
                    text.removeLast()
                    isPrefix = true
                }
            }
            let cleaned = String(String.UnicodeScalarView(text.map { isSpace($0) ? " " : $0 }))
            if isPrefix, hasSearchableCharacter(cleaned), lastTokenLength(cleaned) < minimumPrefix {
                throw .shortPrefix(String(cleaned.unicodeScalars.filter { !isSpace($0) }.prefix(20)))
            }
            if hasSearchableCharacter(cleaned) {
                lexemes.append(.term(Term(text: cleaned, isPrefix: isPrefix), negated: negated))
            } else {
                lexemes.append(.nothing(negated: negated))
            }
        }
        return lexemes
    }

    /// Whitespace and every control character separate terms (a NUL must never reach SQLite's parser).
    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value)
    }

    /// Characters in the last run of searchable characters: what a `*` extends.
    private static func lastTokenLength(_ text: String) -> Int {
        var count = 0
        for scalar in text.unicodeScalars.reversed() {
            if hasSearchableCharacter(String(scalar)) {
                count += 1
            } else if count > 0 {
                break
            }
        }
        return count
    }

    /// The tokenizer keeps letters, numbers and private-use characters (unicode61's token
    /// characters); a term without any would be an empty phrase.
    static func hasSearchableCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .decimalNumber, .letterNumber, .otherNumber, .privateUse:
                return true
            default:
                return false
            }
        }
    }
}
