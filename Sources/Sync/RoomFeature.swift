import Foundation
import Store
import XMPP

/// XEP-0045 on a live session: joining the rooms the Store says we want, keeping their
/// occupants and subject, storing their messages, and leaving.
///
/// The Store is the source of truth: `tern join`, `/join` and bookmarks mark a room wanted,
/// and this feature makes the session match. A new session is in no room, so every wanted
/// room is joined again; a resumed one still is (XEP-0198 §5), so nothing is rejoined.
///
/// - Joining (§7.2): disco#info first, to learn whether the room keeps an archive. A room
///   with MAM is joined with `<history maxstanzas='0'/>` and caught up from its archive after
///   the last id we hold (XEP-0313 §4 on a room); any other room sends its own history,
///   de-duplicated on the way in. A nick conflict retries with a suffix, and a new room (201)
///   is made an instant room (§10.1.2).
/// - Messages written while offline wait in the outbox until self-presence (110) confirms
///   the join (the Store holds them back); then the outbox is flushed. Their reflection
///   is matched by origin-id, so each is stored once and marked delivered.
/// - XEP-0410 self-ping checks a room that has been silent for a while; a room that no
///   longer has us is joined again, or reported gone when it no longer exists.
struct RoomFeature: SessionFeature {
    let archiveRouter: ArchiveRouter
    let tracker = RoomTracker()

    static let joinTimeout: Duration = .seconds(15)
    static let requestTimeout: Duration = .seconds(15)
    /// How long a failed or unanswered join waits before the next try.
    static let rejoinBackoff: Duration = .seconds(30)
    /// XEP-0410 §4: ping a room after this long without hearing from it.
    static let selfPingAfter: Duration = .seconds(300)
    static let maxNickAttempts = 5
    /// A room's first catch-up takes at most this much of its archive.
    static let firstCatchUp = ArchiveFeature.Window(maxAge: 7 * 24 * 3600, maxMessages: 200)

    var discoFeatures: [String] { [NS.muc, NS.conference] }

    func sessionStarted(_ context: FeatureContext) async {
        // A new session is in no room: what the Store says about occupancy is stale.
        _ = try? context.store.resetRoomStates(accountID: context.account.rowID)
        await tracker.reset(context.account.rowID)
    }

    /// Joins every wanted room that we are not in, and waits for the answers, so `tern sync`
    /// and `tern join` end with the rooms joined (or their errors known).
    func sessionSettled(_ context: FeatureContext, resumed: Bool) async {
        await joinWanted(context, wait: true)
    }

    func poll(_ context: FeatureContext) async {
        await joinWanted(context, wait: false)
        await leaveUnwanted(context)
        await selfPingSilentRooms(context)
    }

    func linkLost(accountID: Int64) async {
        await tracker.linkLost(accountID)
    }

    // MARK: - Claiming

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        if stanza.matches("presence", NS.client) {
            if stanza.child("x", namespace: NS.mucUser) != nil { return true }
            // Join errors need not carry muc#user: claim errors from rooms we know.
            return stanza["type"] == "error" && isKnownRoom(stanza["from"], context)
        }
        guard stanza.matches("message", NS.client), stanza["type"] != "error" else { return false }
        if stanza["type"] == "groupchat" { return true }
        if MUC.mediatedInvite(in: stanza) != nil || DirectInvite.invite(in: stanza) != nil { return true }
        // A private message from an occupant (room@service/nick) is its own conversation.
        if let from = stanza["from"].flatMap(JID.init(validating:)), from.resource != nil,
            stanza.child("body", namespace: NS.client) != nil, isKnownRoom(from.bare.description, context)
        {
            return true
        }
        return false
    }

    private func isKnownRoom(_ from: String?, _ context: FeatureContext) -> Bool {
        guard let bare = from.flatMap(JID.init(validating:))?.bare.description else { return false }
        return (try? context.store.room(accountID: context.account.rowID, jid: bare)) != nil
    }

    // MARK: - Handling

    func handle(_ stanzas: [Element], _ context: FeatureContext) async {
        let accountID = context.account.rowID
        let now = Date()
        var records: [StoredMessage] = []
        var reflected: [String] = []
        var events: [SyncEvent] = []
        var rooms: [String: Room] = [:]
        func room(_ jid: JID) -> Room? {
            let key = jid.bare.description
            if let known = rooms[key] { return known }
            let found = (try? context.store.room(accountID: accountID, jid: key)) ?? nil
            rooms[key] = found
            return found
        }
        for stanza in stanzas {
            if stanza.name == "presence" {
                guard let jid = stanza["from"].flatMap(JID.init(validating:)), let known = room(jid) else { continue }
                events += await presence(stanza, room: known, context)
                rooms[known.jid] = nil  // presence may have changed it
                continue
            }
            if let invite = Self.invite(in: stanza, accountID: accountID, at: now) {
                if let stored = try? context.store.addInvite(invite) {
                    events.append(.room(RoomEvent(
                        kind: .invite, room: stored.room, inviter: stored.inviter, text: stored.reason, password: stored.password)))
                }
                continue
            }
            guard let from = stanza["from"].flatMap(JID.init(validating:)), let known = room(from) else { continue }
            await tracker.heard(accountID, room: known.jid)
            if stanza["type"] != "groupchat" {
                if let record = RoomMessages.privateRecord(
                    for: stanza, account: context.account, ourJID: context.boundJID, receivedAt: now)
                {
                    records.append(record)
                }
                continue
            }
            if case .some(let subject) = MUC.subject(of: stanza) {
                try? context.store.setRoomSubject(accountID: accountID, jid: known.jid, subject: subject, by: from.resource)
                events.append(.room(RoomEvent(kind: .subject, room: known.jid, nick: from.resource, text: subject)))
                continue
            }
            let originID = StanzaID.originID(of: stanza)
            let ours = originID.flatMap { id in
                (try? context.store.outboxItems(ids: [id]))?[id].flatMap { $0.accountID == accountID ? id : nil }
            }
            guard let record = RoomMessages.record(
                for: stanza, room: known, account: context.account, ourJID: context.boundJID,
                ownOutboxIDs: ours.map { [$0] } ?? [], receivedAt: now)
            else { continue }
            if let ours {
                // The room's reflection of our own message: proof it went out to everyone.
                _ = try? context.store.attachStanzaID(
                    accountID: accountID, conversation: known.jid, originID: ours, stanzaID: record.stanzaID ?? "")
                reflected.append(ours)
            }
            records.append(record)
            if let stanzaID = record.stanzaID, known.archived == true, await tracker.isCaughtUp(accountID, room: known.jid) {
                try? context.store.setRoomArchiveCursor(accountID: accountID, jid: known.jid, lastID: stanzaID)
            }
        }
        if let inserted = try? context.store.insertMessages(records) {
            for message in inserted { await context.emit(.message(message)) }
        }
        if !reflected.isEmpty, (try? context.store.settleOutbox(delivered: reflected, failed: [])) != nil {
            for id in reflected { await context.emit(.outbox(id: id, state: .delivered)) }
        }
        for event in events { await context.emit(event) }
    }

    private static func invite(in stanza: Element, accountID: Int64, at now: Date) -> RoomInvite? {
        // Prosody's mediated invite also carries a XEP-0249 element: one invitation, mediated.
        if let mediated = MUC.mediatedInvite(in: stanza) {
            return RoomInvite(
                accountID: accountID, room: mediated.room.description, inviter: mediated.from?.description,
                reason: mediated.reason, password: mediated.password, kind: .mediated,
                receivedAt: now.timeIntervalSince1970)
        }
        if let direct = DirectInvite.invite(in: stanza) {
            return RoomInvite(
                accountID: accountID, room: direct.room.description, inviter: direct.from?.bare.description,
                reason: direct.reason, password: direct.password, kind: .direct, receivedAt: now.timeIntervalSince1970)
        }
        return nil
    }

    /// One presence from a room we know: join outcomes, occupants, and our own exit.
    private func presence(_ stanza: Element, room: Room, _ context: FeatureContext) async -> [SyncEvent] {
        let accountID = context.account.rowID
        let store = context.store
        await tracker.heard(accountID, room: room.jid)
        if stanza["type"] == "error" {
            // The answer to a join, or to a nick change while joined (§7.6).
            guard let error = MUC.joinError(stanza), room.state == .joining || room.state == .joined else { return [] }
            await tracker.resolve(accountID, room: room.jid, with: .failed(error))
            return []
        }
        guard let occupant = MUC.occupantPresence(stanza) else { return [] }
        if occupant.isSelf {
            if occupant.isAvailable {
                let wasJoined = room.state == .joined
                try? store.setRoomState(accountID: accountID, jid: room.jid, state: .joined, joinedNick: occupant.nick, error: nil)
                try? store.applyOccupants(
                    accountID: accountID, room: room.jid, upserts: [Self.occupantRow(occupant, accountID: accountID)],
                    removals: [])
                if !wasJoined {
                    await tracker.resolve(accountID, room: room.jid, with: .joined(nick: occupant.nick, codes: occupant.statusCodes))
                }
                return []
            }
            return await selfExit(occupant, room: room, context)
        }
        if occupant.isAvailable {
            try? store.applyOccupants(
                accountID: accountID, room: room.jid, upserts: [Self.occupantRow(occupant, accountID: accountID)], removals: [])
            return []
        }
        try? store.applyOccupants(accountID: accountID, room: room.jid, upserts: [], removals: [occupant.nick])
        guard room.state == .joined else { return [] }
        let change: String
        switch occupant.exit {
        case .nickChanged(let to)?: change = "is now known as \(to)"
        case .kicked(let reason)?: change = "was kicked" + (reason.map { ": \($0)" } ?? "")
        case .banned(let reason)?: change = "was banned" + (reason.map { ": \($0)" } ?? "")
        default: change = "left"
        }
        return [.room(RoomEvent(kind: .occupant, room: room.jid, nick: occupant.nick, text: change))]
    }

    /// Our own unavailable presence: a nick change, or we are out of the room.
    private func selfExit(_ occupant: MUC.OccupantPresence, room: Room, _ context: FeatureContext) async -> [SyncEvent] {
        let accountID = context.account.rowID
        let store = context.store
        var state = Room.State.left
        var reason: String?
        var stayWanted = true
        switch occupant.exit {
        case .nickChanged(let to)?:
            // The available presence under the new nick follows; keep asking for it on rejoin.
            if var changed = (try? store.room(accountID: accountID, jid: room.jid)) ?? nil {
                changed.nick = to
                changed.joinedNick = to
                try? store.saveRoom(changed)
            }
            try? store.applyOccupants(accountID: accountID, room: room.jid, upserts: [], removals: [occupant.nick])
            await tracker.resolve(accountID, room: room.jid, with: .joined(nick: to, codes: occupant.statusCodes))
            return [.room(RoomEvent(kind: .occupant, room: room.jid, nick: occupant.nick, text: "is now known as \(to)"))]
        case .kicked(let why)?:
            (state, reason, stayWanted) = (.gone, "kicked" + Self.detail(why, actor: occupant.actor), false)
        case .banned(let why)?:
            (state, reason, stayWanted) = (.gone, "banned" + Self.detail(why, actor: occupant.actor), false)
        case .removedByAffiliationChange?, .membersOnly?:
            (state, reason, stayWanted) = (.gone, "removed: the room is members-only now", false)
        case .roomDestroyed(let why, let alternate)?:
            let successor = alternate.map { " (it moved to \($0))" } ?? ""
            (state, reason, stayWanted) = (.gone, "the room was destroyed" + Self.detail(why, actor: nil) + successor, false)
        case .shutdown?:
            reason = "the service is shutting down"
        case .errorRemoval?:
            reason = "removed by the service after an error"
        case .left?, nil:
            break  // our own leave, or our disconnect: nothing to report
        }
        try? store.setRoomState(accountID: accountID, jid: room.jid, state: state, joinedNick: nil, error: reason)
        if !stayWanted, var current = (try? store.room(accountID: accountID, jid: room.jid)) ?? nil {
            current.wanted = false
            try? store.saveRoom(current)
        }
        await tracker.resolve(accountID, room: room.jid, with: .left)
        guard reason != nil else { return [] }
        return [.room(RoomEvent(kind: .left, room: room.jid, nick: occupant.nick, text: reason))]
    }

    private static func detail(_ reason: String?, actor: String?) -> String {
        (actor.map { " by \($0)" } ?? "") + (reason.map { ": \($0)" } ?? "")
    }

    static func occupantRow(_ occupant: MUC.OccupantPresence, accountID: Int64) -> Occupant {
        Occupant(
            accountID: accountID, room: occupant.room.description, nick: occupant.nick,
            role: occupant.role?.rawValue, affiliation: occupant.affiliation?.rawValue,
            realJID: occupant.realJID?.description, show: occupant.show, status: occupant.status,
            isSelf: occupant.isSelf)
    }

    // MARK: - Joining and leaving

    private func joinWanted(_ context: FeatureContext, wait: Bool) async {
        let accountID = context.account.rowID
        guard let rooms = try? context.store.rooms(accountID: accountID) else { return }
        var due: [Room] = []
        // A join still unanswered after `rejoinBackoff` is sent again: the room answers a
        // repeated join with the whole occupant list, so a slow answer loses nothing.
        for room in rooms where room.wanted && (room.state == .left || room.state == .joining) {
            let backoff = wait && room.state == .left ? Duration.zero : Self.rejoinBackoff
            if await tracker.mayJoin(accountID, room: room.jid, backoff: backoff) {
                try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .joining, joinedNick: nil, error: nil)
                due.append(room)
            }
        }
        guard !due.isEmpty else { return }
        let joins = Task {
            await withTaskGroup(of: Void.self) { group in
                for room in due { group.addTask { await join(room, context) } }
            }
        }
        if wait { await joins.value }
    }

    /// §7.2, then the instant room (§10.1.2), the archive catch-up, and the held outbox rows.
    func join(_ room: Room, _ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard let roomJID = JID(validating: room.jid) else {
            try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .failed, joinedNick: nil, error: "not a room address")
            return
        }
        let info = await Self.roomInfo(roomJID, context)
        let archived = info.map(MUC.isRoomArchived(info:)) ?? false
        try? context.store.setRoomArchived(accountID: accountID, jid: room.jid, archived: archived)

        var outcome = RoomTracker.Outcome.left
        var nick = room.nick
        for attempt in 1...Self.maxNickAttempts {
            nick = MUC.nickWithSuffix(room.nick, attempt: attempt)
            guard let occupant = JID(validating: "\(room.jid)/\(nick)") else { break }
            let answer = await tracker.expect(accountID, room: room.jid)
            let presence = MUC.joinPresence(
                occupant: occupant, password: room.password, history: archived ? .none : .serverDefault)
            do { try await context.send([presence]) } catch {
                await tracker.resolve(accountID, room: room.jid, with: .left)
            }
            outcome = await tracker.wait(answer, timeout: Self.joinTimeout)
            guard case .failed(.nickConflict) = outcome, attempt < Self.maxNickAttempts else { break }
            let next = MUC.nickWithSuffix(room.nick, attempt: attempt + 1)
            await context.emit(.room(RoomEvent(kind: .nickRetry, room: room.jid, nick: next, text: "\(nick) is taken")))
        }
        switch outcome {
        case .joined(let joinedNick, let codes):
            if codes.contains(MUC.StatusCode.roomCreated.rawValue) {
                _ = try? await context.request(
                    MUC.instantRoomRequest(room: roomJID, id: context.nextID()), timeout: Self.requestTimeout)
            }
            let notes = codes.sorted().compactMap(MUC.StatusCode.init(rawValue:))
                .filter { $0 != .selfPresence }.map(\.summary)
            await context.emit(.room(RoomEvent(
                kind: .joined, room: room.jid, nick: joinedNick,
                text: notes.isEmpty ? nil : notes.joined(separator: "; "))))
            await context.engine.flush()
            await awaitReflections(room.jid, context)
            if archived { await catchUp(roomJID, context) } else { await tracker.caughtUp(accountID, room: room.jid) }
        case .failed(let error):
            try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .failed, joinedNick: nil, error: error.message)
            await context.emit(.room(RoomEvent(kind: .failed, room: room.jid, nick: nick, text: error.message)))
        case .left:
            // No answer in time, or the link went. Still joining: a late self-presence completes
            // the join (and keeps the occupants that came before it), and the poll asks again.
            let current = (try? context.store.room(accountID: accountID, jid: room.jid)) ?? nil
            if current?.state == .joining {
                try? context.store.setRoomState(
                    accountID: accountID, jid: room.jid, state: .joining, joinedNick: nil, error: "the room has not answered yet")
            }
        }
    }

    /// The messages held for the room just went out: wait briefly for the room to reflect
    /// them, so a one-shot `tern sync` ends with them confirmed, not merely sent.
    private func awaitReflections(_ room: String, _ context: FeatureContext) async {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, await context.engine.isOnline {
            let open = (try? context.store.outbox(accountID: context.account.rowID)) ?? []
            guard open.contains(where: { $0.recipient == room && ($0.state == .sent || $0.state == .acked) }) else { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// disco#info of the room; nil when it does not answer (or does not exist yet).
    static func roomInfo(_ room: JID, _ context: FeatureContext) async -> Element? {
        let request = IQ.request(.get, id: context.nextID(), to: room, payload: Element("query", namespace: NS.discoInfo))
        let reply = try? await context.request(request, timeout: requestTimeout)
        return reply?.child("query", namespace: NS.discoInfo)
    }

    private func leaveUnwanted(_ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard let rooms = try? context.store.rooms(accountID: accountID) else { return }
        for room in rooms where !room.wanted && (room.state == .joined || room.state == .joining) {
            guard let occupant = JID(validating: "\(room.jid)/\(room.currentNick)") else { continue }
            // Marked left first: the room's answer (our unavailable presence) then changes nothing.
            try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .left, joinedNick: nil, error: nil)
            try? await context.send([MUC.leavePresence(occupant: occupant, status: nil)])
            await context.emit(.room(RoomEvent(kind: .left, room: room.jid, nick: room.currentNick, text: nil)))
        }
    }

    // MARK: - Room archive (XEP-0313 on a room)

    /// From the last id we hold to the end of the room's archive; a room we never read gets
    /// a recent window. The cursor moves only once a page is stored.
    func catchUp(_ room: JID, _ context: FeatureContext) async {
        let accountID = context.account.rowID
        let key = room.description
        let archive = MAM.Archive.room(room)
        let stored = ((try? context.store.room(accountID: accountID, jid: key)) ?? nil)?.mamLastID
        var finished = false
        if let stored {
            var machine = ArchiveCatchUp(archive: archive, from: .afterID(stored), pageSize: 100)
            let outcome = await ArchivePages.run(&machine, router: archiveRouter, context: context) { results, machine, step in
                await Self.storeArchived(results, room: key, context)
                if step != nil, machine.idsAreStable, let last = machine.lastID, last != stored {
                    try? context.store.setRoomArchiveCursor(accountID: accountID, jid: key, lastID: last)
                }
            }
            finished = outcome == .finished
            if case .failed(.unknownArchiveID) = outcome { finished = await window(room, context) }
        } else {
            finished = await window(room, context)
        }
        if finished { await tracker.caughtUp(accountID, room: key) }
    }

    private func window(_ room: JID, _ context: FeatureContext) async -> Bool {
        let key = room.description
        var backfill = ArchiveBackfill(
            archive: .room(room), filter: MAM.Filter(start: Date().addingTimeInterval(-Self.firstCatchUp.maxAge)),
            limit: Self.firstCatchUp.maxMessages, pageSize: 100)
        let pages = await ArchivePages.runBackwards(&backfill, router: archiveRouter, context: context)
        for page in pages.pages.reversed() { await Self.storeArchived(page, room: key, context) }
        if pages.outcome == .finished, backfill.idsAreStable, let newest = backfill.newestID {
            try? context.store.setRoomArchiveCursor(accountID: context.account.rowID, jid: key, lastID: newest)
        }
        return pages.outcome == .finished
    }

    /// One page of the room's archive, in one transaction; returns how many rows were new.
    @discardableResult
    static func storeArchived(_ results: [MAM.Result], room key: String, _ context: FeatureContext) async -> Int {
        let accountID = context.account.rowID
        guard !results.isEmpty, let room = (try? context.store.room(accountID: accountID, jid: key)) ?? nil else { return 0 }
        let originIDs = results.compactMap { StanzaID.originID(of: $0.message) }
        let ours = Set(((try? context.store.outboxItems(ids: originIDs)) ?? [:]).filter { $0.value.accountID == accountID }.keys)
        let now = Date()
        let records = results.compactMap {
            RoomMessages.record(
                for: $0.message, room: room, account: context.account, ourJID: context.boundJID, ownOutboxIDs: ours,
                receivedAt: now, archivedAt: $0.timestamp, archiveID: $0.archiveID)
        }
        guard let inserted = try? context.store.insertMessages(records) else { return 0 }
        for message in inserted { await context.emit(.message(message)) }
        return inserted.count
    }

    // MARK: - XEP-0410 self-ping

    private func selfPingSilentRooms(_ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard let joined = try? context.store.rooms(accountID: accountID).filter({ $0.state == .joined }), !joined.isEmpty
        else { return }
        // Rooms this process never heard from (joined before a resumption) count from now.
        let silent = await tracker.silentRooms(accountID, among: joined.map(\.jid), after: Self.selfPingAfter)
        for room in joined where silent.contains(room.jid) {
            Task { await selfPing(room, context) }
        }
    }

    /// Pings every joined room now (`/sync`, tests) and returns once each is judged.
    func checkRooms(_ context: FeatureContext) async {
        guard let rooms = try? context.store.rooms(accountID: context.account.rowID) else { return }
        await withTaskGroup(of: Void.self) { group in
            for room in rooms where room.state == .joined { group.addTask { await selfPing(room, context) } }
        }
    }

    private func selfPing(_ room: Room, _ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard let occupant = JID(validating: "\(room.jid)/\(room.currentNick)"),
            await tracker.startPing(accountID, room: room.jid)
        else { return }
        let reply: Element?
        do {
            reply = try await context.engine.exchange(SelfPing.request(occupant: occupant, id: context.nextID()), timeout: Self.requestTimeout)
        } catch {
            reply = nil
        }
        await tracker.endPing(accountID, room: room.jid)
        guard SelfPing.verdict(reply: reply, occupant: occupant) == .notJoined else { return }
        // Out of the room. Rejoin it, unless it no longer exists: a join would create it anew.
        guard let roomJID = JID(validating: room.jid) else { return }
        let exists = await Self.roomExists(roomJID, context)
        if exists {
            try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .left, joinedNick: nil, error: "dropped from the room")
            await context.emit(.room(RoomEvent(kind: .left, room: room.jid, nick: room.currentNick, text: "dropped from the room; joining again")))
        } else {
            try? context.store.setRoomState(accountID: accountID, jid: room.jid, state: .gone, joinedNick: nil, error: "the room no longer exists")
            if var current = (try? context.store.room(accountID: accountID, jid: room.jid)) ?? nil {
                current.wanted = false
                try? context.store.saveRoom(current)
            }
            await context.emit(.room(RoomEvent(kind: .left, room: room.jid, nick: room.currentNick, text: "the room no longer exists")))
        }
    }

    /// Whether the service still has the room: disco#info answers, or fails with anything but item-not-found.
    static func roomExists(_ room: JID, _ context: FeatureContext) async -> Bool {
        let request = IQ.request(.get, id: context.nextID(), to: room, payload: Element("query", namespace: NS.discoInfo))
        do {
            _ = try await context.request(request, timeout: requestTimeout)
            return true
        } catch let error as StanzaError {
            return error.condition != "item-not-found"
        } catch {
            return true  // no answer proves nothing
        }
    }
}

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
    private var early: [Key: Outcome] = [:]
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

    /// Registers interest in the next outcome for the room, before the join is sent.
    func expect(_ accountID: Int64, room: String) -> Key {
        let key = Key(accountID: accountID, room: room)
        early[key] = nil
        return key
    }

    func wait(_ key: Key, timeout: Duration) async -> Outcome {
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

    func resolve(_ accountID: Int64, room: String, with outcome: Outcome) {
        let key = Key(accountID: accountID, room: room)
        if let continuation = waiting.removeValue(forKey: key) {
            continuation.resume(returning: outcome)
        } else {
            early[key] = outcome
        }
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
