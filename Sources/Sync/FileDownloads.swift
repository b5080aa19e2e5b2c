import Foundation
import Store

/// Fetching a file someone offered (`tern download`, `/download`): a new file in the folder,
/// its progress and outcome in the Store. Needs no XMPP session, only HTTP.
public enum FileDownloads {
    /// The default cap on one download: a lying or endless server stops here.
    public static let defaultLimit: Int64 = 512 * 1024 * 1024

    /// The account's cap on one download (`download-limit`, in MB), else `defaultLimit`.
    public static func limit(of account: Account) -> Int64 {
        account.downloadLimitMB.map { Int64($0) * 1_000_000 } ?? defaultLimit
    }

    /// Where files of `account` go unless told otherwise.
    public static func directory(of account: Account, environment: [String: String]) -> String {
        DownloadFiles.defaultDirectory(accountSetting: account.downloadDir, environment: environment)
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unknown(Int64)
        case alreadyDownloading(Int64)

        public var description: String {
            switch self {
            case .unknown(let id): "no file \(id) (see tern files)"
            case .alreadyDownloading(let id): "file \(id) is being downloaded already"
            }
        }
    }

    /// Downloads file `id` into `directory` under its safe name, never over an existing file.
    /// A failure leaves no partial file behind and records the reason; a cancel puts the offer
    /// back as it was.
    public static func download(
        id: Int64, store: Store, account: Account, into directory: String, limit: Int64? = nil,
        transfer: HTTPTransfer = HTTPTransfer(), progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }
    ) async throws -> FileTransfer {
        guard let file = try store.file(accountID: account.rowID, id: id) else { throw Failure.unknown(id) }
        // A download another process started and still runs would race this one for the name.
        if file.state == .downloading, Store.now - file.updatedAt < 30 { throw Failure.alreadyDownloading(id) }
        let created = try DownloadFiles.createExclusive(in: directory, name: DownloadFiles.name(forURL: file.url))
        try store.updateFile(id: id, state: .downloading)
        let heartbeat = Task {
            // Keeps `updated_at` fresh, so a download killed with its process can be restarted.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                if !Task.isCancelled { _ = try? store.updateFile(id: id, state: .downloading) }
            }
        }
        defer { heartbeat.cancel() }
        let bytes: Int64
        do throws(HTTPTransferError) {
            bytes = try await transfer.download(
                file.url, into: created.fd, limit: limit ?? Self.limit(of: account), trust: HTTPTrust(account: account, download: true),
                progress: progress)
        } catch {
            close(created.fd)
            unlink(created.path)
            heartbeat.cancel()
            if error == .cancelled {
                try store.updateFile(id: id, state: .offered)
            } else {
                try store.updateFile(id: id, state: .failed, error: error.description)
            }
            throw error
        }
        close(created.fd)
        heartbeat.cancel()
        return try store.updateFile(id: id, state: .done, path: created.path, size: bytes) ?? file
    }
}
