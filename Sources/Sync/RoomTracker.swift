import Foundation
import XMPP

/// What a room's join is waiting for, and when each room was last heard from, per account.
/// In memory only: a new process starts with no joins in flight and every room freshly heard.
actor RoomTracker {
    enum Outcome: Sendable, Equatable {
        case joined(nick: String, codes: Set<Int>)
        case failed(MUC.JoinError)
        /// The link went away, or no answer came.
        case left
    }

    struct Key: Hashable {
        let accountID: Int64
        let room: String
    }

    private var waiting: [Key: CheckedContinuation<Outcome, Never>] = [:]
    /// Joins between `expect` and `wait`: an answer that comes then is kept for the wait.
    private var expecting: Set<Key> = []
    private var early: [Key: Outcome] = [:]
    private var joining: Set<Key> = []
    private var lastHeard: [Key: ContinuousClock.Instant] = [:]
    private var lastJoin: [Key: ContinuousClock.Instant] = [:]
    private var pinging: Set<Key> = []
    private var caughtUpRooms: Set<Key> = []

    func reset(_ accountID: Int64) {
        for key in caughtUpRooms where key.accountID == accountID { caughtUpRooms.remove(key) }
        for key in lastJoin.keys where key.accountID == accountID { lastJoin[key] = nil }
    }

    func linkLost(_ accountID: Int64) {
        for (key, continuation) in waiting where key.accountID == accountID {
            waiting[key] = nil
            continuation.resume(returning: .left)
        }
    }

    /// Whether a join may start now (not one within `backoff`); records the attempt.
    func mayJoin(_ accountID: Int64, room: String, backoff: Duration) -> Bool {
        let key = Key(accountID: accountID, room: room)
        if let last = lastJoin[key], last.duration(to: .now) < backoff { return false }
        lastJoin[key] = .now
        lastHeard[key] = .now
        return true
    }

    /// One join per room at a time: a slow one must not be cut short by the next poll's.
    func beginJoin(_ accountID: Int64, room: String) -> Bool {
        joining.insert(Key(accountID: accountID, room: room)).inserted
    }

    func endJoin(_ accountID: Int64, room: String) {
        joining.remove(Key(accountID: accountID, room: room))
    }

    /// Registers interest in the next outcome for the room, before the join is sent.
    func expect(_ accountID: Int64, room: String) -> Key {
        let key = Key(accountID: accountID, room: room)
        early[key] = nil
        expecting.insert(key)
        return key
    }

    func wait(_ key: Key, timeout: Duration) async -> Outcome {
        expecting.remove(key)
        if let outcome = early.removeValue(forKey: key) { return outcome }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.resolve(key.accountID, room: key.room, with: .left)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            waiting[key]?.resume(returning: .left)
            waiting[key] = continuation
        }
    }

    /// Hands `outcome` to the join waiting for it; false when none is (nobody will act on it).
    @discardableResult
    func resolve(_ accountID: Int64, room: String, with outcome: Outcome) -> Bool {
        let key = Key(accountID: accountID, room: room)
        if let continuation = waiting.removeValue(forKey: key) {
            continuation.resume(returning: outcome)
            return true
        }
        guard expecting.contains(key) else { return false }
        early[key] = outcome
        return true
    }

    func heard(_ accountID: Int64, room: String) {
        lastHeard[Key(accountID: accountID, room: room)] = .now
    }

    func silentRooms(_ accountID: Int64, among rooms: [String], after silence: Duration) -> Set<String> {
        let now = ContinuousClock.now
        var silent: Set<String> = []
        for room in rooms {
            let key = Key(accountID: accountID, room: room)
            guard let heard = lastHeard[key] else {
                lastHeard[key] = now
                continue
            }
            if heard.duration(to: now) >= silence { silent.insert(room) }
        }
        return silent
    }

    func startPing(_ accountID: Int64, room: String) -> Bool {
        pinging.insert(Key(accountID: accountID, room: room)).inserted
    }

    func endPing(_ accountID: Int64, room: String) {
        let key = Key(accountID: accountID, room: room)
        pinging.remove(key)
        lastHeard[key] = .now
    }

    func caughtUp(_ accountID: Int64, room: String) {
        caughtUpRooms.insert(Key(accountID: accountID, room: room))
    }

    func isCaughtUp(_ accountID: Int64, room: String) -> Bool {
        caughtUpRooms.contains(Key(accountID: accountID, room: room))
    }
}
