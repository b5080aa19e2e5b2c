import Foundation
import Testing
@testable import Store

/// Several accounts in one store: exactly one default, moved only on purpose.
@Suite struct DefaultAccountTests {
    private func threeAccounts() throws -> (Store, [Account]) {
        let (store, alice) = try makeStore()
        let bob = try store.saveAccount(Account(jid: "bob@example.org", resource: "tern.b", createdAt: Store.now), credential: nil)
        let carol = try store.saveAccount(Account(jid: "carol@example.org", resource: "tern.c", createdAt: Store.now), credential: nil)
        return (store, [alice, bob, carol])
    }

    private func defaults(_ store: Store) throws -> [String] {
        try store.accounts().filter(\.isDefault).map(\.jid)
    }

    @Test func setDefaultAccount__moves_the_flag_so_exactly_one_account_has_it() throws {
        let (store, accounts) = try threeAccounts()
        #expect(try defaults(store) == ["alice@example.org"], "the first account saved is the default")
        let chosen = try #require(try store.setDefaultAccount(jid: "carol@example.org"))
        #expect(chosen.isDefault)
        #expect(try defaults(store) == ["carol@example.org"])
        #expect(try store.defaultAccount()?.jid == "carol@example.org")
        // Again, on the same account: still one.
        try store.setDefaultAccount(jid: "carol@example.org")
        #expect(try defaults(store) == ["carol@example.org"])
        #expect(accounts.count == 3)
    }

    @Test func setDefaultAccount__for_an_unknown_jid__changes_nothing() throws {
        let (store, _) = try threeAccounts()
        #expect(try store.setDefaultAccount(jid: "nobody@example.org") == nil)
        #expect(try defaults(store) == ["alice@example.org"])
    }

    @Test func updateAccount__with_a_stale_copy__does_not_bring_back_an_old_default() throws {
        let (store, accounts) = try threeAccounts()
        var staleAlice = accounts[0]
        #expect(staleAlice.isDefault)
        try store.setDefaultAccount(jid: "bob@example.org")
        // A long-running shell still holds alice as it was, and changes another setting.
        staleAlice.priority = 7
        try store.updateAccount(staleAlice)
        #expect(try defaults(store) == ["bob@example.org"])
        #expect(try store.account(jid: "alice@example.org")?.priority == 7, "the setting itself is written")
    }

    @Test func saveAccount__of_a_second_or_existing_account__keeps_the_first_as_default() throws {
        let (store, accounts) = try threeAccounts()
        var bob = accounts[1]
        bob.host = "xmpp.example.org"
        try store.saveAccount(bob, credential: nil)
        #expect(try defaults(store) == ["alice@example.org"])
    }
}
