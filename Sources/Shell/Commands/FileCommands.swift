import ArgumentParser
import Foundation
import Store
import Sync

/// `tern files` and `tern download` (CLI.md): files offered to us, and fetching one.
struct FilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files", abstract: CommandTable.summary(ofSubcommand: "files"))

    @OptionGroup var global: GlobalOptions
    @Option(help: "How many files.") var limit: Int = 50
    @Flag(help: "Print JSON Lines.") var json = false

    func run() async throws {
        try await runReportingErrors {
            guard limit > 0 else { throw UsageFailure("--limit must be positive") }
            let context = try AppContext(global)
            let account = try context.account()
            let names = SenderNames(store: context.store, accountID: account.rowID)
            for file in try context.store.files(accountID: account.rowID, limit: limit) {
                print(json ? FileRenderer.json(file) : FileRenderer.line(file, names: names))
            }
        }
    }
}

struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: CommandTable.summary(ofSubcommand: "download"),
        discussion: """
            The folder is --to, else $XDG_DOWNLOAD_DIR/tern, else ~/Downloads/tern. A file that \
            exists is never overwritten: the new one is saved as NAME (1).EXT.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The file's id (see tern files).") var id: Int64
    @Option(help: ArgumentHelp("Save into this folder.", valueName: "DIR")) var to: String?

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let file = try await FileDownloadRun.run(id: id, store: context.store, account: account, to: to)
            print(file.path.map(Sanitizer.inert) ?? "")
        }
    }
}

/// One download with a progress bar on a terminal and Ctrl-C to stop it; shared by
/// `tern download` and the shell's `/download`.
enum FileDownloadRun {
    static func run(id: Int64, store: Store, account: Account, to: String?) async throws -> FileTransfer {
        let directory = to.map { ($0 as NSString).expandingTildeInPath }
            ?? FileDownloads.directory(of: account, environment: ProcessInfo.processInfo.environment)
        let transfer = HTTPTransfer()
        let stop = SignalStop { transfer.cancel() }
        defer { withExtendedLifetime(stop) {} }
        let bar = isatty(STDERR_FILENO) == 1 ? ProgressBar(label: "download \(id)") : nil
        do {
            let file = try await FileDownloads.download(
                id: id, store: store, account: account, into: directory, transfer: transfer,
                progress: { progress in bar?.show(progress) })
            bar?.finish()
            return file
        } catch let error as HTTPTransferError {
            bar?.finish()
            throw Failure(error == .cancelled ? "download \(id) cancelled" : "download \(id) failed: \(error)")
        } catch let error as FileDownloads.Failure {
            throw Failure(error.description)
        } catch let error as DownloadFiles.CreateError {
            throw Failure(error.description)
        }
    }
}

/// A one-line progress bar on stderr: bytes, percent, rate and time left, redrawn in place.
final class ProgressBar: Sendable {
    private let label: String
    private let start = ContinuousClock.now

    init(label: String) { self.label = label }

    func show(_ progress: TransferProgress) {
        let seconds = max(ProgressBar.seconds(ContinuousClock.now - start), 0.001)
        let rate = Double(progress.done) / seconds
        var line = "\r\(label): \(ByteCount.text(progress.done))"
        if let total = progress.total, total > 0 {
            let percent = min(100, progress.done * 100 / total)
            let filled = Int(percent) / 5
            line += " of \(ByteCount.text(total)) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
                + "] \(percent)%"
            if rate > 0 { line += ", \(Int((Double(total - progress.done) / rate).rounded())) s left" }
        }
        line += ", \(ByteCount.text(Int64(rate)))/s\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Sizes as people read them.
enum ByteCount {
    static func text(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }
}

/// How a file looks in `tern files`, `/files` and the offer line.
enum FileRenderer {
    static func name(_ file: FileTransfer) -> String {
        Sanitizer.inert(file.path.map { ($0 as NSString).lastPathComponent } ?? DownloadFiles.name(forURL: file.url))
    }

    /// `file from NAME: name (size) — /download ID`
    static func offer(_ file: FileTransfer, from sender: String) -> String {
        let size = file.size.map { " (\(ByteCount.text($0)))" } ?? ""
        return "file from \(sender): \(name(file))\(size) — /download \(file.rowID)"
    }

    /// `ID  state  name  size  from  path`
    static func line(_ file: FileTransfer, names: SenderNames) -> String {
        let size = file.size.map(ByteCount.text) ?? "?"
        var line = "\(file.rowID)  \(file.state.rawValue)  \(name(file))  \(size)  from \(names.contact(file.sender))"
        if let path = file.path { line += "  \(Sanitizer.inert(path))" }
        if let error = file.error, file.state == .failed { line += "  (\(Sanitizer.inert(error)))" }
        return line
    }

    /// CLI.md's file object.
    static func json(_ file: FileTransfer) -> String {
        var object: [String: Any] = [
            "id": file.rowID, "conversation": file.conversation, "from": file.sender, "direction": file.direction.rawValue,
            "name": DownloadFiles.name(forURL: file.url), "url": file.url, "state": file.state.rawValue,
        ]
        object["size"] = file.size
        object["path"] = file.path
        object["error"] = file.error
        return Renderer.json(object)
    }
}
