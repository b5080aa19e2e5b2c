import Foundation
import GRDB
import Store

/// A generated history for benchmarks: `count` messages with a realistic shape, in a
/// throwaway store with tern's real schema.
///
/// Words follow Zipf's law (frequency ∝ 1/rank) over a pseudo-word vocabulary of 30,000,
/// some with accents; bodies have 5–30 words; 24 conversations of Zipf-like sizes, plus a tiny
/// one (one message in 3,331) and a rare sender in the biggest (one in 1,999); timestamps spread
/// over five years in insertion order, except 1% inserted at 60% of the rowids with timestamps
/// from anywhere before them: an archive backfill, which gave old messages the highest rowids
/// of their day. Rows go in through one prepared INSERT in large
/// transactions, and the search index takes them in afterwards in its own batches
/// (migration 0010), so 1M rows take seconds.
struct HistoryFixture {
    let directory: String
    let store: Store
    let account: Account
    /// Most frequent first: `vocabulary[0]` is the commonest word.
    let vocabulary: [String]
    /// Biggest first.
    let conversations: [String]
    let count: Int
    let newest: Double
    /// A conversation of `count / 3331` messages spread over the whole history.
    static let tinyConversation = "tiny@example.org"
    /// A sender of `count / 1999` messages in the biggest conversation.
    static let rareSender = "rare@example.org"

    static let vocabularySize = 30_000
    static let span: Double = 5 * 365 * 86_400

    static func make(messages count: Int, seed: UInt64 = 42) throws -> HistoryFixture {
        let directory = NSTemporaryDirectory() + "tern-history-\(UUID().uuidString)"
        let store = try Store(directory: directory)
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "r", createdAt: 0), credential: nil)
        var random = SeededRandom(seed: seed)
        let vocabulary = makeVocabulary(&random)
        let wordPicker = ZipfPicker(count: vocabulary.count, exponent: 1.0)
        let conversations = (0..<24).map { "peer\($0)@example.org" }
        let conversationPicker = ZipfPicker(count: conversations.count, exponent: 0.8)
        let newest = 1_790_000_000.0
        let backfill = (count * 60 / 100)..<(count * 61 / 100)
        let step = span / Double(max(1, count - backfill.count))
        let batch = 50_000
        for start in stride(from: 0, to: count, by: batch) {
            let end = min(start + batch, count)
            var rows: [(String, String, String, Double, Int)] = []
            rows.reserveCapacity(end - start)
            for n in start..<end {
                let length = 5 + Int(random.next() % 26)
                var body = ""
                for index in 0..<length {
                    if index > 0 { body += " " }
                    body += vocabulary[wordPicker.pick(&random)]
                }
                var conversation = conversations[conversationPicker.pick(&random)]
                var sender = conversation + "/phone"
                if n % 3331 == 7 {
                    conversation = tinyConversation
                    sender = conversation + "/phone"
                } else if n % 1999 == 11 {
                    conversation = conversations[0]
                    sender = rareSender + "/laptop"
                }
                // The backfill: older messages arriving late, as a MAM catch-up brings them.
                let inOrder = n < backfill.lowerBound ? n : n - backfill.count
                let time = backfill.contains(n)
                    ? newest - span + Double(random.next() % UInt64(Double(backfill.lowerBound) * step))
                    : newest - span + Double(inOrder) * step
                rows.append((conversation, sender, body, time, n))
            }
            let finalRows = rows
            try store.write { db in
                let insert = try db.makeStatement(sql: """
                    INSERT INTO message (account_id, conversation, direction, type, sender, recipient, body, timestamp,
                                         received_at, dedup_key)
                    VALUES (?, ?, 'in', 'chat', ?, 'alice@example.org', ?, ?, ?, ?)
                    """)
                for (conversation, sender, body, time, n) in finalRows {
                    try insert.execute(arguments: [account.rowID, conversation, sender, body, time, time, "k\(n)"])
                }
            }
        }
        // Inserts leave the index to trail (migration 0010); the batch indexer takes them in.
        try store.catchUpSearchIndex()
        return HistoryFixture(
            directory: directory, store: store, account: account, vocabulary: vocabulary, conversations: conversations,
            count: count, newest: newest)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Distinct pseudo-words of 1–4 syllables; about one in eight carries an accent.
    private static func makeVocabulary(_ random: inout SeededRandom) -> [String] {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "da", "el", "an", "or", "is", "um",
                         "ca", "fé", "ré", "gö", "st", "bri", "no", "qua", "zel", "ti", "ar", "mon", "pé", "sa", "ul"]
        var seen = Set<String>()
        var words: [String] = []
        while words.count < vocabularySize {
            let parts = 1 + Int(random.next() % 4)
            let word = (0..<parts).map { _ in syllables[Int(random.next() % UInt64(syllables.count))] }.joined()
            if seen.insert(word).inserted { words.append(word) }
        }
        return words
    }
}

/// Picks ranks 0..<count with probability ∝ 1/(rank+1)^exponent, by binary search over the CDF.
struct ZipfPicker {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var total = 0.0
        cumulative = (0..<count).map { rank in
            total += 1 / pow(Double(rank + 1), exponent)
            return total
        }
    }

    func pick(_ random: inout SeededRandom) -> Int {
        let target = Double(random.next() >> 11) / Double(1 << 53) * (cumulative.last ?? 0)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// xorshift64*: deterministic, so every run searches the same history.
struct SeededRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
