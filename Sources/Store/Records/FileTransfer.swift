import Foundation
import GRDB

/// A file offered to us (or sent by us), and how far fetching it got (migration 0017).
public struct FileTransfer: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "file_transfer"

    public enum State: String, Codable, Sendable {
        case offered, downloading, done, failed
    }

    public var id: Int64?
    public var accountID: Int64
    public var messageID: Int64?
    public var conversation: String
    public var sender: String
    public var direction: StoredMessage.Direction
    public var url: String
    public var size: Int64?
    public var state: State
    public var path: String?
    public var error: String?
    public var createdAt: Double
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "account_id"
        case messageID = "message_id"
        case conversation, sender, direction, url, size, state, path, error
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var rowID: Int64 { id ?? 0 }
}

/// Which messages offer a file (XEP-0066 §3, XEP-0363 §5).
public enum FileOffer {
    /// The URL `message` offers: its OOB URL, else a body that is nothing but an https URL to
    /// something with a name (a bare `https://example.org` is a link, not a file).
    public static func url(of message: StoredMessage) -> String? {
        if let url = message.offeredURL { return url }
        return url(inBody: message.body)
    }

    public static func url(inBody body: String) -> String? {
        // Cheap refusals first: this runs for every message stored.
        guard let first = body.utf8.first, first == UInt8(ascii: "h") || first == UInt8(ascii: "H") || first <= 0x20 else {
            return nil
        }
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count <= 4096, text.lowercased().hasPrefix("https://"),
            !text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }),
            let components = URLComponents(string: text), let host = components.host, !host.isEmpty,
            let last = components.percentEncodedPath.split(separator: "/").last, !last.isEmpty
        else { return nil }
        return text
    }
}
