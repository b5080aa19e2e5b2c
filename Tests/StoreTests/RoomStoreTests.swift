import Foundation
import GRDB
import Testing
@testable import Store

/// Migration 0007: rooms, occupants, bookmarks, invitations, and the outbox holding group
/// chat messages until their room is joined (XEP-0045 §7, XEP-0402).
@Suite struct RoomStoreTests {
    private let room = "tea@conference.example.org"

    private func occupant(_ account: Account, _ nick: String, role: String? = "participant", isSelf: Bool = false) -> Occupant {
        Occupant(accountID: account.rowID, room: room, nick: nick, role: role, affiliation: "none", isSelf: isSelf)
    }

    private func invite(_ account: Account, from inviter: String?, at time: Double, room: String? = nil, password: String? = nil) -> RoomInvite {
        RoomInvite(
            accountID: account.rowID, room: room ?? self.room, inviter: inviter, reason: "come", password: password,
            kind: .direct, receivedAt: time)
    }

    private func enqueue(_ store: Store, _ account: Account, id: String, to recipient: String, type: String) throws {
        try store.enqueue(Store.NewOutgoing(
            id: id, accountID: account.rowID, sender: "alice@example.org/tern", recipient: recipient,
            conversation: recipient, type: type, body: "hi \(id)", stanza: "<message id='\(id)'/>"))
    }

    // MARK: - Migration

    @Test func migration__0007_applies_over_a_0006_store_and_keeps_its_data() throws {
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/tern.sqlite"
        do {
            let queue = try DatabaseQueue(path: path)
            try Store.migrator.migrate(queue, upTo: "0006_archive")
            try queue.write { db in
                try db.execute(sql: "INSERT INTO account (jid, resource, created_at) VALUES ('alice@example.org', 'tern.x', 1)")
            }
        }
        let store = try Store(directory: directory)
        let account = try #require(try store.account(jid: "alice@example.org"))
        let joined = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        #expect(joined.state == .left)
        #expect(try store.rooms(accountID: account.rowID).map(\.jid) == [room])
    }

    @Test func schema__rejects_unknown_states_and_cascades_from_the_account() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: false)
        #expect(throws: DatabaseError.self) {
            try store.write { db in try db.execute(sql: "UPDATE room SET state = 'dancing'") }
        }
        #expect(throws: DatabaseError.self) {
            try store.write { db in try db.execute(sql: "UPDATE room SET bookmark_sync = 'maybe'") }
        }
        try store.applyOccupants(accountID: account.rowID, room: room, upserts: [occupant(account, "bob")], removals: [])
        try store.addInvite(invite(account, from: "bob@example.org", at: 1))
        try store.write { db in try db.execute(sql: "DELETE FROM account WHERE id = ?", arguments: [account.rowID]) }
        let left = try store.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM room) + (SELECT count(*) FROM occupant) + (SELECT count(*) FROM room_invite)")
        }
        #expect(left == 0)
    }

    // MARK: - Join intent

    @Test func wantRoom__inserts_a_wanted_bookmarked_room_to_publish() throws {
        let (store, account) = try makeStore()
        let created = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: "s3cret", autojoin: true)
        #expect(created.wanted && created.bookmarked && created.autojoin)
        #expect(created.bookmarkSync == .publish)
        #expect(created.state == .left)
        #expect(created.password == "s3cret")
        #expect(try store.room(accountID: account.rowID, jid: room) == created)
    }

    @Test func wantRoom__updates_nick_keeps_password_when_none_given_and_clears_the_error() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: "s3cret", autojoin: true)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .failed, error: "not-authorized")
        let again = try store.wantRoom(accountID: account.rowID, jid: room, nick: "ally", autojoin: false)
        #expect(again.nick == "ally")
        #expect(again.password == "s3cret")
        #expect(!again.autojoin)
        #expect(again.lastError == nil)
        #expect(again.state == .left, "a failed room is tried again")
    }

    @Test func wantRoom__gone_becomes_left_but_joined_is_kept() throws {
        let (store, account) = try makeStore()
        let other = "other@conference.example.org"
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.wantRoom(accountID: account.rowID, jid: other, nick: "alice", autojoin: true)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .gone, error: "destroyed")
        try store.setRoomState(accountID: account.rowID, jid: other, state: .joined, joinedNick: "alice")
        #expect(try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true).state == .left)
        let kept = try store.wantRoom(accountID: account.rowID, jid: other, nick: "alice", autojoin: true)
        #expect(kept.state == .joined)
        #expect(kept.joinedNick == "alice")
    }

    @Test func wantRoom__accepts_the_rooms_pending_invites_only() throws {
        let (store, account) = try makeStore()
        try store.addInvite(invite(account, from: "bob@example.org", at: 1, password: "fromInvite"))
        try store.addInvite(invite(account, from: "bob@example.org", at: 2, room: "elsewhere@conference.example.org"))
        let joined = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        #expect(joined.password == "fromInvite", "an invitation's password is used when none is given")
        let all = try store.invites(accountID: account.rowID, pendingOnly: false)
        #expect(all.map(\.room) == ["elsewhere@conference.example.org", room])
        #expect(all.map(\.state) == [.pending, .accepted])
    }

    @Test func leaveRoom__unwants_and_publishes_the_bookmark_without_autojoin() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.markBookmarkSynced(accountID: account.rowID, jid: room, sync: .publish)
        let left = try #require(try store.leaveRoom(accountID: account.rowID, jid: room))
        #expect(!left.wanted && !left.autojoin)
        #expect(left.bookmarked)
        #expect(left.bookmarkSync == .publish)
        #expect(try store.leaveRoom(accountID: account.rowID, jid: "nowhere@conference.example.org") == nil)
    }

    @Test func leaveRoom__an_unbookmarked_room_gets_no_publish() throws {
        let (store, account) = try makeStore()
        try store.saveRoom(Room(accountID: account.rowID, jid: room, nick: "alice", wanted: true))
        let left = try #require(try store.leaveRoom(accountID: account.rowID, jid: room))
        #expect(left.bookmarkSync == nil)
        #expect(!left.wanted)
    }

    @Test func addInvite__a_flood_stops_at_the_cap() throws {
        let (store, account) = try makeStore()
        for n in 0..<Store.maxPendingInvites {
            #expect(try store.addInvite(invite(account, from: "spam\(n)@example.org", at: Double(n))) != nil)
        }
        #expect(try store.addInvite(invite(account, from: "one-more@example.org", at: 999)) == nil)
        #expect(try store.invites(accountID: account.rowID, pendingOnly: true).count == Store.maxPendingInvites)
    }

    @Test func leaveRoom_forget__retracts_the_bookmark() throws {
        let (store, account) = try makeStore()
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: nil, autojoin: true)
        try store.markBookmarkSynced(accountID: account.rowID, jid: room, sync: .publish)
        let forgotten = try #require(try store.leaveRoom(accountID: account.rowID, jid: room, forget: true))
        #expect(!forgotten.bookmarked && !forgotten.wanted && !forgotten.autojoin)
        #expect(forgotten.bookmarkSync == .retract)
        #expect(try store.pendingBookmarkSyncs(accountID: account.rowID).map(\.jid) == [room])
    }

    @Test func setRoomState__joined_nick_is_kept_while_in_session_and_cleared_after() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joining, joinedNick: "alice_")
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joined)
        var current = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(current.joinedNick == "alice_")
        #expect(current.currentNick == "alice_")
        try store.setRoomState(accountID: account.rowID, jid: room, state: .failed, error: "conflict")
        current = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(current.joinedNick == nil)
        #expect(current.currentNick == "alice")
        #expect(current.lastError == "conflict")
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joining)
        #expect(try store.room(accountID: account.rowID, jid: room)?.lastError == nil, "nil clears the error")
    }

    @Test func setRoomState__leaving_joined_drops_the_occupants() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joining)
        try store.applyOccupants(accountID: account.rowID, room: room, upserts: [occupant(account, "bob")], removals: [])
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joined, joinedNick: "alice")
        #expect(try store.occupants(accountID: account.rowID, room: room).map(\.nick) == ["bob"], "joining keeps who arrived")
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joined)
        #expect(try store.occupants(accountID: account.rowID, room: room).count == 1, "joined to joined keeps them")
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joining)
        #expect(try store.occupants(accountID: account.rowID, room: room).isEmpty)
    }

    @Test func setRoomState__a_failed_join_drops_the_occupants_seen_while_joining() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joining)
        try store.applyOccupants(accountID: account.rowID, room: room, upserts: [occupant(account, "bob")], removals: [])
        try store.setRoomState(accountID: account.rowID, jid: room, state: .failed, error: "registration-required")
        #expect(try store.occupants(accountID: account.rowID, room: room).isEmpty)
    }

    @Test func resetRoomStates__leaves_rooms_in_session_and_counts_them() throws {
        let (store, account) = try makeStore()
        let rooms = ["a@conference.example.org", "b@conference.example.org", "c@conference.example.org"]
        for jid in rooms { try store.wantRoom(accountID: account.rowID, jid: jid, nick: "alice", autojoin: true) }
        try store.setRoomState(accountID: account.rowID, jid: rooms[0], state: .joined, joinedNick: "alice")
        try store.setRoomState(accountID: account.rowID, jid: rooms[1], state: .joining)
        try store.setRoomState(accountID: account.rowID, jid: rooms[2], state: .failed, error: "forbidden")
        try store.applyOccupants(
            accountID: account.rowID, room: rooms[0],
            upserts: [Occupant(accountID: account.rowID, room: rooms[0], nick: "bob")], removals: [])
        #expect(try store.resetRoomStates(accountID: account.rowID) == 2)
        let after = try store.rooms(accountID: account.rowID)
        #expect(after.map(\.state) == [.left, .left, .failed])
        #expect(after.allSatisfy { $0.joinedNick == nil })
        #expect(after[2].lastError == "forbidden")
        #expect(after.allSatisfy { $0.wanted }, "the intent survives the session")
        #expect(try store.occupants(accountID: account.rowID, room: rooms[0]).isEmpty)
    }

    @Test func subject_archive_flag_and_cursor__are_stored_and_cleared() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.setRoomSubject(accountID: account.rowID, jid: room, subject: "Tea time", by: "bob")
        try store.setRoomArchived(accountID: account.rowID, jid: room, archived: true)
        try store.setRoomArchiveCursor(accountID: account.rowID, jid: room, lastID: "arch-9")
        var current = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(current.subject == "Tea time")
        #expect(current.subjectBy == "bob")
        #expect(current.archived == true)
        #expect(current.mamLastID == "arch-9")
        try store.setRoomSubject(accountID: account.rowID, jid: room, subject: "", by: "bob")
        try store.setRoomArchived(accountID: account.rowID, jid: room, archived: false)
        current = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(current.subject == nil)
        #expect(current.archived == false)
    }

    // MARK: - Occupants

    @Test func occupants__upsert_remove_and_nick_change() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.applyOccupants(
            accountID: account.rowID, room: room,
            upserts: [occupant(account, "bob"), occupant(account, "carol"), occupant(account, "dave")], removals: [])
        var bob = occupant(account, "bob")
        bob.show = "away"
        try store.applyOccupants(accountID: account.rowID, room: room, upserts: [bob], removals: ["dave"])
        // carol becomes "caz": the old nick goes, the new one arrives, in one burst.
        try store.applyOccupants(accountID: account.rowID, room: room, upserts: [occupant(account, "caz")], removals: ["carol"])
        let now = try store.occupants(accountID: account.rowID, room: room)
        #expect(now.map(\.nick) == ["bob", "caz"])
        #expect(now.first?.show == "away")
    }

    @Test func occupants__are_ordered_by_role_then_nick_ignoring_case() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.applyOccupants(
            accountID: account.rowID, room: room,
            upserts: [
                occupant(account, "zed", role: nil), occupant(account, "Yan", role: "visitor"),
                occupant(account, "bob", role: "participant"), occupant(account, "Abe", role: "participant"),
                occupant(account, "mod", role: "moderator"), occupant(account, "nobody", role: "none"),
                occupant(account, "alice", role: "participant", isSelf: true),
            ],
            removals: [])
        let nicks = try store.occupants(accountID: account.rowID, room: room).map(\.nick)
        #expect(nicks == ["mod", "Abe", "alice", "bob", "Yan", "nobody", "zed"])
        #expect(try store.occupants(accountID: account.rowID, room: room).filter(\.isSelf).map(\.nick) == ["alice"])
    }

    @Test func occupants__for_an_unknown_room_are_dropped_not_thrown() throws {
        let (store, account) = try makeStore()
        try store.applyOccupants(
            accountID: account.rowID, room: room, upserts: [occupant(account, "bob")], removals: ["carol"])
        #expect(try store.occupants(accountID: account.rowID, room: room).isEmpty)
    }

    // MARK: - Bookmarks

    @Test func mergeBookmarks__inserts_with_default_nick_from_the_account_localpart() throws {
        let (store, account) = try makeStore()
        let rooms = try store.mergeBookmarks(accountID: account.rowID, [
            RoomBookmark(jid: room, name: "Tea", autojoin: true),
            RoomBookmark(jid: "quiet@conference.example.org", name: nil, autojoin: false, nick: "ally", password: "pw"),
        ])
        #expect(rooms.map(\.jid) == ["quiet@conference.example.org", room])
        let quiet = rooms[0], tea = rooms[1]
        #expect(tea.nick == "alice")
        #expect(tea.name == "Tea")
        #expect(tea.wanted && tea.autojoin && tea.bookmarked)
        #expect(tea.bookmarkSync == nil, "the server's list needs no push back")
        #expect(quiet.nick == "ally")
        #expect(quiet.password == "pw")
        #expect(!quiet.wanted && quiet.bookmarked)
    }

    /// XEP-0402 §3: other clients' extensions are kept, and go back out with our next publish.
    @Test func bookmarkExtensions__are_kept_and_published_back() throws {
        let (store, account) = try makeStore()
        let extensions = "<extensions xmlns='urn:xmpp:bookmarks:1'><notify xmlns='urn:example'/></extensions>"
        try store.mergeBookmarks(accountID: account.rowID, [RoomBookmark(jid: room, autojoin: true, extensions: extensions)])
        #expect(try store.room(accountID: account.rowID, jid: room)?.bookmarkExtensions == extensions)
        let left = try #require(try store.leaveRoom(accountID: account.rowID, jid: room))
        #expect(left.bookmark.extensions == extensions, "the publish that clears autojoin carries them")
        #expect(!left.bookmark.autojoin)
    }

    @Test func mergeBookmarks__autojoin_false_does_not_unwant_a_room() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", password: "pw", autojoin: true)
        try store.markBookmarkSynced(accountID: account.rowID, jid: room, sync: .publish)
        let merged = try store.mergeBookmarks(accountID: account.rowID, [RoomBookmark(jid: room, name: "Renamed", autojoin: false)])
        let tea = try #require(merged.first)
        #expect(tea.wanted, "the user may be in the room just now")
        #expect(!tea.autojoin)
        #expect(tea.name == "Renamed")
        #expect(tea.nick == "alice", "a bookmark without nick keeps ours")
        #expect(tea.password == "pw", "a bookmark without password keeps ours")
    }

    @Test func mergeBookmarks__a_pending_local_change_wins_until_pushed() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        let merged = try store.mergeBookmarks(accountID: account.rowID, [RoomBookmark(jid: room, name: "Server", autojoin: false, nick: "other")])
        let tea = try #require(merged.first)
        #expect(tea.autojoin && tea.nick == "alice" && tea.name == nil)
        #expect(tea.bookmarkSync == .publish)
        // Absent from the server's list: still kept, since the publish has not gone out yet.
        let absent = try store.mergeBookmarks(accountID: account.rowID, [])
        #expect(absent.first?.bookmarked == true)
        #expect(absent.first?.autojoin == true)
    }

    @Test func mergeBookmarks__bookmarks_the_server_dropped_are_no_longer_bookmarked() throws {
        let (store, account) = try makeStore()
        try store.mergeBookmarks(accountID: account.rowID, [
            RoomBookmark(jid: room, autojoin: true), RoomBookmark(jid: "b@conference.example.org", autojoin: true),
        ])
        try store.saveRoom(Room(accountID: account.rowID, jid: "plain@conference.example.org", nick: "alice", wanted: true))
        let merged = try store.mergeBookmarks(accountID: account.rowID, [RoomBookmark(jid: room, autojoin: true)])
        let dropped = try #require(merged.first { $0.jid == "b@conference.example.org" })
        #expect(!dropped.bookmarked && !dropped.autojoin)
        #expect(merged.first { $0.jid == room }?.bookmarked == true)
        let plain = try #require(merged.first { $0.jid == "plain@conference.example.org" })
        #expect(plain.wanted && !plain.bookmarked, "a room never bookmarked is untouched")
    }

    @Test func mergeBookmarks__for_a_missing_account_throws_a_typed_error() throws {
        let (store, _) = try makeStore()
        #expect(throws: RoomStoreError.noSuchAccount(999)) {
            try store.mergeBookmarks(accountID: 999, [RoomBookmark(jid: "x@conference.example.org")])
        }
    }

    @Test func applyBookmark_and_retraction__respect_a_pending_sync() throws {
        let (store, account) = try makeStore()
        try store.applyBookmark(accountID: account.rowID, RoomBookmark(jid: room, name: "Tea", autojoin: true, nick: "al"))
        var tea = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(tea.nick == "al" && tea.wanted && tea.bookmarked && tea.name == "Tea")
        try store.applyBookmarkRetraction(accountID: account.rowID, jid: room)
        tea = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(!tea.bookmarked && !tea.autojoin)

        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try store.applyBookmark(accountID: account.rowID, RoomBookmark(jid: room, name: "Late", autojoin: false, nick: "late"))
        try store.applyBookmarkRetraction(accountID: account.rowID, jid: room)
        tea = try #require(try store.room(accountID: account.rowID, jid: room))
        #expect(tea.nick == "alice" && tea.autojoin && tea.bookmarked && tea.name == "Tea")
    }

    @Test func markBookmarkSynced__a_newer_change_in_between_is_not_lost() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        let pushed = try store.pendingBookmarkSyncs(accountID: account.rowID)
        #expect(pushed.map(\.jid) == [room])
        // While the publish is in flight the user retracts (a different kind)...
        try store.write { db in try db.execute(sql: "UPDATE room SET bookmark_sync = 'retract'") }
        try store.markBookmarkSynced(accountID: account.rowID, jid: room, sync: .publish)
        #expect(try store.room(accountID: account.rowID, jid: room)?.bookmarkSync == .retract)
        // ...or leaves (same kind, new content): the pushed bookmark tells them apart.
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        let inFlight = try #require(try store.room(accountID: account.rowID, jid: room)).bookmark
        try store.leaveRoom(accountID: account.rowID, jid: room)
        try store.markBookmarkSynced(accountID: account.rowID, jid: room, sync: .publish, pushed: inFlight)
        #expect(try store.pendingBookmarkSyncs(accountID: account.rowID).map(\.jid) == [room])
        let latest = try #require(try store.room(accountID: account.rowID, jid: room)).bookmark
        try store.markBookmarkSynced(accountID: account.rowID, jid: room, sync: .publish, pushed: latest)
        #expect(try store.pendingBookmarkSyncs(accountID: account.rowID).isEmpty)
    }

    // MARK: - Invitations

    @Test func addInvite__skips_a_pending_duplicate_and_lists_newest_first() throws {
        let (store, account) = try makeStore()
        let first = try #require(try store.addInvite(invite(account, from: "bob@example.org", at: 10)))
        #expect(first.id != nil)
        #expect(try store.addInvite(invite(account, from: "bob@example.org", at: 11)) == nil)
        #expect(try store.addInvite(invite(account, from: "carol@example.org", at: 12)) != nil, "another inviter counts")
        #expect(try store.addInvite(invite(account, from: nil, at: 13)) != nil)
        #expect(try store.addInvite(invite(account, from: nil, at: 14)) == nil, "no inviter matches no inviter")
        let listed = try store.invites(accountID: account.rowID, pendingOnly: true)
        #expect(listed.map(\.receivedAt) == [13, 12, 10])
    }

    @Test func declineInvite__declines_only_that_pending_invite_and_a_new_one_is_then_kept() throws {
        let (store, account) = try makeStore()
        let first = try #require(try store.addInvite(invite(account, from: "bob@example.org", at: 10)))
        let id = try #require(first.id)
        try store.declineInvite(accountID: account.rowID, id: id)
        try store.addInvite(invite(account, from: "carol@example.org", at: 15))
        try store.declineInvite(accountID: account.rowID, id: id)
        try store.declineInvite(accountID: account.rowID + 1, id: id + 1)
        #expect(try store.invites(accountID: account.rowID, pendingOnly: true).map(\.inviter) == ["carol@example.org"])
        try store.declineInvite(accountID: account.rowID, id: id + 1)
        #expect(try store.invites(accountID: account.rowID, pendingOnly: true).isEmpty)
        #expect(try store.invites(accountID: account.rowID, pendingOnly: false).map(\.state) == [.declined, .declined])
        #expect(try store.addInvite(invite(account, from: "bob@example.org", at: 20)) != nil)
    }

    // MARK: - Reflection and the outbox

    @Test func attachStanzaID__sets_it_once_and_returns_the_outbox_id() throws {
        let (store, account) = try makeStore()
        try enqueue(store, account, id: "out-1", to: room, type: "groupchat")
        #expect(try store.attachStanzaID(accountID: account.rowID, conversation: room, originID: "out-1", stanzaID: "sid-1") == "out-1")
        #expect(try store.attachStanzaID(accountID: account.rowID, conversation: room, originID: "out-1", stanzaID: "sid-2") == "out-1")
        let stored = try store.history(accountID: account.rowID, conversation: room).map(\.message.stanzaID)
        #expect(stored == ["sid-1"], "the first stanza-id stays")
        #expect(try store.attachStanzaID(accountID: account.rowID, conversation: room, originID: "nope", stanzaID: "sid-3") == nil)
        #expect(try store.attachStanzaID(accountID: account.rowID, conversation: "x@conference.example.org", originID: "out-1", stanzaID: "s") == nil)
    }

    @Test func attachStanzaID__ignores_incoming_messages_with_that_origin_id() throws {
        let (store, account) = try makeStore()
        let message = StoredMessage(
            accountID: account.rowID, conversation: room, direction: .incoming, type: "groupchat",
            sender: room + "/bob", recipient: account.jid, body: "hi", timestamp: 1, receivedAt: 1, originID: "o-1", dedupKey: "o-1")
        _ = try store.insertMessages([message])
        #expect(try store.attachStanzaID(accountID: account.rowID, conversation: room, originID: "o-1", stanzaID: "sid") == nil)
        #expect(try store.history(accountID: account.rowID, conversation: room).first?.message.stanzaID == nil)
    }

    @Test func queuedOutbox__holds_a_groupchat_row_until_its_room_is_joined() throws {
        let (store, account) = try makeStore()
        try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: true)
        try enqueue(store, account, id: "g1", to: room, type: "groupchat")
        try enqueue(store, account, id: "c1", to: "bob@example.org", type: "chat")
        try enqueue(store, account, id: "g2", to: "nowhere@conference.example.org", type: "groupchat")
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["c1"])
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joining)
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["c1"])
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joined, joinedNick: "alice")
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["g1", "c1"], "seq order holds")
        #expect(try store.outbox(accountID: account.rowID).map(\.id) == ["g1", "c1", "g2"], "the listing shows held rows")
        try store.resetRoomStates(accountID: account.rowID)
        #expect(try store.queuedOutbox(accountID: account.rowID).map(\.id) == ["c1"])
    }
}
