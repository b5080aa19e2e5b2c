import Foundation
import Store
import Testing
@testable import Sync
@testable import XMPP

private let account = Account(jid: "alice@example.org", resource: "tern.t", createdAt: 0)
private let me = try! JID("alice@example.org/tern.t")
private let roomJID = "tea@rooms.example.org"

private func room(archived: Bool? = true, nick: String = "alice") -> Room {
    Room(accountID: 1, jid: roomJID, nick: nick, state: .joined, archived: archived)
}

private func groupchat(from nick: String, body text: String, id: String = "m1", children: [Element] = []) -> Element {
    Element("message", namespace: NS.client, attributes: ["from": "\(roomJID)/\(nick)", "type": "groupchat", "id": id],
            elements: [Element("body", namespace: NS.client, elements: [], text: text)] + children)
}

private func stanzaID(_ id: String, by: String) -> Element {
    Element("stanza-id", namespace: NS.sid, attributes: ["id": id, "by": by])
}

/// XEP-0045 room messages as history rows: dedup keys shared by live, history and archive
/// copies; our own reflections; stanza-id trust; carbons in a room; private messages.
@Suite struct RoomMessagesTests {
    @Test func record__isTheRoomsConversation_withTheNick() throws {
        let record = try #require(RoomMessages.record(
            for: groupchat(from: "bob", body: "hi all"), room: room(), account: account, ourJID: me, ownOutboxIDs: [],
            receivedAt: Date()))
        #expect(record.conversation == roomJID)
        #expect(record.nick == "bob")
        #expect(record.type == "groupchat")
        #expect(record.direction == .incoming)
        #expect(record.sender == "\(roomJID)/bob")
    }

    /// XEP-0421 §4: an occupant-id counts only from a room that advertises them; elsewhere any
    /// occupant could have written it.
    @Test func occupantID__isKeptOnlyWhenTheRoomAdvertisesThem() throws {
        let stamped = groupchat(from: "bob", body: "hi", children: [
            Element("occupant-id", namespace: OccupantID.namespace, attributes: ["id": "oid-bob"]),
        ])
        var advertising = room()
        advertising.occupantIDs = true
        let trusted = try #require(RoomMessages.record(
            for: stamped, room: advertising, account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()))
        #expect(trusted.occupantID == "oid-bob")
        for unknown in [false, nil] as [Bool?] {
            var silent = room()
            silent.occupantIDs = unknown
            let record = try #require(RoomMessages.record(
                for: stamped, room: silent, account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()))
            #expect(record.occupantID == nil)
        }
        let twice = groupchat(from: "bob", body: "hi", children: [
            Element("occupant-id", namespace: OccupantID.namespace, attributes: ["id": "a"]),
            Element("occupant-id", namespace: OccupantID.namespace, attributes: ["id": "b"]),
        ])
        #expect(OccupantID.id(in: twice) == nil, "more than one is not the room's doing (§4)")
    }

    @Test func ourReflection__takesTheOutboxRowsKey_soItIsThatRow() throws {
        let reflection = groupchat(from: "alice", body: "mine", children: [StanzaID.originID("out-1"), stanzaID("s-9", by: roomJID)])
        let record = try #require(RoomMessages.record(
            for: reflection, room: room(), account: account, ourJID: me, ownOutboxIDs: ["out-1"], receivedAt: Date()))
        #expect(record.dedupKey == "out-1", "the key the outbox row was stored under")
        #expect(record.direction == .outgoing)
        #expect(record.stanzaID == "s-9")
    }

    @Test func liveAndArchivedCopies__shareTheirKey() throws {
        let live = groupchat(from: "bob", body: "once", children: [stanzaID("s-1", by: roomJID)])
        let liveRecord = try #require(RoomMessages.record(
            for: live, room: room(), account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()))
        let archived = groupchat(from: "bob", body: "once")
        let archivedRecord = try #require(RoomMessages.record(
            for: archived, room: room(), account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date(),
            archivedAt: Date(timeIntervalSince1970: 1_700_000_000), archiveID: "s-1"))
        #expect(liveRecord.dedupKey == "s:s-1")
        #expect(archivedRecord.dedupKey == liveRecord.dedupKey)
        #expect(archivedRecord.timestamp == 1_700_000_000, "the archive's time")
    }

    @Test func stanzaID__isTrustedOnlyFromTheRoom_andOnlyWhenItStampsThem() throws {
        let forged = groupchat(from: "mallory", body: "x", children: [stanzaID("s-evil", by: "mallory@example.org")])
        #expect(try #require(RoomMessages.record(
            for: forged, room: room(), account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date())).stanzaID == nil)
        let unarchived = groupchat(from: "bob", body: "x", children: [stanzaID("s-2", by: roomJID)])
        #expect(try #require(RoomMessages.record(
            for: unarchived, room: room(archived: false), account: account, ourJID: me, ownOutboxIDs: [],
            receivedAt: Date())).stanzaID == nil, "a room without an archive may not strip forged ids")
    }

    @Test func aCarbonInARoom__isDropped() {
        // converse.js #1704: a participant can craft a carbon that the room relays.
        let crafted = groupchat(from: "mallory", body: "outer", children: [Element("sent", namespace: NS.carbons)])
        #expect(RoomMessages.record(for: crafted, room: room(), account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()) == nil)
    }

    @Test func anotherRoomsMessage_orOneWithoutBody_isNotStored() {
        let elsewhere = Element("message", namespace: NS.client,
            attributes: ["from": "other@rooms.example.org/bob", "type": "groupchat"],
            elements: [Element("body", namespace: NS.client, elements: [], text: "hi")])
        #expect(RoomMessages.record(for: elsewhere, room: room(), account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()) == nil)
        let subjectOnly = Element("message", namespace: NS.client, attributes: ["from": "\(roomJID)/bob", "type": "groupchat"],
            elements: [Element("subject", namespace: NS.client, elements: [], text: "topic")])
        #expect(RoomMessages.record(for: subjectOnly, room: room(), account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()) == nil)
    }

    @Test func privateMessage__isItsOwnConversation_underTheOccupantsAddress() throws {
        let pm = Element("message", namespace: NS.client, attributes: ["from": "\(roomJID)/bob", "type": "chat", "id": "p1"],
            elements: [Element("body", namespace: NS.client, elements: [], text: "psst")])
        let record = try #require(RoomMessages.privateRecord(for: pm, account: account, ourJID: me, receivedAt: Date()))
        #expect(record.conversation == "\(roomJID)/bob")
        #expect(record.type == "chat")
        #expect(record.nick == "bob")
    }

    @Test func originIDs__ofOtherOccupants_areScopedByNick_soACopiedIDHidesNothing() throws {
        let first = try #require(RoomMessages.record(
            for: groupchat(from: "bob", body: "mine", children: [StanzaID.originID("same")]), room: room(archived: false),
            account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()))
        let copy = try #require(RoomMessages.record(
            for: groupchat(from: "mallory", body: "copied id", children: [StanzaID.originID("same")]), room: room(archived: false),
            account: account, ourJID: me, ownOutboxIDs: [], receivedAt: Date()))
        #expect(first.dedupKey != copy.dedupKey)
    }

    @Test func ourNick_withoutOurOutboxID_isNotUs() throws {
        // Whoever held our nick before (or anyone, in history) is not shown as "me".
        let record = try #require(RoomMessages.record(
            for: groupchat(from: "alice", body: "who?"), room: room(nick: "alice"), account: account, ourJID: me,
            ownOutboxIDs: [], receivedAt: Date()))
        #expect(record.direction == .incoming)
    }
}
