import ArgumentParser
import Foundation
import Store
import Testing
@testable import Shell

/// `tern topic|nick|kick|ban|invite` with `--queue-only`, unknown subcommands, and intents in
/// `tern outbox` (the Store only: nothing here touches the network).
@Suite struct IntentCommandTests {
    private let home = NSTemporaryDirectory() + "tern-intent-cmd-\(UUID().uuidString)"
    private let room = "tea@conference.example.org"

    private func prepare() throws -> (Store, Account) {
        let store = try Store(directory: home)
        let account = try store.saveAccount(
            Account(jid: "alice@example.org", resource: "tern.test", createdAt: Store.now), credential: nil)
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        return (store, account)
    }

    @Test func unknownSubcommand__is_named__never_the_shell() {
        #expect(Tern.unknownSubcommand(["topci", "x"]) == "topci")
        #expect(Tern.unknownSubcommand(["--home", "/tmp/x", "kik", room]) == "kik")
        #expect(Tern.unknownSubcommand(["--home=/tmp/x", "topic", room, "hi"]) == nil)
        #expect(Tern.unknownSubcommand(["--account", "a@b", "outbox"]) == nil)
        #expect(Tern.unknownSubcommand([]) == nil, "no subcommand: the shell")
        #expect(Tern.unknownSubcommand(["--home", "/tmp/x"]) == nil)
        #expect(Tern.unknownSubcommand(["--help"]) == nil, "options are ArgumentParser's")
        #expect(Tern.unknownSubcommand(["help", "topic"]) == nil)
    }

    @Test func roomActions__parse_with_their_options() throws {
        let kick = try #require(try Tern.parseAsRoot(["kick", room, "bob", "--reason", "spam", "--queue-only"]) as? KickCommand)
        #expect(kick.nick == "bob" && kick.reason == "spam" && kick.options.queueOnly)
        let topic = try #require(try Tern.parseAsRoot(Tern.globalOptionsMoved(["--home", home, "topic", room, "Friday:", "cake"])) as? TopicCommand)
        #expect(topic.text == ["Friday:", "cake"] && !topic.options.queueOnly)
        #expect(throws: (any Error).self) { try Tern.parseAsRoot(["ban", room]) }
    }

    @Test func queueOnly__stores_each_action_and_the_outbox_lists_it_with_its_kind() async throws {
        let (store, account) = try prepare()
        #expect(try await runTern(["--home", home, "topic", room, "Friday", "--queue-only"]) == nil)
        #expect(try await runTern(["--home", home, "nick", room, "ada", "--queue-only"]) == nil)
        #expect(try await runTern(["--home", home, "kick", room, "bob", "--reason", "spam", "--queue-only"]) == nil)
        #expect(try await runTern(["--home", home, "ban", room, "eve@example.org", "--queue-only"]) == nil)
        #expect(try await runTern(["--home", home, "invite", room, "carol@example.org", "--queue-only"]) == nil)
        let intents = try store.intents(accountID: account.rowID)
        #expect(intents.map(\.kind) == [.roomSubject, .roomNick, .roomKick, .roomBan, .roomInvite])
        #expect(intents.allSatisfy { $0.state == .queued && $0.target == room })
        #expect(intents[2].arguments == Intent.Payload(nick: "bob", reason: "spam"))

        let lines = try OutboxListing(store: store, accountID: account.rowID).lines(json: true)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.map { $0["kind"] as? String } == ["room-subject", "room-nick", "room-kick", "room-ban", "room-invite"])
        #expect(objects.first?["id"] as? String == "i\(intents[0].id ?? 0)")
        #expect(objects.first?["body"] as? String == "Friday")
    }

    @Test func badArguments__are_usage_errors__an_unknown_room_a_failure() async throws {
        _ = try prepare()
        #expect(try await runTern(["--home", home, "topic", "not a room", "x", "--queue-only"]) == 64)
        #expect(try await runTern(["--home", home, "kick", room, "bad/nick", "--queue-only"]) == nil, "a nick may hold a slash")
        #expect(try await runTern(["--home", home, "ban", room, "@@", "--queue-only"]) == 64)
        #expect(try await runTern(["--home", home, "invite", "other@conference.example.org", "a@b", "--queue-only"]) == 1)
    }

    @Test func outbox_cancel_and_retry__work_on_intents_by_their_id() async throws {
        let (store, account) = try prepare()
        #expect(try await runTern(["--home", home, "topic", room, "one", "--queue-only"]) == nil)
        let intent = try #require(try store.intents(accountID: account.rowID).first)
        let id = Store.outboxID(of: intent)
        #expect(try await runTern(["--home", home, "outbox", "retry", id]) == 1, "queued, not failed")
        #expect(try await runTern(["--home", home, "outbox", "cancel", id]) == nil)
        #expect(try store.intent(id: intent.id ?? 0)?.state == .cancelled)
        #expect(try await runTern(["--home", home, "outbox", "cancel", id]) == 1, "already cancelled")
        #expect(try await runTern(["--home", home, "outbox", "cancel", "i999"]) == 64, "unknown")
        #expect(throws: UsageFailure.self) { try OutboxEditing.run(.cancel, "i999", store: store, accountID: account.rowID, json: false) }
    }

    @Test func presence__is_listed_until_a_session_has_it__and_is_neither_cancelled_nor_retried() async throws {
        let (store, account) = try prepare()
        #expect(try OutboxListing(store: store, accountID: account.rowID).presence == nil, "never set: nothing to send")
        #expect(try await runTern(["--home", home, "status", "away", "back", "at", "3"]) == nil)
        let lines = try OutboxListing(store: store, accountID: account.rowID).lines(json: true)
        let object = try #require(lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.last)
        #expect(object["kind"] as? String == "presence" && object["body"] as? String == "away: back at 3")
        #expect(try await runTern(["--home", home, "outbox", "cancel", "presence"]) == 1)
        let own = try store.ownPresence(accountID: account.rowID)
        try store.markOwnPresenceSent(accountID: account.rowID, revision: own.revision)
        #expect(try OutboxListing(store: store, accountID: account.rowID).isEmpty, "sent: off the list")
    }
}
