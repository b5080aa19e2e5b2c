import Foundation
import Store
import Sync

/// `/file`, `/files` and `/download`: files in the shell (issue 14), on the same Store paths
/// as `tern send --file`, `tern files` and `tern download`.
extension InteractiveShell {
    /// `/file PATH [TEXT]`: queues the file for the current conversation; the outcome follows.
    func sendFile(_ raw: String) async throws {
        let account = try requireCurrentAccount()
        guard let to = currentConversation else { throw Failure("/file sends to the current conversation: /chat JID first") }
        let (path, text) = Self.pathAndRest(raw)
        let intent: Intent
        do {
            intent = try FileSending.enqueue(
                store: context.store, account: account, to: to, path: (path as NSString).expandingTildeInPath, text: text)
        } catch let error as FileSending.Failure {
            throw Failure(error.description)
        } catch let error as SyncError {
            throw Failure(error.description)
        }
        say("-- \(Store.outboxID(of: intent)) file queued: \(Sanitizer.inert(intent.summary))")
        followIntent(intent, account: account)
    }

    /// `/files`: the newest files offered to this account.
    func listFiles() throws {
        let account = try requireCurrentAccount()
        let names = SenderNames(store: context.store, accountID: account.rowID)
        let files = try context.store.files(accountID: account.rowID, limit: 20)
        if files.isEmpty { return say("-- no files") }
        for file in files.reversed() { say(FileRenderer.line(file, names: names)) }
    }

    /// `/download ID [DIR]`: on a terminal it runs in the background and its outcome is
    /// printed when known; piped, the next command waits for it.
    func download(_ arguments: [String]) async throws {
        let account = try requireCurrentAccount()
        guard let id = Int64(arguments[0]) else { throw Failure("/download takes a file id (see /files)") }
        let directory = arguments.count > 1
            ? (arguments[1] as NSString).expandingTildeInPath
            : FileDownloads.directory(of: account, environment: ProcessInfo.processInfo.environment)
        let store = context.store
        let interactive = editor.interactive
        @Sendable func fetch() async -> String {
            do {
                // On a terminal the prompt shows how far it is; the shell never waits for it.
                let file = try await FileDownloads.download(id: id, store: store, account: account, into: directory) { [weak self] progress in
                    guard interactive else { return }
                    Task { await self?.showTransfer(id, progress) }
                }
                return "-- file \(id) saved: " + Sanitizer.inert(file.path ?? "")
            } catch {
                return "-- file \(id) not downloaded: " + Sanitizer.inert("\(error)")
            }
        }
        guard editor.interactive else { return say(await fetch()) }
        say("-- downloading file \(id)…")
        endedTransfers.remove(id)
        Task { [weak self] in
            let line = await fetch()
            await self?.endTransfer(id, line)
        }
    }

    /// The prompt's note for a download under way: `file 3 45%`, redrawn when the figure changes.
    func showTransfer(_ id: Int64, _ progress: TransferProgress) {
        guard !endedTransfers.contains(id) else { return }  // a report that came after the end
        let figure = progress.total.map { "\(min(100, progress.done * 100 / max($0, 1)))%" } ?? ByteCount.text(progress.done)
        let note = "file \(id) \(figure)"
        guard transferNotes[id] != note else { return }
        transferNotes[id] = note
        updatePrompt()
    }

    func endTransfer(_ id: Int64, _ line: String) {
        transferNotes[id] = nil
        endedTransfers.insert(id)
        say(line)
        updatePrompt()
    }

    /// The offer line for a message that offers a file, if it does.
    func offerLine(for message: StoredMessage) -> String? {
        guard message.direction == .incoming, let id = message.id, message.offeredURL != nil || FileOffer.url(inBody: message.body) != nil,
            let file = try? context.store.file(forMessage: id)
        else { return nil }
        return FileRenderer.offer(file, from: SenderNames(store: context.store, accountID: message.accountID).name(message))
    }

    /// A path (quoted when it holds spaces) and the text after it.
    static func pathAndRest(_ raw: String) -> (path: String, rest: String?) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if let quote = text.first, quote == "\"" || quote == "'", let end = text.dropFirst().firstIndex(of: quote) {
            let rest = text[text.index(after: end)...].trimmingCharacters(in: .whitespaces)
            return (String(text[text.index(after: text.startIndex)..<end]), rest.isEmpty ? nil : rest)
        }
        let path = String(text.prefix { !$0.isWhitespace })
        let rest = text.dropFirst(path.count).trimmingCharacters(in: .whitespaces)
        return (path, rest.isEmpty ? nil : rest)
    }
}
