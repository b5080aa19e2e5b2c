/// Migration 0003: the contact details cache, caps cache, blocklist and details intents.
import Foundation
import Testing
@testable import Store

@Suite struct DetailsStoreTests {
    @Test func blocklist__pushes_apply__and_an_empty_unblock_clears_everyone() throws {
        let (store, account) = try makeStore()
        #expect(try store.blocklist(accountID: account.rowID).fetchedAt == nil)
        try store.replaceBlocklist(accountID: account.rowID, jids: ["a@x", "b@x", "a@x"])
        #expect(try store.blocklist(accountID: account.rowID).jids == ["a@x", "b@x"])
        #expect(try store.blocklist(accountID: account.rowID).fetchedAt != nil)
        try store.applyBlocklistChange(accountID: account.rowID, block: true, jids: ["c@x", "a@x"])
        try store.applyBlocklistChange(accountID: account.rowID, block: false, jids: ["b@x"])
        #expect(try store.blocklist(accountID: account.rowID).jids == ["a@x", "c@x"])
        try store.applyBlocklistChange(accountID: account.rowID, block: false, jids: [])
        #expect(try store.blocklist(accountID: account.rowID).jids.isEmpty)
    }

    @Test func intents__come_back_in_order_and_show_as_pending_on_the_contact() throws {
        let (store, account) = try makeStore()
        let first = try #require(try store.addDetailsIntent(accountID: account.rowID, .block, jid: "bad@x").id)
        try store.addDetailsIntent(accountID: account.rowID, .detailsRefresh, jid: "bad@x")
        try store.addDetailsIntent(accountID: account.rowID, .unblock, jid: "bad@x")
        #expect(try store.readyIntents(accountID: account.rowID).map(\.kind) == [.block, .detailsRefresh, .unblock])
        #expect(try store.pendingBlockIntents(accountID: account.rowID).map(\.kind) == [.block, .unblock])
        #expect(try store.contactDetails(accountID: account.rowID, jid: "bad@x").pendingIntents == ["block", "unblock"])
        try store.finishIntent(id: first)
        #expect(try store.intent(id: first)?.state == .done)
        #expect(try store.pendingBlockIntents(accountID: account.rowID).count == 1)
        #expect(try store.contactDetails(accountID: account.rowID, jid: "bad@x").pendingIntents == ["unblock"])
    }

    @Test func details__vcard_resources_and_last_activity__round_trip_with_fetch_times() throws {
        let (store, account) = try makeStore()
        try store.saveVCard(accountID: account.rowID, jid: "bob@x", fields: ["fn": "Bob"], source: "vcard-temp", at: 100)
        var phone = Store.ResourceDetails(resource: "phone")
        phone.clientName = "Conversations"
        phone.clientVersion = "2.0"
        phone.capsVer = "abc="
        try store.cacheCaps(ver: "abc=", identitiesJSON: "[]", features: ["urn:a", "urn:b"])
        try store.saveResourceDetails(accountID: account.rowID, jid: "bob@x", [phone], at: 200)
        try store.saveLastActivity(accountID: account.rowID, jid: "bob@x", seconds: 60, status: "gone", at: 300)
        let details = try store.contactDetails(accountID: account.rowID, jid: "bob@x")
        #expect(details.vcard == ["fn": "Bob"])
        #expect(details.resources.map(\.clientName) == ["Conversations"])
        #expect(details.resources.first?.features == ["urn:a", "urn:b"])
        #expect(details.lastActivitySeconds == 60)
        #expect(details.fetchedAt == 100, "the oldest part decides how old the whole is")
        // A new fetch replaces the resources seen before.
        try store.saveResourceDetails(accountID: account.rowID, jid: "bob@x", [], at: 400)
        #expect(try store.contactDetails(accountID: account.rowID, jid: "bob@x").resources.isEmpty)
    }

    /// Migration 0009: an answer that may not be shared stays with its resource, even under a
    /// `ver` the shared cache knows; the shared entry is not touched.
    @Test func details__a_resource_s_own_caps_answer_is_shown_for_it_only() throws {
        let (store, account) = try makeStore()
        try store.cacheCaps(ver: "v=", identitiesJSON: "[]", features: ["urn:shared"])
        var phone = Store.ResourceDetails(resource: "phone")
        phone.capsVer = "v="
        phone.features = ["urn:own"]
        var desk = Store.ResourceDetails(resource: "desk")
        desk.capsVer = "v="
        try store.saveResourceDetails(accountID: account.rowID, jid: "bob@x", [phone, desk])
        let resources = try store.contactDetails(accountID: account.rowID, jid: "bob@x").resources
        #expect(resources.first { $0.resource == "phone" }?.features == ["urn:own"])
        #expect(resources.first { $0.resource == "desk" }?.features == ["urn:shared"])
        #expect(try store.cachedCaps(ver: "v=") == ["urn:shared"])
    }

    @Test func sharing__defaults_on__and_is_stored_per_account() throws {
        let (store, account) = try makeStore()
        #expect(try store.sharing(accountID: account.rowID) == Store.Sharing(version: true, idle: true))
        try store.setSharing(accountID: account.rowID, Store.Sharing(version: false, idle: true))
        #expect(try store.sharing(accountID: account.rowID) == Store.Sharing(version: false, idle: true))
    }
}
