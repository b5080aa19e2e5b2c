import Foundation

/// Orders search candidates: Okapi BM25 (Robertson & Zaragoza, "The Probabilistic Relevance
/// Framework: BM25 and Beyond", 2009; the formula FTS5's `bm25()` uses) blended with recency.
///
/// Pure, so tests can pin the order. Document frequencies are counted within the candidates:
/// every candidate matches every required group, so what they weigh is the choice between
/// the alternatives of an `OR`, and counting them costs nothing beyond the candidates.
/// Terms are matched on tokens folded the way the index's `unicode61 remove_diacritics 2`
/// tokenizer folds them (lowercase, combining marks dropped), so `cafe` scores `Café`.
enum SearchRanking {
    struct Scored: Equatable {
        /// Position in the candidate list.
        let index: Int
        let rank: Double
    }

    static let k1 = 1.2
    static let b = 0.75
    /// Recency doubles the score of a message sent now and fades with this time constant.
    static let recencyScale: Double = 30 * 86_400

    /// Candidates best first; ties go to the newer message.
    static func rank(_ messages: [StoredMessage], terms: [SearchQuery.Term], now: Double) -> [Scored] {
        guard !messages.isEmpty else { return [] }
        var cache: [Substring: String] = [:]
        let termTokens = terms.map { tokens($0.text, cache: &cache) }
        let documents = messages.map { tokens($0.body, cache: &cache) }
        let frequencies = documents.map { document in
            zip(terms, termTokens).map { term, needle in occurrences(of: needle, prefix: term.isPrefix, in: document) }
        }
        let count = Double(messages.count)
        let averageLength = max(1, Double(documents.reduce(0) { $0 + $1.count }) / count)
        let idf = terms.indices.map { term in
            let holding = Double(frequencies.filter { $0[term] > 0 }.count)
            return log(1 + (count - holding + 0.5) / (holding + 0.5))
        }
        var scored: [Scored] = []
        scored.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            let lengthNorm = k1 * (1 - b + b * Double(documents[index].count) / averageLength)
            var relevance = 0.0
            for term in terms.indices {
                let tf = Double(frequencies[index][term])
                relevance += idf[term] * tf * (k1 + 1) / (tf + lengthNorm)
            }
            let age = max(0, now - message.timestamp)
            scored.append(Scored(index: index, rank: relevance * (1 + exp(-age / recencyScale))))
        }
        return scored.sorted { lhs, rhs in
            lhs.rank != rhs.rank ? lhs.rank > rhs.rank : messages[lhs.index].timestamp > messages[rhs.index].timestamp
        }
    }

    /// How often the token sequence `needle` appears in `document` (the last token as a
    /// prefix when `prefix`).
    static func occurrences(of needle: [String], prefix: Bool, in document: [String]) -> Int {
        guard !needle.isEmpty, document.count >= needle.count else { return 0 }
        var found = 0
        for start in 0...(document.count - needle.count) {
            var matches = true
            for (offset, token) in needle.enumerated() {
                let candidate = document[start + offset]
                let isLast = offset == needle.count - 1
                if !(candidate == token || (prefix && isLast && candidate.hasPrefix(token))) {
                    matches = false
                    break
                }
            }
            if matches { found += 1 }
        }
        return found
    }

    /// Lowercased tokens with combining marks removed: runs of letters, numbers and private-use
    /// characters. Words repeat (Zipf), so each distinct non-ASCII word is folded once per call.
    static func tokens(_ text: String, cache: inout [Substring: String]) -> [String] {
        var result: [String] = []
        var start: String.Index?
        var ascii = true
        var index = text.startIndex
        func close(at end: String.Index) {
            guard let from = start else { return }
            let word = text[from..<end]
            if ascii {
                result.append(word.lowercased())
            } else if let folded = cache[word] {
                result.append(folded)
            } else {
                let folded = fold(word)
                cache[word] = folded
                result.append(folded)
            }
            start = nil
        }
        let scalars = text.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if isTokenScalar(scalar) {
                if start == nil {
                    start = index
                    ascii = true
                }
                if !scalar.isASCII { ascii = false }
            } else {
                close(at: index)
            }
            index = scalars.index(after: index)
        }
        close(at: scalars.endIndex)
        return result
    }

    static func tokens(_ text: String) -> [String] {
        var cache: [Substring: String] = [:]
        return tokens(text, cache: &cache)
    }

    private static func isTokenScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .privateUse, .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            return false
        }
    }

    /// Lowercase, decompose, drop the combining marks: `Café` → `cafe`.
    private static func fold(_ word: Substring) -> String {
        var out = String.UnicodeScalarView()
        for scalar in word.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
