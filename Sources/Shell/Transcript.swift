import Foundation
import Store
import Sync

/// Bytes to a file descriptor in large writes: `history` and `export` stream rows through
/// this instead of one `print` per row, and never hold more than one buffer.
final class ByteOutput {
    private let fd: Int32
    var buffer: [UInt8] = []
    static let chunk = 1 << 16

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(Self.chunk + 4096)
    }

    /// Writes the buffer out once it holds a chunk.
    func flushIfFull() throws {
        if buffer.count >= Self.chunk { try flush() }
    }

    func flush() throws {
        var written = 0
        while written < buffer.count {
            let result = buffer.withUnsafeBytes { bytes in
                Foundation.write(fd, bytes.baseAddress! + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot write: \(String(cString: strerror(errno)))")
            }
            written += result
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A conversation as Markdown that reads as a transcript: a heading per conversation, one per
/// day, then `**sender** (HH:MM): text` paragraphs, local time.
///
/// Everything a peer wrote is escaped so it cannot forge structure: no heading, list, quote,
/// code block, table, link, HTML or bold of its own, so a line that looks like a message from
/// someone else is visibly part of the text around it. Controls are made inert first, as on a
/// terminal (the file may well be `cat`ed).
struct MarkdownTranscript {
    private var conversation: String?
    private var day: (year: Int32, yearDay: Int32)?
    /// The last minute converted: `localtime_r` costs more than the rest of a line, and
    /// neighbouring messages mostly share their minute.
    private var minute: (start: Double, parts: tm)?

    mutating func append(_ entry: HistoryEntry, to out: inout [UInt8]) {
        let message = entry.message
        let start = (message.timestamp / 60).rounded(.down) * 60
        let parts = minute?.start == start ? minute!.parts : LocalTime.parts(start)
        minute = (start, parts)
        if message.conversation != conversation {
            if conversation != nil { out.append(UInt8(ascii: "\n")) }
            out.append(contentsOf: "# ".utf8)
            Self.escape(Sanitizer.inert(message.conversation), &out)
            out.append(contentsOf: "\n\n".utf8)
            conversation = message.conversation
            day = nil
        }
        if day?.year != parts.tm_year || day?.yearDay != parts.tm_yday {
            out.append(contentsOf: "## ".utf8)
            LocalTime.appendDay(parts, to: &out)
            out.append(contentsOf: "\n\n".utf8)
            day = (parts.tm_year, parts.tm_yday)
        }
        let action = message.retractedAt == nil ? message.meAction : nil
        if action != nil { out.append(contentsOf: "\\* ".utf8) }
        out.append(contentsOf: "**".utf8)
        Self.escape(Sanitizer.inert(Self.senderName(message)), &out)
        out.append(contentsOf: "** (".utf8)
        LocalTime.appendClock(parts, to: &out)
        out.append(UInt8(ascii: ")"))
        if message.retractedAt != nil {
            out.append(contentsOf: ": *(retracted)*".utf8)
        } else {
            out.append(contentsOf: (action != nil ? " " : ": ").utf8)
            Self.escape(Sanitizer.inertMultiline(action.map(String.init) ?? message.body), &out)
            if message.editedAt != nil { out.append(contentsOf: " *(edited)*".utf8) }
        }
        out.append(contentsOf: "\n\n".utf8)
    }

    /// The room nick, else the sender's bare JID (ours, for what we sent).
    static func senderName(_ message: StoredMessage) -> String {
        if let nick = message.nick, !nick.isEmpty { return nick }
        return message.sender.split(separator: "/", maxSplits: 1).first.map(String.init) ?? message.sender
    }

    /// Characters that mean something anywhere in a line, as a table by byte (a `Set` lookup
    /// per byte costs more than the rest of the export).
    private static let inline = table("\\`*_[]<>&|~")
    /// Characters that mean something at the start of a line (headings, lists, quotes, setext underlines).
    private static let lineStart = table("#+-=>")

    private static func table(_ characters: String) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        for byte in characters.utf8 { table[Int(byte)] = true }
        return table
    }

    /// CommonMark backslash escapes (§2.4). A line break in the text becomes a hard break
    /// (`\` at the end of the line), so a body stays one paragraph under its sender.
    static func escape(_ text: String, _ out: inout [UInt8]) {
        let (inline, lineStart) = (Self.inline, Self.lineStart)
        var atLineStart = true
        var pendingDigits = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") {
                out.append(contentsOf: "\\\n".utf8)
                atLineStart = true
                continue
            }
            if atLineStart, byte == UInt8(ascii: " ") {
                out.append(byte)  // spaces before a marker still start the line
                continue
            }
            if atLineStart, lineStart[Int(byte)] || inline[Int(byte)] {
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
                atLineStart = false
                continue
            }
            // `1.` or `1)` opening a line is an ordered list.
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if atLineStart, isDigit {
                pendingDigits = true
                atLineStart = false
                out.append(byte)
                continue
            }
            if pendingDigits, !isDigit {
                pendingDigits = false
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: ")") { out.append(UInt8(ascii: "\\")) }
            }
            atLineStart = false
            if inline[Int(byte)] { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
    }
}
