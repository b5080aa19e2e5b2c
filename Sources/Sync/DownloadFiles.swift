import Foundation

/// Where a received file is saved, safely (the class of Dino's CVE-2021-33896: a sender
/// chooses the URL, so its name must never choose the path).
///
/// The name comes from the URL's last path segment, percent-decoded, then reduced to a plain
/// basename. The file is created exclusively, never through a symlink, and never over an
/// existing file: `name (1).ext` follows `name.ext`.
public enum DownloadFiles {
    /// Longest saved name, in UTF-8 bytes (ext4 allows 255; room is left for ` (999)`).
    static let maxNameBytes = 200

    /// The safe name for what `url` points at.
    public static func name(forURL url: String) -> String {
        let path = URLComponents(string: url)?.percentEncodedPath ?? url
        let segment = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? ""
        return safeName(segment.removingPercentEncoding ?? segment)
    }

    /// `raw` as a basename that cannot leave the folder, hide, or display as something else.
    public static func safeName(_ raw: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars {
            switch scalar.properties.generalCategory {
            // Controls, and format characters: the bidi overrides and isolates that make
            // `txt.exe` read as `exe.txt`, zero-width joiners, the BOM.
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                continue
            default:
                scalars.append(scalar == "/" || scalar == "\\" || scalar == ":" ? "_" : scalar)
            }
        }
        var name = String(scalars)
        while name.contains("..") { name = name.replacingOccurrences(of: "..", with: ".") }
        name = String(name.drop { $0 == "." || $0.isWhitespace })
        while let last = name.last, last == "." || last.isWhitespace { name.removeLast() }
        name = capped(name)
        return name.isEmpty ? "file" : name
    }

    /// `name` within `maxNameBytes`, its extension kept when it is short.
    static func capped(_ name: String) -> String {
        guard name.utf8.count > maxNameBytes else { return name }
        let (stem, ext) = split(name)
        let keep = ext.utf8.count <= 16 ? ext : ""
        var cut = stem
        while cut.utf8.count + keep.utf8.count > maxNameBytes { cut.removeLast() }
        return cut + keep
    }

    /// "report.tar.gz" → ("report.tar", ".gz"); no extension → (name, "").
    static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    /// Why a file could not be created.
    public struct CreateError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Creates a new file for `name` in `directory` (made 0700 if missing) and opens it for
    /// writing, mode 0600. Never follows a symlink, never truncates what exists: a taken
    /// name moves on to `name (1).ext`, `name (2).ext`, …
    public static func createExclusive(in directory: String, name: String) throws(CreateError) -> (fd: Int32, path: String) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CreateError(description: "cannot create \(directory): \(error.localizedDescription)")
        }
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw CreateError(description: "cannot open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(folder) }
        let (stem, ext) = split(name)
        for attempt in 0..<1000 {
            let candidate = attempt == 0 ? name : "\(stem) (\(attempt))\(ext)"
            // O_EXCL with O_CREAT fails on an existing name, a symlink included (POSIX open()).
            let fd = openat(folder, candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { return (fd, (directory as NSString).appendingPathComponent(candidate)) }
            guard errno == EEXIST else {
                throw CreateError(description: "cannot create \(candidate) in \(directory): \(String(cString: strerror(errno)))")
            }
        }
        throw CreateError(description: "\(directory) already holds \(name) and 999 numbered copies")
    }

    /// The default folder (CLI.md): the account's `download_dir`, else `$XDG_DOWNLOAD_DIR/tern`,
    /// else `~/Downloads/tern`.
    public static func defaultDirectory(accountSetting: String?, environment: [String: String]) -> String {
        if let setting = accountSetting, !setting.isEmpty { return (setting as NSString).expandingTildeInPath }
        if let xdg = environment["XDG_DOWNLOAD_DIR"], xdg.hasPrefix("/") {
            return (xdg as NSString).appendingPathComponent("tern")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent("Downloads/tern")
    }
}
