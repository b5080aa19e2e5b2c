import GRDB

/// The compact dedup key of a message (DESIGN §7): a 64-bit FNV-1a hash of its account,
/// conversation and dedup key, kept in an INTEGER column with a plain index. A hash match is
/// only a candidate: the full key decides, so a collision never loses a message.
///
/// FNV-1a rather than Swift's `Hasher`, which is seeded afresh in every process: the value
/// is stored, so it must be the same in every run and in the migration's SQL function.
enum DedupHash {
    static func of(accountID: Int64, conversation: String, key: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ byte: UInt8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        var account = UInt64(bitPattern: accountID)
        for _ in 0..<8 {
            mix(UInt8(truncatingIfNeeded: account))
            account >>= 8
        }
        for byte in conversation.utf8 { mix(byte) }
        mix(0)  // "ab"+"c" and "a"+"bc" differ
        for byte in key.utf8 { mix(byte) }
        return Int64(bitPattern: hash)
    }

    /// `tern_dedup_hash(account_id, conversation, dedup_key)`, for migration 0010.
    static let sqlFunction = DatabaseFunction("tern_dedup_hash", argumentCount: 3, pure: true) { values in
        guard let account = Int64.fromDatabaseValue(values[0]), let conversation = String.fromDatabaseValue(values[1]),
            let key = String.fromDatabaseValue(values[2])
        else { return nil }
        return of(accountID: account, conversation: conversation, key: key)
    }
}
