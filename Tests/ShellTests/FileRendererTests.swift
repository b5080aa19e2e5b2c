import Foundation
import Testing
@testable import Shell
@testable import Store

/// How files look in the shell and in `tern files`: names made inert, sizes readable.
@Suite struct FileRendererTests {
    private func file(_ url: String, size: Int64? = nil, state: FileTransfer.State = .offered, path: String? = nil) -> FileTransfer {
        FileTransfer(
            id: 7, accountID: 1, messageID: 3, conversation: "bob@example.org", sender: "bob@example.org/phone", direction: .incoming,
            url: url, size: size, state: state, path: path, error: nil, createdAt: 0, updatedAt: 0)
    }

    @Test func offer__names_the_sender_the_file_its_size_and_the_command() {
        let line = FileRenderer.offer(file("https://up.example.org/a/holiday%20photo.jpg", size: 2_400_000), from: "Bob")
        #expect(line == "file from Bob: holiday photo.jpg (2.4 MB) — /download 7")
    }

    @Test func a_hostile_name_is_inert_on_the_line() {
        let line = FileRenderer.offer(file("https://up.example.org/a/x%1B%5B31mred%E2%80%AEtxt.exe"), from: "Bob")
        #expect(!line.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
    }

    @Test func byte_counts_read_like_people_write_them() {
        #expect(ByteCount.text(999) == "999 B")
        #expect(ByteCount.text(1_500) == "1.5 KB")
        #expect(ByteCount.text(25_000_000) == "25 MB")
    }

    @Test func a_path_may_be_quoted_and_the_rest_is_the_caption() {
        #expect(InteractiveShell.pathAndRest("/tmp/a.png look") == ("/tmp/a.png", "look"))
        #expect(InteractiveShell.pathAndRest("'/tmp/my file.png'  two words") == ("/tmp/my file.png", "two words"))
        #expect(InteractiveShell.pathAndRest("~/b.pdf") == ("~/b.pdf", nil))
    }
}
