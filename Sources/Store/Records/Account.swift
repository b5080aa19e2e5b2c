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
    public var isDefault: Bool
    public var state: State
    public var createdAt: Double

    enum CodingKeys: String, CodingKey {
        case id, jid, resource, host, port
        case directTLS = "direct_tls"
        case caFile = "ca_file"
        case pinnedSPKI = "pinned_spki"
        case isDefault = "is_default"
        case state
        case createdAt = "created_at"
    }

    public init(
        jid: String, resource: String, host: String? = nil, port: Int? = nil, directTLS: Bool = false,
        caFile: String? = nil, pinnedSPKI: String? = nil, isDefault: Bool = false, state: State = .active,
        createdAt: Double
    ) {
        self.jid = jid
        self.resource = resource
        self.host = host
        self.port = port
        self.directTLS = directTLS
        self.caFile = caFile
        self.pinnedSPKI = pinnedSPKI
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

/// SCRAM keys kept instead of the password: enough to log in, useless to log in elsewhere
/// with a different mechanism, and never the password itself.
public struct Credential: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "credential"

    public var accountID: Int64
    public var mechanism: String
    public var salt: Data
    public var iterations: Int
    public var clientKey: Data
    public var serverKey: Data
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case mechanism, salt, iterations
        case clientKey = "client_key"
        case serverKey = "server_key"
        case updatedAt = "updated_at"
    }

    public init(
        accountID: Int64, mechanism: String, salt: Data, iterations: Int, clientKey: Data,
        serverKey: Data, updatedAt: Double
    ) {
        self.accountID = accountID
        self.mechanism = mechanism
        self.salt = salt
        self.iterations = iterations
        self.clientKey = clientKey
        self.serverKey = serverKey
        self.updatedAt = updatedAt
    }
}
