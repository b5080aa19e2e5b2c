import Foundation
import GRDB
import Testing
@testable import Store

@Suite struct SearchQueryTests {
    private func expression(_ text: String) throws -> String {
        try SearchQuery(parsing: text).expression
    }

    private func error(_ text: String) -> SearchQuery.ParseError? {
        do {
            _ = try SearchQuery(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func parse__words__all_must_match() throws {
        #expect(try expression("cafe  paris") == #""cafe" AND "paris""#)
    }

    @Test func parse__phrase__stays_one_quoted_string() throws {
        #expect(try expression(#"say "good morning" now"#) == #""say" AND "good morning" AND "now""#)
    }

    @Test func parse__prefix__star_outside_the_quotes() throws {
        #expect(try expression("meet*") == #""meet"*"#)
        #expect(try expression(#""good mor"*"#) == #""good mor"*"#)
    }

    @Test func parse__exclusions__follow_one_binary_not() throws {
        #expect(try expression("cafe -paris -\"new york\"") == #"("cafe") NOT ("paris" OR "new york")"#)
    }

    @Test func parse__or__binds_tighter_than_and() throws {
        #expect(try expression("cafe OR tea paris") == #"("cafe" OR "tea") AND "paris""#)
        #expect(try expression("a OR b OR c") == #"("a" OR "b" OR "c")"#)
    }

    @Test func parse__lowercase_or_and_fts5_keywords__are_plain_words() throws {
        #expect(try expression("this or that") == #""this" AND "or" AND "that""#)
        #expect(try expression("NEAR(a b) AND NOT x") == #""NEAR(a" AND "b)" AND "AND" AND "NOT" AND "x""#)
    }

    @Test func parse__fts5_syntax_characters__are_never_syntax() throws {
        #expect(try expression("body:secret ^start a+b") == #""body:secret" AND "^start" AND "a+b""#)
    }

    @Test func parse__quote_inside_a_word__opens_a_phrase() throws {
        #expect(try expression(#"it"s here""#) == #""it" AND "s here""#)
    }

    @Test func parse__terms_without_letters_or_digits__are_dropped() throws {
        #expect(try expression("cafe !!! -?? *") == #""cafe""#)
    }

    @Test func parse__control_characters__separate_terms() throws {
        #expect(try expression("a\u{0}b\u{1B}c") == #""a" AND "b" AND "c""#)
    }

    @Test func parse__bad_queries__are_one_line_errors() {
        #expect(error("") == .empty)
        #expect(error("   ") == .empty)
        #expect(error("!!!") == .empty)
        #expect(error("-paris") == .onlyExclusions)
        #expect(error("-paris -rome") == .onlyExclusions)
        #expect(error(#"say "hello"#) == .unbalancedQuote)
        #expect(error("OR cafe") == .danglingOr)
        #expect(error("cafe OR") == .danglingOr)
        #expect(error("cafe OR OR tea") == .danglingOr)
        #expect(error("cafe OR -tea") == .excludedInOr)
        #expect(error("a*") == .shortPrefix("a"))
        #expect(error(String(repeating: "a ", count: 600)) == .tooLong(limit: SearchQuery.maximumLength))
        #expect(error(Array(repeating: "word", count: 40).joined(separator: " ")) == .tooManyTerms(limit: SearchQuery.maximumTerms))
        for text in ["", "-x", "\"", "OR", "a OR -b", "x*"] {
            let message = error(text).map(\.description) ?? ""
            #expect(!message.isEmpty && !message.contains("\n"))
        }
    }

    /// Random input built from the characters that matter to FTS5 and to our lexer: each one
    /// gives an expression a real FTS5 table accepts, or a ParseError; never a database error.
    @Test func parse__random_input__is_accepted_by_fts5_or_refused_by_us() throws {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: """
                CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
                INSERT INTO t(body) VALUES ('café au lait'), ('the NEAR thing'), ('a OR b'), ('x-ray * "quoted"');
                """)
        }
        let alphabet: [String] = [
            "a", "b", "é", "Z", "1", " ", " ", "\"", "*", "-", "(", ")", ":", "^", "+", "OR", "AND", "NOT", "NEAR",
            "or", "\u{0}", "\t", "\n", "\u{1B}", "\u{E000}", "\u{202E}", "\u{200B}", "'", ",", ".", "{", "}", "😀", "ß", "İ", "ﬁ",
        ]
        var generator = SeededGenerator(seed: 12)
        var accepted = 0
        var refused = 0
        for _ in 0..<5000 {
            let length = Int(generator.next() % 12)
            let text = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
            let query: SearchQuery
            do {
                query = try SearchQuery(parsing: text)
            } catch {
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
                refused += 1
                continue
            }
            do {
                _ = try db.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE t MATCH ?", arguments: [query.expression])
                }
                accepted += 1
            } catch {
                Issue.record("FTS5 refused \(query.expression.debugDescription) from \(text.debugDescription): \(error)")
            }
        }
        // Both paths were exercised, so the test could fail either way.
        #expect(accepted > 1000)
        #expect(refused > 100)
    }
}

/// A deterministic generator (Knuth's MMIX LCG, high bits), so a failure replays.
struct SeededGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
}
