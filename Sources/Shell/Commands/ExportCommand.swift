import ArgumentParser
import Foundation
import Store
import XMPP

/// `tern export`: conversations out of the store, streamed in constant memory (issue 12 §3).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write one conversation, or all of them, as JSON Lines or a Markdown transcript.",
        discussion: """
            Without a JID every conversation is written, each oldest first, in order of conversation. \
            JSON Lines carry the same fields as `history --json`. With --output the file appears only \
            once complete (written beside it, then renamed).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl, md
    }

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A contact's or room's JID (ROOM@SERVICE/NICK: private messages); all conversations without one.")
    var jid: String?
    @Option(help: "jsonl (JSON Lines) or md (a Markdown transcript).") var format: Format = .jsonl
    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE")) var output: String?
    @Flag(help: "Replace FILE if it exists.") var force = false
    @Option(help: ArgumentHelp("Only messages at or after this date (ISO 8601, or YYYY-MM-DD).", valueName: "DATE"))
    var after: String?
    @Option(help: ArgumentHelp("Only messages before this date (ISO 8601, or YYYY-MM-DD).", valueName: "DATE"))
    var before: String?

    func run() async throws {
        try await runReportingErrors {
            let start = try after.map(DateArgument.parse)?.timeIntervalSince1970
            let end = try before.map(DateArgument.parse)?.timeIntervalSince1970
            if let start, let end, start >= end { throw UsageFailure("--after must be earlier than --before") }
            if let output, output.isEmpty { throw UsageFailure("--output needs a file name") }
            let context = try AppContext(global)
            let account = try context.account()
            let conversation = try jid.map { try Self.conversation($0, context: context, account: account) }
            let range = Store.MessageRange(accountID: account.rowID, conversation: conversation, after: start, before: end)
            let destination = try output.map { try ExportFile(path: $0, replacing: force) }
            let progress = isatty(STDERR_FILENO) == 1 ? ExportProgress() : nil
            do {
                let sink = ByteOutput(fd: destination?.fd ?? STDOUT_FILENO)
                var transcript = MarkdownTranscript()
                var count = 0
                let format = self.format
                try context.store.streamMessages(range) { entry in
                    switch format {
                    case .jsonl:
                        MessageJSON.append(entry.message, state: entry.state, to: &sink.buffer)
                        sink.buffer.append(UInt8(ascii: "\n"))
                    case .md:
                        transcript.append(entry, to: &sink.buffer)
                    }
                    count += 1
                    try sink.flushIfFull()
                    progress?.update(count)
                }
                try sink.flush()
                try destination?.commit()
                progress?.finish(count, to: output)
            } catch {
                destination?.discard()
                throw error
            }
        }
    }

    /// The conversation key, as `history` takes it: a bare JID, or a room occupant's full one.
    static func conversation(_ text: String, context: AppContext, account: Account) throws -> String {
        let address: JID
        do { address = try JID(text) } catch { throw UsageFailure("\(error)") }
        if address.resource != nil, try context.store.room(accountID: account.rowID, jid: address.bare.description) != nil {
            return address.description
        }
        return address.bare.description
    }
}

/// A file that appears only once it is complete: written as a temporary file in the same
/// directory (so the rename stays on one file system), synced, then renamed over the name.
final class ExportFile {
    let path: String
    let temporaryPath: String
    let fd: Int32
    private let replacing: Bool

    init(path: String, replacing: Bool) throws {
        self.path = path
        self.replacing = replacing
        if !replacing, FileManager.default.fileExists(atPath: path) {
            throw Failure("\(path) exists; --force replaces it")
        }
        let url = URL(fileURLWithPath: path)
        var template = Array(url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).XXXXXX").path.utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw Failure("cannot write \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // mkstemp makes it 0600; an export is an ordinary document.
        _ = fchmod(fd, 0o644 & ~Self.umask)
    }

    private static var umask: mode_t {
        let mask = Foundation.umask(0)
        Foundation.umask(mask)
        return mask
    }

    func commit() throws {
        guard fsync(fd) == 0, close(fd) == 0 else {
            throw Failure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // link() refuses an existing name, so a file that appeared meanwhile is not replaced either.
        let result = replacing ? rename(temporaryPath, path) : link(temporaryPath, path)
        guard result == 0 else {
            let reason = errno == EEXIST ? "it exists; --force replaces it" : String(cString: strerror(errno))
            unlink(temporaryPath)
            throw Failure("cannot write \(path): \(reason)")
        }
        if !replacing { unlink(temporaryPath) }
    }

    func discard() {
        close(fd)
        unlink(temporaryPath)
    }
}

/// A count on stderr, redrawn a few times a second, only when stderr is a terminal.
final class ExportProgress {
    private var lastDraw = ContinuousClock.now

    func update(_ count: Int) {
        guard count % 4096 == 0, lastDraw.duration(to: .now) > .milliseconds(200) else { return }
        lastDraw = .now
        FileHandle.standardError.write(Data("\rexported \(count) messages".utf8))
    }

    func finish(_ count: Int, to output: String?) {
        let place = output.map { " to " + Sanitizer.inert($0) } ?? ""
        FileHandle.standardError.write(Data("\rexported \(count) messages\(place)\n".utf8))
    }
}
