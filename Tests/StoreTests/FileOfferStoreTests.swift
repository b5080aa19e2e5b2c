import Foundation
import Testing
@testable import Store

/// Which stored messages become file offers (migration 0017), and a download's states.
@Suite struct FileOfferStoreTests {
    @Test(arguments: [
        ("https://upload.example.org/abc/photo.jpg", true),
        ("  https://upload.example.org/abc/photo.jpg\n", true),
        ("HTTPS://upload.example.org/abc/report%20final.pdf", true),
        ("https://example.org", false),
        ("https://example.org/", false),
        ("http://upload.example.org/abc/photo.jpg", false),
        ("see https://upload.example.org/abc/photo.jpg", false),
        ("https://upload.example.org/abc/photo.jpg and more", false),
        ("hello", false),
        ("", false),
    ])
    func body__only_an_https_url_to_a_name_is_an_offer(body: String, offers: Bool) {
        #expect((FileOffer.url(inBody: body) != nil) == offers)
    }

    @Test func offers__are_stored_with_their_message_once_and_only_incoming() throws {
        let (store, account) = try makeStore()
        var oob = incoming(account, "here is the file", key: "o:2")
        oob.offeredURL = "https://upload.example.org/x/notes.txt"
        var mine = incoming(account, "https://upload.example.org/x/mine.png", key: "o:3")
        mine.direction = .outgoing
        let stored = try store.insertMessages([
            incoming(account, "https://upload.example.org/x/photo.jpg", key: "o:1"), oob, mine,
            incoming(account, "just words", key: "o:4"),
        ])
        #expect(stored.count == 4)
        // A copy of the same message (carbon, archive) is no second offer.
        _ = try store.insertMessages([incoming(account, "https://upload.example.org/x/photo.jpg", key: "o:1")])
        let files = try store.files(accountID: account.rowID)
        #expect(files.map(\.url) == ["https://upload.example.org/x/notes.txt", "https://upload.example.org/x/photo.jpg"])
        #expect(files.allSatisfy { $0.state == .offered && $0.sender == "bob@example.org/phone" && $0.conversation == "bob@example.org" })
        #expect(try store.file(forMessage: stored[0].id!)?.url == "https://upload.example.org/x/photo.jpg")
    }

    @Test func a_retracted_offer_is_no_longer_listed() throws {
        let (store, account) = try makeStore()
        var offer = incoming(account, "https://upload.example.org/x/oops.jpg", key: "i:m1", at: 100)
        offer.originID = "origin-1"
        _ = try store.insertApplyingEdits([offer])
        #expect(try store.files(accountID: account.rowID).count == 1)
        var retraction = incoming(account, "fallback text", key: "i:r1", at: 120)
        retraction.edit = EditRequest(.retraction, of: "origin-1")
        #expect(try store.insertApplyingEdits([retraction]).edited.count == 1)
        #expect(try store.files(accountID: account.rowID).isEmpty)
    }

    @Test func download_states__are_recorded_with_path_size_and_reason() throws {
        let (store, account) = try makeStore()
        _ = try store.insertMessages([incoming(account, "https://upload.example.org/x/a.bin", key: "o:1")])
        let id = try #require(try store.files(accountID: account.rowID).first?.id)
        #expect(try store.updateFile(id: id, state: .downloading)?.state == .downloading)
        let failed = try store.updateFile(id: id, state: .failed, error: "the server answered HTTP 404")
        #expect(failed?.state == .failed && failed?.error == "the server answered HTTP 404")
        let done = try store.updateFile(id: id, state: .done, path: "/tmp/a.bin", size: 42)
        #expect(done?.state == .done && done?.path == "/tmp/a.bin" && done?.size == 42 && done?.error == nil)
        #expect(try store.file(accountID: account.rowID + 1, id: id) == nil, "another account's id finds nothing")
    }
}
