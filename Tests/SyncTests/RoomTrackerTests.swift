import Testing
@testable import Sync
@testable import XMPP

/// The in-memory side of joins: answers that come before or after the wait, timeouts, the
/// link going away, and which rooms have been silent long enough for a self-ping.
@Suite struct RoomTrackerTests {
    @Test func anAnswerBeforeTheWait_isNotLost() async {
        let tracker = RoomTracker()
        let key = await tracker.expect(1, room: "r@rooms")
        await tracker.resolve(1, room: "r@rooms", with: .joined(nick: "me", codes: [110]))
        #expect(await tracker.wait(key, timeout: .seconds(5)) == .joined(nick: "me", codes: [110]))
    }

    @Test func anAnswerDuringTheWait_endsIt() async {
        let tracker = RoomTracker()
        let key = await tracker.expect(1, room: "r@rooms")
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            await tracker.resolve(1, room: "r@rooms", with: .failed(.nickConflict))
        }
        #expect(await tracker.wait(key, timeout: .seconds(5)) == .failed(.nickConflict))
    }

    @Test func noAnswer_orALostLink_isLeft() async {
        let tracker = RoomTracker()
        let key = await tracker.expect(1, room: "r@rooms")
        #expect(await tracker.wait(key, timeout: .milliseconds(50)) == .left)
        let again = await tracker.expect(1, room: "r@rooms")
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            await tracker.linkLost(1)
        }
        #expect(await tracker.wait(again, timeout: .seconds(5)) == .left)
    }

    @Test func anOldAnswer_doesNotSettleANewJoin() async {
        let tracker = RoomTracker()
        await tracker.resolve(1, room: "r@rooms", with: .left)  // e.g. our leave's echo
        let key = await tracker.expect(1, room: "r@rooms")
        #expect(await tracker.wait(key, timeout: .milliseconds(50)) == .left, "timed out, not the stale answer")
        await tracker.resolve(1, room: "r@rooms", with: .joined(nick: "me", codes: []))
        let next = await tracker.expect(1, room: "r@rooms")
        #expect(await tracker.wait(next, timeout: .milliseconds(50)) == .left)
    }

    @Test func silence__countsFromTheFirstLook_forRoomsNeverHeard() async throws {
        let tracker = RoomTracker()
        #expect(await tracker.silentRooms(1, among: ["a@rooms"], after: .zero).isEmpty, "first seen now")
        try await Task.sleep(for: .milliseconds(20))
        #expect(await tracker.silentRooms(1, among: ["a@rooms"], after: .milliseconds(10)) == ["a@rooms"])
        await tracker.heard(1, room: "a@rooms")
        #expect(await tracker.silentRooms(1, among: ["a@rooms"], after: .seconds(60)).isEmpty)
        #expect(await tracker.startPing(1, room: "a@rooms"))
        #expect(await !tracker.startPing(1, room: "a@rooms"), "one ping at a time")
    }
}
