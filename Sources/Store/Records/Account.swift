import Foundation
import GRDB

/// A stored account: who we are and how to reach the server.
public struct Account: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "account"

    public enum State: String, Codable, Sendable {
        case active, loggedOut, deleted
    }

    public var id: Int64?
    public var jid: String
    public var resource: String
    public var host: String?
    public var port: Int?
    public var directTLS: Bool
    public var caFile: String?
    public var pinnedSPKI: String?
    public var priority: Int
    public var isDefault: Bool
    public var state: State
    public var createdAt: Double
    /// Files and alerts (migration 0018); see `tern account set`.
    public var downloadDir: String? = nil
    public var downloadLimitMB: Int? = nil
    public var allowsHTTPDownloads = false
    public var notifyCommand: String? = nil
    public var desktopNotify: DesktopNotify = .off

    /// The terminal escape that raises a desktop notification, if any.
    public enum DesktopNotify: String, Codable, Sendable, CaseIterable {
        case off, osc9, osc777
    }

    enum CodingKeys: String, CodingKey {
        case id, jid, resource, host, port
        case directTLS = "direct_tls"
        case caFile = "ca_file"
        case pinnedSPKI = "pinned_spki"
        case priority
        case isDefault = "is_default"
        case state
        case createdAt = "created_at"
        case downloadDir = "download_dir"
        case downloadLimitMB = "download_limit_mb"
        case allowsHTTPDownloads = "allow_http_downloads"
        case notifyCommand = "notify_command"
        case desktopNotify = "desktop_notify"
    }

    public init(
        jid: String, resource: String, host: String? = nil, port: Int? = nil, directTLS: Bool = false,
        caFile: String? = nil, pinnedSPKI: String? = nil, priority: Int = 0, isDefault: Bool = false,
        state: State = .active, createdAt: Double
    ) {
        self.jid = jid
        self.resource = resource
        self.host = host
        self.port = port
        self.directTLS = directTLS
        self.caFile = caFile
        self.pinnedSPKI = pinnedSPKI
        self.priority = priority
        self.isDefault = isDefault
        self.state = state
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    /// The id, which every fetched or inserted account has.
    public var rowID: Int64 { id ?? -1 }
}

/// What we keep to log in again: SCRAM keys (enough to log in, never the password), or, only
/// when the user asked and the server offers no SCRAM, the password itself.
public struct Credential: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "credential"

    public enum Kind: String, Codable, Sendable { case scram, password }

    public var accountID: Int64
    public var kind: Kind
    public var mechanism: String?
    public var salt: Data?
    public var iterations: Int?
    public var clientKey: Data?
    public var serverKey: Data?
    public var password: String?
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case kind, mechanism, salt, iterations
        case clientKey = "client_key"
        case serverKey = "server_key"
        case password
        case updatedAt = "updated_at"
    }

    public static func scram(
        accountID: Int64, mechanism: String, salt: Data, iterations: Int, clientKey: Data, serverKey: Data
    ) -> Credential {
        Credential(
            accountID: accountID, kind: .scram, mechanism: mechanism, salt: salt, iterations: iterations,
            clientKey: clientKey, serverKey: serverKey, password: nil, updatedAt: Store.now)
    }

    public static func rememberedPassword(accountID: Int64, _ password: String) -> Credential {
        Credential(
            accountID: accountID, kind: .password, mechanism: nil, salt: nil, iterations: nil, clientKey: nil,
            serverKey: nil, password: password, updatedAt: Store.now)
    }
}
