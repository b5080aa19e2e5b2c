import Foundation
import Testing
@testable import Store

/// The roster, presence, requests and intents tables (migration 0002).
@Suite struct RosterStoreTests {
    func item(_ jid: String, _ subscription: Contact.Subscription? = .both, groups: [String] = []) -> Store.ServerRosterItem {
        Store.ServerRosterItem(jid: jid, name: nil, subscription: subscription, groups: groups)
    }

    @Test func replaceRoster__replaces_everything_and_keeps_the_version() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [item("old@example.org")], version: "v1")
        try store.replaceRoster(
            accountID: account.rowID, items: [item("bob@example.org", groups: ["Friends", "Work"]), item("carol@example.org", .to)],
            version: "v2")
        let entries = try store.rosterEntries(accountID: account.rowID)
        #expect(entries.map(\.jid) == ["bob@example.org", "carol@example.org"])
        #expect(entries[0].groups == ["Friends", "Work"])
        #expect(entries[1].subscription == .to)
        #expect(try store.rosterVersion(accountID: account.rowID) == "v2")
        #expect(try store.lastRosterFetch(accountID: account.rowID)?.items == 2)
        #expect(try store.contacts(accountID: account.rowID, inGroup: "Work") == ["bob@example.org"])
        // The connection state written by the engine does not lose the version.
        try store.setConnectionState(accountID: account.rowID, "online")
        #expect(try store.rosterVersion(accountID: account.rowID) == "v2")
    }

    @Test func pushes__update_and_remove_items_in_one_go() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [item("bob@example.org", groups: ["A"])], version: "v1")
        try store.applyRosterPushes(
            accountID: account.rowID, [item("bob@example.org", nil), item("dave@example.org", Contact.Subscription.none, groups: ["B"])], version: "v3")
        let entries = try store.rosterEntries(accountID: account.rowID)
        #expect(entries.map(\.jid) == ["dave@example.org"])
        #expect(entries[0].groups == ["B"])
        #expect(try store.rosterVersion(accountID: account.rowID) == "v3")
        #expect(try store.contactGroups(accountID: account.rowID, jid: "bob@example.org").isEmpty, "groups go with the item")
    }

    @Test func intents__are_listed_in_order_shown_as_pending_and_finished_once() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [item("bob@example.org")], version: nil)
        let add = try store.enqueueRosterIntent(accountID: account.rowID, jid: "new@example.org", action: .add, name: "New", groups: ["G"])
        let remove = try store.enqueueRosterIntent(accountID: account.rowID, jid: "bob@example.org", action: .remove)
        #expect(try store.pendingRosterIntents(accountID: account.rowID).map(\.id) == [add.id, remove.id])
        let entries = try store.rosterEntries(accountID: account.rowID)
        #expect(entries.first { $0.jid == "bob@example.org" }?.pending == .remove)
        let pendingAdd = try #require(entries.first { $0.jid == "new@example.org" })
        #expect(pendingAdd.pending == .add)
        #expect(!pendingAdd.onServer)
        #expect(pendingAdd.name == "New")
        #expect(pendingAdd.groups == ["G"])
        let addID = try #require(add.id)
        let removeID = try #require(remove.id)
        try store.finishIntent(id: addID)
        try store.finishIntent(id: removeID, error: "forbidden")
        try store.finishIntent(id: removeID)  // already finished: stays failed
        #expect(try store.pendingRosterIntents(accountID: account.rowID).isEmpty)
        #expect(try store.intent(id: removeID)?.state == .failed)
    }

    @Test func presence__best_resource_first_changes_only_and_cleared_on_session_loss() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [item("bob@example.org")], version: nil)
        func row(_ resource: String, _ show: String?, priority: Int, available: Bool = true) -> ResourcePresence {
            ResourcePresence(
                accountID: account.rowID, jid: "bob@example.org", resource: resource, available: available, show: show,
                status: "s-\(resource)", priority: priority, updatedAt: 100)
        }
        let changed = try store.storePresence([row("phone", "away", priority: 0), row("desk", nil, priority: 5)])
        #expect(changed.contacts.count == 2)
        #expect(changed.strangers.isEmpty)
        #expect(try store.storePresence([row("phone", "away", priority: 0)]).contacts.isEmpty, "the same presence again is no change")
        var entry = try #require(try store.rosterEntries(accountID: account.rowID).first)
        #expect(entry.presence.map(\.resource) == ["desk", "phone"])
        try store.clearPresence(accountID: account.rowID)
        entry = try #require(try store.rosterEntries(accountID: account.rowID).first)
        #expect(entry.presence.isEmpty)
        #expect(entry.lastSeen == 100)
    }

    @Test func lastSeen__takes_the_later_of_presence_and_cached_xep0012_activity() throws {
        let (store, account) = try makeStore()
        let id = account.rowID
        try store.replaceRoster(accountID: id, items: [item("bob@example.org"), item("carol@example.org"), item("dan@example.org")], version: nil)
        func offline(_ jid: String, at time: Double) -> ResourcePresence {
            ResourcePresence(accountID: id, jid: jid, resource: "r", available: false, updatedAt: time)
        }
        try store.storePresence([offline("bob@example.org", at: 1_000), offline("carol@example.org", at: 5_000)])
        // bob logged out 100 s before a fetch at 2,000: seen at 1,900, later than his presence.
        try store.saveLastActivity(accountID: id, jid: "bob@example.org", seconds: 100, status: nil, at: 2_000)
        // carol's XEP-0012 answer is older than the presence we saw.
        try store.saveLastActivity(accountID: id, jid: "carol@example.org", seconds: 3_000, status: nil, at: 6_000)
        // dan: only XEP-0012 knows.
        try store.saveLastActivity(accountID: id, jid: "dan@example.org", seconds: 0, status: "bye", at: 700)
        let seen = Dictionary(uniqueKeysWithValues: try store.rosterEntries(accountID: id).map { ($0.jid, $0.lastSeen) })
        #expect(seen["bob@example.org"] == 1_900)
        #expect(seen["carol@example.org"] == 5_000)
        #expect(seen["dan@example.org"] == 700)
    }

    @Test func presence__keeps_advertised_caps_and_a_caps_only_change_is_stored_without_an_event() throws {
        let (store, account) = try makeStore()
        try store.replaceRoster(accountID: account.rowID, items: [item("bob@example.org")], version: nil)
        func row(ver: String?, available: Bool = true) -> ResourcePresence {
            ResourcePresence(
                accountID: account.rowID, jid: "bob@example.org", resource: "desk", available: available, updatedAt: 100,
                capsNode: ver.map { _ in "https://client.example" }, capsVer: ver)
        }
        #expect(try store.storePresence([row(ver: "v1=")]).contacts.count == 1)
        #expect(try store.storePresence([row(ver: "v2=")]).contacts.isEmpty, "new caps alone are no presence change")
        var stored = try #require(try store.presence(accountID: account.rowID, jid: "bob@example.org").first)
        #expect(stored.capsVer == "v2=")
        #expect(stored.capsNode == "https://client.example")
        try store.storePresence([row(ver: nil, available: false)])
        stored = try #require(try store.presence(accountID: account.rowID, jid: "bob@example.org").first)
        #expect(stored.capsVer == nil, "gone offline: what it advertised is gone too")
    }

    @Test func subscriptionRequests__survive_reopening_and_go_when_answered() throws {
        let directory = temporaryDirectory()
        var store = try Store(directory: directory)
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "r", createdAt: 0), credential: nil)
        try store.addSubscriptionRequest(accountID: account.rowID, jid: "bob@example.org", message: "hi")
        store = try Store(directory: directory)
        #expect(try store.subscriptionRequests(accountID: account.rowID).map(\.jid) == ["bob@example.org"])
        try store.enqueueRosterIntent(accountID: account.rowID, jid: "bob@example.org", action: .accept)
        #expect(try store.subscriptionRequests(accountID: account.rowID).isEmpty)
    }

    @Test func ownPresence__revision_moves_on_change_and_sent_catches_up() throws {
        let (store, account) = try makeStore()
        #expect(try store.ownPresence(accountID: account.rowID).show == nil)
        let set = try store.setOwnPresence(accountID: account.rowID, show: "dnd", status: "busy")
        #expect(set.revision != set.sentRevision)
        try store.markOwnPresenceSent(accountID: account.rowID, revision: set.revision)
        let after = try store.ownPresence(accountID: account.rowID)
        #expect(after.revision == after.sentRevision)
        #expect(after.show == "dnd")
        #expect(after.status == "busy")
        try store.setAutoAway(accountID: account.rowID, minutes: 10)
        #expect(try store.ownPresence(accountID: account.rowID).autoAwayMinutes == 10)
        #expect(try store.ownPresence(accountID: account.rowID).show == "dnd")
    }
}
