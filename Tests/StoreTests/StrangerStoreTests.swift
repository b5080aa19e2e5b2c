import Foundation
import Testing
@testable import Store

/// What people who are not in the roster can make us store (DESIGN §6, Floods): presence per
/// resource and subscription requests, each capped per sender and in total.
@Suite struct StrangerStoreTests {
    func presence(_ account: Account, _ jid: String, _ resource: String, available: Bool = true, at time: Double = 100) -> ResourcePresence {
        ResourcePresence(accountID: account.rowID, jid: jid, resource: resource, available: available, updatedAt: time)
    }

    func contact(_ jid: String) -> Store.ServerRosterItem {
        Store.ServerRosterItem(jid: jid, subscription: .both)
    }

    @Test func presence__a_stranger_s_resources_stop_at_the_cap__a_contact_s_do_not() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [contact("bob@example.org")], version: nil)
        let many = Store.maxStrangerResources + 3
        try store.storePresence((0..<many).map { presence(account, "spam@example.org", "r\($0)") })
        try store.storePresence((0..<many).map { presence(account, "bob@example.org", "r\($0)") })
        #expect(try store.presence(accountID: account.rowID, jid: "spam@example.org").count == Store.maxStrangerResources)
        #expect(try store.presence(accountID: account.rowID, jid: "bob@example.org").count == many)
    }

    @Test func presence__stranger_rows_stop_at_the_cap_in_total__our_own_resources_are_no_strangers() throws {
        let (store, account) = try makeStore()
        let strangers = (0..<(Store.maxStrangerPresence + 10)).map { presence(account, "s\($0)@example.org", "r") }
        // One burst, as a flood arrives: the cap holds inside a transaction too.
        try store.storePresence(strangers)
        try store.storePresence((0..<8).map { presence(account, account.jid, "device\($0)") })
        #expect(try strangerRows(store, account) == Store.maxStrangerPresence)
        #expect(try store.presence(accountID: account.rowID, jid: account.jid).count == 8)
    }

    @Test func presence__a_stranger_going_offline_leaves_no_row() throws {
        let (store, account) = try makeStore()
        try store.storePresence([presence(account, "s@example.org", "r")])
        try store.storePresence([presence(account, "s@example.org", "r", available: false, at: 200)])
        #expect(try store.presence(accountID: account.rowID, jid: "s@example.org").isEmpty)
        // Unavailable from a stranger we never saw online: nothing to remember.
        try store.storePresence([presence(account, "t@example.org", "r", available: false)])
        #expect(try store.presence(accountID: account.rowID, jid: "t@example.org").isEmpty)
    }

    @Test func subscriptionRequests__one_row_per_sender__refreshed_by_a_new_request() throws {
        let (store, account) = try makeStore()
        try store.addSubscriptionRequest(accountID: account.rowID, jid: "bob@example.org", message: "first")
        try store.addSubscriptionRequest(accountID: account.rowID, jid: "bob@example.org", message: "again")
        let requests = try store.subscriptionRequests(accountID: account.rowID)
        #expect(requests.map(\.jid) == ["bob@example.org"])
        #expect(requests.first?.message == "again")
    }

    @Test func subscriptionRequests__a_flood_stops_at_the_cap__and_what_was_stored_stays() throws {
        let (store, account) = try makeStore()
        try store.addSubscriptionRequest(accountID: account.rowID, jid: "friend@example.org", message: "it's me")
        for n in 0..<(Store.maxPendingSubscriptionRequests + 20) {
            try store.addSubscriptionRequest(accountID: account.rowID, jid: "spam\(n)@example.org", message: nil)
        }
        let requests = try store.subscriptionRequests(accountID: account.rowID)
        #expect(requests.count == Store.maxPendingSubscriptionRequests)
        #expect(requests.contains { $0.jid == "friend@example.org" }, "a flood never pushes out a request already stored")
    }

    @Test func presence__changes_say_whose_they_are_and_what_was_refused() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [contact("bob@example.org")], version: nil)
        let changes = try store.storePresence(
            [presence(account, "bob@example.org", "desk"), presence(account, "s@example.org", "r")]
                + (0...Store.maxStrangerResources).map { presence(account, "spam@example.org", "r\($0)") })
        #expect(changes.contacts.map(\.jid) == ["bob@example.org"])
        #expect(changes.strangers.count == 1 + Store.maxStrangerResources)
        #expect(changes.refused == 1)
        let gone = try store.storePresence([presence(account, "s@example.org", "r", available: false, at: 200)])
        #expect(gone.strangers.map(\.available) == [false], "going offline is still news")
    }

    @Test func presence__at_a_full_cap_a_stranger_s_offline_row_makes_way__live_ones_never_do() throws {
        let (store, account) = try makeStore()
        try store.storePresence((0..<Store.maxStrangerPresence).map { presence(account, "s\($0)@example.org", "r", at: Double($0)) })
        #expect(try store.storePresence([presence(account, "late@example.org", "r")]).refused == 1)
        // The session ends: every row is offline now, history that a live newcomer may replace.
        try store.clearPresence(accountID: account.rowID)
        let changes = try store.storePresence([presence(account, "late@example.org", "r", at: 500)])
        #expect(changes.refused == 0)
        #expect(try strangerRows(store, account) == Store.maxStrangerPresence)
        #expect(try store.presence(accountID: account.rowID, jid: "s0@example.org").isEmpty, "the oldest made way")
        #expect(try store.presence(accountID: account.rowID, jid: "late@example.org").count == 1)
    }

    @Test func pruneStrangerPresence__drops_strangers_rows_older_than_the_cutoff_only() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [contact("bob@example.org")], version: nil)
        try store.storePresence([
            presence(account, "old@example.org", "r", at: 100), presence(account, "new@example.org", "r", at: 900),
            presence(account, "bob@example.org", "r", at: 100), presence(account, account.jid, "other", at: 100),
        ])
        #expect(try store.pruneStrangerPresence(accountID: account.rowID, before: 500) == 1)
        #expect(try store.presence(accountID: account.rowID, jid: "old@example.org").isEmpty)
        #expect(try store.presence(accountID: account.rowID, jid: "new@example.org").count == 1)
        #expect(try store.presence(accountID: account.rowID, jid: "bob@example.org").count == 1, "a contact's history stays")
        #expect(try store.presence(accountID: account.rowID, jid: account.jid).count == 1)
    }

    @Test func subscriptionRequests__say_whether_stored_refreshed_or_refused__an_answer_makes_room() throws {
        let (store, account) = try makeStore()
        for n in 0..<Store.maxPendingSubscriptionRequests {
            #expect(try store.addSubscriptionRequest(accountID: account.rowID, jid: "s\(n)@example.org", message: nil) == .stored)
        }
        #expect(try store.addSubscriptionRequest(accountID: account.rowID, jid: "late@example.org", message: nil) == .refused)
        #expect(try store.addSubscriptionRequest(accountID: account.rowID, jid: "s0@example.org", message: "again") == .refreshed)
        try store.enqueueRosterIntent(accountID: account.rowID, jid: "s1@example.org", action: .deny)
        #expect(try store.addSubscriptionRequest(accountID: account.rowID, jid: "late@example.org", message: nil) == .stored)
    }

    private func strangerRows(_ store: Store, _ account: Account) throws -> Int {
        try store.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM presence WHERE account_id = ? AND jid != ?", arguments: [account.rowID, account.jid]) ?? 0
        }
    }
}
