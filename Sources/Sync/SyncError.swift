/// Errors of the sync layer, each a clear one-line message; `SyncFailure` maps them with the rest.
public enum SyncError: Error, CustomStringConvertible, Sendable {
    case lockFailed(String, String)
    case noCredentials(String)
    case accountDeleted(String)
    case invalidRecipient(String)
    case cannotSerialize(String)
    case emptyMessage
    case removalUnconfirmed(String)
    case notInRoom(String)
    case notOurMessage

    public var description: String {
        switch self {
        case .lockFailed(let path, let why): "cannot lock \(path): \(why)"
        case .noCredentials(let jid): "no stored credentials for \(jid): run `tern login \(jid)`"
        case .accountDeleted(let jid): "the account \(jid) was deleted and is not used any more"
        case .invalidRecipient(let why): why
        case .cannotSerialize(let why): "message not queued: \(why)"
        case .emptyMessage: "message not queued: it is empty"
        case .removalUnconfirmed(let jid): "the server did not confirm deleting \(jid), and it still accepts the login"
        case .notInRoom(let room): "message not queued: you are not in \(room) (join it first)"
        case .notOurMessage: "only our own messages can be corrected or retracted, and this one has no id to name"
        }
    }

    /// CLI.md's exit status: bad input (a recipient, an empty message, a room not joined) is a
    /// usage error; the rest are operations that failed.
    public var exitCode: Int32 {
        switch self {
        case .invalidRecipient, .cannotSerialize, .emptyMessage, .notInRoom, .notOurMessage: SyncFailure.usage
        case .lockFailed, .noCredentials, .accountDeleted, .removalUnconfirmed: SyncFailure.failed
        }
    }
}
