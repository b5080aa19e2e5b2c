/// Saved names and exclusive creation for received files: hostile URLs stay inside the
/// folder, and nothing existing (a file, a planted symlink) is ever written through.
import Foundation
import Testing
@testable import Sync

@Suite struct DownloadFilesTests {
    @Test(arguments: [
        ("https://h.example/a/report.pdf", "report.pdf"),
        ("https://h.example/a/tr%C3%A8s%20cool.jpg?x=1#frag", "très cool.jpg"),
        ("https://h.example/a/..%2F..%2F.ssh%2Fauthorized_keys", "_._.ssh_authorized_keys"),
        ("https://h.example/a/%2e%2e", "file"),
        ("https://h.example/a/.bashrc", "bashrc"),
        ("https://h.example/a/..%5C..%5Cwin.ini", "_._win.ini"),
        ("https://h.example/a/invoice%E2%80%AEfdp.exe", "invoicefdp.exe"),
        ("https://h.example/a/evil%0D%0Aname%07.txt", "evilname.txt"),
        ("https://h.example/a/%E2%81%A6hidden%E2%81%A9.sh", "hidden.sh"),
        ("https://h.example/", "file"),
        ("https://h.example/a/name.", "name"),
        ("https://h.example/a/C%3A%5Cboot.ini", "C__boot.ini"),
    ])
    func name__from_a_url_is_a_plain_basename(url: String, expected: String) {
        let name = DownloadFiles.name(forURL: url)
        #expect(name == expected)
        #expect(!name.contains("/") && !name.contains("\\") && !name.contains("..") && !name.hasPrefix("."))
    }

    @Test func name__is_capped_keeping_its_extension() {
        let long = String(repeating: "é", count: 300) + ".tar.gz"
        let name = DownloadFiles.safeName(long)
        #expect(name.utf8.count <= DownloadFiles.maxNameBytes)
        #expect(name.hasSuffix(".gz"))
    }

    private func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "tern-downloads-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func create__never_overwrites_and_numbers_the_copies() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("mine".utf8).write(to: URL(fileURLWithPath: directory + "/photo.jpg"))
        let first = try DownloadFiles.createExclusive(in: directory, name: "photo.jpg")
        close(first.fd)
        let second = try DownloadFiles.createExclusive(in: directory, name: "photo.jpg")
        close(second.fd)
        #expect(first.path == directory + "/photo (1).jpg")
        #expect(second.path == directory + "/photo (2).jpg")
        #expect(try String(contentsOfFile: directory + "/photo.jpg", encoding: .utf8) == "mine")
        let mode = try FileManager.default.attributesOfItem(atPath: first.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func create__never_writes_through_a_planted_symlink() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let victim = directory + "-victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        defer { try? FileManager.default.removeItem(atPath: victim) }
        try FileManager.default.createSymbolicLink(atPath: directory + "/notes.txt", withDestinationPath: victim)
        // A dangling link too: O_CREAT alone would create its target.
        try FileManager.default.createSymbolicLink(atPath: directory + "/new.txt", withDestinationPath: directory + "-created")
        let created = try DownloadFiles.createExclusive(in: directory, name: "notes.txt")
        _ = "overwritten".withCString { write(created.fd, $0, 11) }
        close(created.fd)
        let dangling = try DownloadFiles.createExclusive(in: directory, name: "new.txt")
        close(dangling.fd)
        #expect(created.path == directory + "/notes (1).txt")
        #expect(dangling.path == directory + "/new (1).txt")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        #expect(!FileManager.default.fileExists(atPath: directory + "-created"))
    }

    @Test func default_directory__follows_the_setting_then_xdg_then_home() {
        #expect(DownloadFiles.defaultDirectory(accountSetting: "/srv/in", environment: ["HOME": "/h"]) == "/srv/in")
        #expect(DownloadFiles.defaultDirectory(accountSetting: nil, environment: ["XDG_DOWNLOAD_DIR": "/x/dl", "HOME": "/h"]) == "/x/dl/tern")
        #expect(DownloadFiles.defaultDirectory(accountSetting: "", environment: ["HOME": "/h"]) == "/h/Downloads/tern")
    }
}

@Suite struct HTTPTrustTests {
    private let pin = String(repeating: "ab", count: 32)

    @Test func own_domain_and_subdomains_get_the_account_trust_others_the_system() throws {
        let trust = HTTPTrust(domain: "example.org", caFile: "/ca.pem")
        #expect(try trust.settings(for: "https://example.org/f").caFile == "/ca.pem")
        #expect(try trust.settings(for: "https://upload.example.org:5281/f").caFile == "/ca.pem")
        #expect(try trust.settings(for: "https://evilexample.org/f").caFile == nil)
        #expect(try trust.settings(for: "https://example.org.evil.net/f").caFile == nil)
    }

    @Test func a_pin_becomes_curls_sha256_base64() throws {
        let trust = HTTPTrust(domain: "example.org", caFile: "/ca.pem", pinnedSPKI: pin)
        let settings = try trust.settings(for: "https://upload.example.org/f")
        #expect(settings.pin == "sha256//" + Data(repeating: 0xAB, count: 32).base64EncodedString())
        #expect(settings.caFile == nil)
        #expect(try trust.settings(for: "https://cdn.other.net/f").pin == nil)
    }

    @Test func plain_http_only_when_allowed_and_other_schemes_never() {
        #expect(throws: HTTPTransferError.plainHTTP) { try HTTPTrust(domain: "example.org").settings(for: "http://example.org/f") }
        #expect(throws: Never.self) { try HTTPTrust(domain: "example.org", allowsHTTP: true).settings(for: "http://example.org/f") }
        #expect(throws: HTTPTransferError.badURL) { try HTTPTrust(domain: "example.org").settings(for: "file:///etc/passwd") }
        #expect(throws: HTTPTransferError.badURL) { try HTTPTrust(domain: "example.org").settings(for: "https:///nohost") }
    }
}
