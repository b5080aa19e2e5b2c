import Foundation
import Store
import Testing
@testable import Shell

/// Names in contact arguments, resolved against a real Store's roster: an exact name beats an
/// exact local part, which beats a prefix; unknown and ambiguous names are errors, never a send.
@Suite struct ContactNamesTests {
    private let home = NSTemporaryDirectory() + "tern-names-\(UUID().uuidString)"

    private func prepare() throws -> (Store, Account) {
        let store = try Store(directory: home)
        let account = try store.saveAccount(
            Account(jid: "me@example.org", resource: "tern.test", createdAt: Store.now), credential: nil)
        try store.replaceRoster(
            accountID: account.rowID,
            items: [
                .init(jid: "zebedee@example.org", name: "Zébédée", subscription: .both),
                .init(jid: "alice@example.org", name: "Alice", subscription: .both),
                .init(jid: "alan@example.org", name: "Alan", subscription: .both),
                .init(jid: "al@example.net", name: "Big Al", subscription: .both),
                .init(jid: "uyen@example.org", subscription: .both),
                .init(jid: "smith@example.com", name: "Alice Smith", subscription: .to),
            ], version: nil)
        return (store, account)
    }

    private func resolve(_ text: String, _ store: Store, _ account: Account) -> Result<String, ContactNames.NameError> {
        Result { () throws(ContactNames.NameError) in try ContactNames.jid(text, store: store, accountID: account.rowID) }
    }

    @Test func names_and_local_parts_resolve_ignoring_case_and_diacritics() throws {
        let (store, account) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(try resolve("zeb", store, account).get() == "zebedee@example.org")
        #expect(try resolve("ZÉBÉDÉE", store, account).get() == "zebedee@example.org")
        #expect(try resolve("uy", store, account).get() == "uyen@example.org", "a prefix of the JID's local part")
        #expect(try resolve("smi", store, account).get() == "smith@example.com")
        #expect(try resolve("bob@elsewhere.org", store, account).get() == "bob@elsewhere.org", "a JID is left alone")
    }

    @Test func an_exact_name_beats_a_local_part_which_beats_a_prefix() throws {
        let (store, account) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(try resolve("alice", store, account).get() == "alice@example.org", "exact name, though Alice Smith starts so too")
        #expect(try resolve("al", store, account).get() == "al@example.net", "exact local part, though Alice and Alan start so")
        #expect(try resolve("Big Al", store, account).get() == "al@example.net")
        #expect(try resolve("big a", store, account).get() == "al@example.net", "a prefix of the whole name")
        #expect(Store.NamedContact.fold("ZÉBÉDÉE Ａ") == "zebedee a", "case, accents and width folded")
    }

    @Test func ambiguous_and_unknown_names_are_one_line_errors_naming_the_candidates() throws {
        let (store, account) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: home) }
        guard case .failure(let ambiguous) = resolve("ali", store, account) else { Issue.record("ali resolved"); return }
        #expect(ambiguous.message == "\"ali\" matches alice@example.org (Alice) and smith@example.com (Alice Smith): say which")
        guard case .failure(let unknown) = resolve("bob", store, account) else { Issue.record("bob resolved"); return }
        #expect(unknown.message.hasPrefix("no contact is called \"bob\""))
        #expect(!unknown.message.contains("\n") && !ambiguous.message.contains("\n"))
        #expect(ContactNames.listing((1...7).map { Store.NamedContact(jid: "u\($0)@x", name: nil) })
            == "u1@x, u2@x, u3@x, u4@x, u5@x and 2 more")
    }

    /// `/msg lounge hi`, `/chat lounge`: a conversation argument names rooms too; a contact one does not.
    @Test func a_conversation_argument_names_a_room_by_its_local_part_or_name() throws {
        let (store, account) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try store.wantRoom(accountID: account.rowID, jid: "lounge@conference.example.org", nick: "me", autojoin: true)
        let asConversation = Result { () throws(ContactNames.NameError) in
            try ContactNames.jid("lounge", store: store, accountID: account.rowID, rooms: true)
        }
        #expect(try asConversation.get() == "lounge@conference.example.org")
        guard case .failure(let asContact) = resolve("lounge", store, account) else { Issue.record("a room resolved as a contact"); return }
        #expect(asContact.message.hasPrefix("no contact is called \"lounge\""))
        let named = [Store.NamedContact(jid: "t1@conference.example.org", name: "Tea Time")]
        #expect(ContactNames.resolve("tea", among: named) == .jid("t1@conference.example.org"), "a room's name, as a bookmark gives it")
    }

    @Test func a_contact_added_locally_is_found_by_the_name_it_was_given() throws {
        let (store, account) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: home) }
        _ = try store.enqueueRosterIntent(accountID: account.rowID, jid: "carol@example.org", action: .add, name: "Carol", groups: [])
        #expect(try resolve("car", store, account).get() == "carol@example.org")
    }

    /// `tern send uy hi` goes to uyen@…; `tern send nobody hi` queues nothing and exits 64.
    @Test func the_cli_resolves_names_and_refuses_unknown_ones_with_exit_64() async throws {
        let (store, account) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(try await runTern(["--home", home, "send", "uy", "hi", "--queue-only"]) == nil)
        #expect(try await runTern(["--home", home, "send", "nobody", "hi", "--queue-only"]) == 64)
        #expect(try await runTern(["--home", home, "send", "ali", "hi", "--queue-only"]) == 64)
        #expect(try await runTern(["--home", home, "history", "nobody"]) == 64)
        #expect(try await runTern(["--home", home, "history", "zeb"]) == nil)
        #expect(try store.queuedCount(accountID: account.rowID) == 1)
        #expect(try store.history(accountID: account.rowID, conversation: "uyen@example.org", limit: 5).count == 1)
    }
}
