import Foundation
import Store
import XMPP

/// Sending a file (issue 14): a `file` intent, carried out by the connection's owner as an
/// HTTP upload (XEP-0363) followed by a message whose body is the file's URL, with XEP-0066
/// OOB so other clients show it as a file (XEP-0363 §5).
///
/// The file is copied into the data directory when the intent is stored: the original may
/// change or vanish before the upload, which can be hours later.
public enum FileSending {
    /// Why a file cannot even be queued, in one line.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unreadable(String)
        case empty(String)

        public var description: String {
            switch self {
            case .unreadable(let reason): reason
            case .empty(let path): "\(path) is empty: nothing to send"
            }
        }
    }

    /// Uploads that fail for a reason that may pass (a 5xx, a dropped link to the HTTP host)
    /// are tried this many times within one run, `retryDelays` apart, before the intent fails.
    static let retryDelays: [Duration] = [.seconds(2), .seconds(8)]

    /// Validates the recipient, copies the file into the data directory and stores the intent.
    public static func enqueue(store: Store, account: Account, to recipient: String, path: String, text: String?) throws -> Intent {
        // The same checks a message gets (a JID, a room we are in), before any copying.
        _ = try Outbox.prepare(store: store, account: account, to: recipient, body: "file")
        var info = stat()
        guard stat(path, &info) == 0 else { throw Failure.unreadable("cannot read \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Failure.unreadable("\(path) is not a regular file") }
        guard info.st_size > 0 else { throw Failure.empty(path) }
        let name = DownloadFiles.safeName((path as NSString).lastPathComponent)
        let folder = (store.directory as NSString).appendingPathComponent("outgoing/" + UUID().uuidString.lowercased())
        let copy = (folder as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            chmod(copy, 0o600)
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw Failure.unreadable("cannot copy \(path) into the data directory: \(error.localizedDescription)")
        }
        let to = try JID(recipient).description
        let payload = Intent.Payload(name: name, text: text.flatMap { $0.isEmpty ? nil : $0 }, path: copy, size: Int64(info.st_size))
        do {
            return try store.enqueueIntent(Intent(accountID: account.rowID, kind: .file, target: to, payload: payload, createdAt: Store.now))
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    /// Uploads the file and queues the message that carries its URL. A refusal (too large, no
    /// service, a 4xx) is final; a lost XMPP link leaves the intent for the next session.
    static func carryOut(_ intent: Intent, _ context: FeatureContext) async throws {
        let args = intent.arguments
        guard let path = args.path, let size = args.size, let name = args.name else { throw Intents.Refusal("no file recorded") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw Intents.Refusal("the queued copy of the file is gone") }
        let service: HTTPUpload.Service
        let slot: HTTPUpload.Slot
        do {
            service = try await FileUpload.findService(on: context.engine, domain: JID(local: nil, domain: context.boundJID.domain, resource: nil))
            slot = try await FileUpload.requestSlot(on: context.engine, service: service, filename: name, size: size, contentType: nil)
        } catch let failure as FileUpload.Failure {
            removeCopy(path)
            throw Intents.Refusal(failure.description)
        }
        let store = context.store
        let transfer = HTTPTransfer()
        try await upload(path: path, size: size, slot: slot, account: context.account, transfer: transfer) { progress in
            guard let id = intent.id else { return }
            try? store.setIntentProgress(id: id, bytes: progress.done)
            // `tern outbox cancel`, or Ctrl-C in the `send --file` that waits: stop the upload.
            if (try? store.intent(id: id))??.state == .cancelled { transfer.cancel() }
        }
        if let id = intent.id, (try? store.intent(id: id))??.state == .cancelled {
            removeCopy(path)
            return  // cancelled as the last bytes went: the link is not sent
        }
        if let text = args.text {
            _ = try Outbox.enqueueChat(store: store, account: context.account, to: intent.target, body: text)
        }
        _ = try store.enqueue(
            Outbox.prepare(
                store: store, account: context.account, to: intent.target, body: slot.getURL,
                extra: [OutOfBand.element(url: slot.getURL)]))
        removeCopy(path)
        _ = await context.engine.flush()
    }

    private static func upload(
        path: String, size: Int64, slot: HTTPUpload.Slot, account: Account, transfer: HTTPTransfer,
        progress: @escaping @Sendable (TransferProgress) -> Void
    ) async throws {
        var delays = retryDelays[...]
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Intents.Refusal("cannot read the queued copy: \(String(cString: strerror(errno)))") }
            do throws(HTTPTransferError) {
                defer { close(fd) }
                try await transfer.upload(
                    from: fd, size: size, to: slot.putURL, headers: slot.headers, contentType: nil, trust: HTTPTrust(account: account),
                    progress: progress)
                return
            } catch {
                guard error.isTransient, let delay = delays.popFirst() else {
                    removeCopy(path)
                    throw Intents.Refusal(error == .cancelled ? "cancelled" : "upload failed: \(error)")
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// The copy and its folder, once nothing will read them again.
    static func removeCopy(_ path: String) {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}
