import ArgumentParser
import Foundation
import Store
import Testing
@testable import Shell

/// `tern outbox`, `tern outbox cancel ID`, `tern outbox retry ID`, parsed and run in-process
/// against a temporary data directory (the Store only: these never touch the network).
@Suite struct OutboxCommandTests {
    private let home = NSTemporaryDirectory() + "tern-outbox-cmd-\(UUID().uuidString)"

    private func prepare(ids: [String]) throws -> (Store, Account) {
        let store = try Store(directory: home)
        let account = try store.saveAccount(
            Account(jid: "alice@example.org", resource: "tern.test", createdAt: Store.now), credential: nil)
        for id in ids {
            try store.enqueue(Store.NewOutgoing(
                id: id, accountID: account.rowID, sender: "alice@example.org/tern.test", recipient: "bob@example.org",
                conversation: "bob@example.org", type: "chat", body: "body \(id)", stanza: "<message id='\(id)'/>"))
        }
        return (store, account)
    }

    private func parse(_ arguments: [String]) throws -> any ParsableCommand {
        try Tern.parseAsRoot(Tern.globalOptionsMoved(arguments))
    }

    /// Runs the command as `tern` would; nil for success, else the exit status it chose.
    private func run(_ arguments: [String]) async throws -> Int32? {
        guard var command = try parse(arguments) as? any AsyncParsableCommand else { return -1 }
        do {
            try await command.run()
            return nil
        } catch let exit as ExitCode {
            return exit.rawValue
        }
    }

    @Test func parse__cancel_and_retry__take_an_id_and_global_options_before_or_after() throws {
        let cancel = try #require(try parse(["--home", home, "outbox", "cancel", "abcd"]) as? OutboxCancelCommand)
        #expect(cancel.id == "abcd")
        #expect(!cancel.printsJSON)
        let retry = try #require(try parse(["outbox", "--home", home, "retry", "abcd", "--json"]) as? OutboxRetryCommand)
        #expect(retry.id == "abcd")
        #expect(retry.printsJSON)
        let before = try #require(try parse(["outbox", "--json", "cancel", "abcd"]) as? OutboxCancelCommand)
        #expect(before.printsJSON)
        let listing = try #require(try parse(["--home", home, "outbox", "--json"]) as? OutboxCommand)
        #expect(listing.json, "the bare listing keeps its --json")
        #expect(throws: (any Error).self) { try parse(["outbox", "cancel"]) }
        #expect(throws: (any Error).self) { try parse(["outbox", "retry", "a", "b"]) }
    }

    @Test func cancel__a_queued_message__succeeds_and_removes_it_from_history() async throws {
        let (store, account) = try prepare(ids: ["d00d0001-0000", "d00d0002-0000"])
        #expect(try await run(["--home", home, "outbox", "cancel", "d00d0001"]) == nil)
        #expect(try store.outboxItem(id: "d00d0001-0000")?.state == .cancelled)
        let history = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(history.map(\.message.outboxID) == ["d00d0002-0000"])
    }

    @Test func cancel__bad_ids_are_usage_errors_and_wrong_states_are_failures() async throws {
        let (store, account) = try prepare(ids: ["d00d0001-0000", "d00d0002-0000"])
        #expect(try await run(["--home", home, "outbox", "cancel", "d00d"]) == 64, "ambiguous")
        #expect(try await run(["--home", home, "outbox", "cancel", "d00"]) == 64, "too short")
        #expect(try await run(["--home", home, "outbox", "cancel", "ffff"]) == 64, "unknown")
        try store.markOutbox(ids: ["d00d0002-0000"], as: .sent, from: [.queued])
        #expect(try await run(["--home", home, "outbox", "cancel", "d00d0002"]) == 1, "already sent")
        #expect(try await run(["--home", home, "outbox", "retry", "d00d0001"]) == 1, "queued, not failed")
        #expect(try store.outbox(accountID: account.rowID).map(\.state) == [.queued, .sent], "nothing changed")
    }

    @Test func retry__a_failed_message__queues_it_again() async throws {
        let (store, _) = try prepare(ids: ["d00d0003-0000"])
        try store.markOutbox(ids: ["d00d0003-0000"], as: .sent, from: [.queued])
        try store.settleOutbox(delivered: [], failed: [(id: "d00d0003-0000", reason: "remote-server-not-found")])
        #expect(try await run(["--home", home, "outbox", "retry", "D00D0003", "--json"]) == nil)
        let row = try #require(try store.outboxItem(id: "d00d0003-0000"))
        #expect(row.state == .queued && row.error == nil)
    }

    @Test func shell__outbox_entry__documents_cancel_and_retry() {
        let spec = CommandTable.find("outbox")
        #expect(spec?.minArguments == 0)
        let help = CommandTable.helpText(for: "/outbox")
        #expect(help.hasPrefix("/outbox [cancel|retry] [ID]"))
        #expect(help.contains("/outbox retry 7f3a"), "an example")
    }

    @Test func result__json_is_the_outbox_listing_object() throws {
        let (store, account) = try prepare(ids: ["d00d0004-0000"])
        let item = try OutboxEditing.apply(.cancel, "d00d0004", store: store, accountID: account.rowID)
        #expect(OutboxEditing.result(item, json: false) == "d00d0004-0000 cancelled")
        let line = OutboxEditing.result(item, json: true)
        #expect(line == Renderer.outboxJSON(item))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["state"] as? String == "cancelled")
        #expect(object["id"] as? String == "d00d0004-0000")
        #expect(Set(object.keys).isSuperset(of: ["id", "to", "body", "state", "attempts", "created"]))
    }
}
