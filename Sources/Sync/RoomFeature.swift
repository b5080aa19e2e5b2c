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
        // A private message from an occupant (room@service/nick) is its own conversation. The
        // room marks those it relays (§7.5), which spares a Store read for every 1:1 message.
        if stanza.child("x", namespace: NS.mucUser) != nil,
            let from = stanza["from"].flatMap(JID.init(validating:)), from.resource != nil,
            stanza.child("body", namespace: NS.client) != nil, isKnownRoom(from.bare.description, context)
        {
            return true
        }
        return false
    }

    /// A read that only routes: unread, the stanza takes the contact path, where it is still stored.
    private func isKnownRoom(_ from: String?, _ context: FeatureContext) -> Bool {
        guard let bare = from.flatMap(JID.init(validating:))?.bare.description else { return false }
        return (try? context.store.room(accountID: context.account.rowID, jid: bare)) != nil
    }

    // MARK: - Handling

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let accountID = context.account.rowID
        let now = Date()
        var records: [MessageRows.Row] = []
        var reflected: [String] = []
        var cursors: [String: String] = [:]
        var events: [SyncEvent] = []
        var rooms: [String: Room] = [:]
        func room(_ jid: JID) throws -> Room? {
            let key = jid.bare.description
            if let known = rooms[key] { return known }
            let found = try context.store.room(accountID: accountID, jid: key)
            rooms[key] = found
            return found
        }
        var occupants = OccupantChanges()
        // Our outbox rows that this burst's room messages may reflect: one read for the burst.
        let outboxRows = try Self.outboxRows(originIDsIn: stanzas.filter { $0["type"] == "groupchat" }, context)
        for stanza in stanzas {
            if stanza.name == "presence" {
                guard let jid = stanza["from"].flatMap(JID.init(validating:)), let known = try room(jid) else { continue }
                events += try await presence(stanza, room: known, context, &occupants)
                rooms[known.jid] = nil  // presence may have changed it
                continue
            }
            if let invite = Self.invite(in: stanza, accountID: accountID, at: now) {
                if let stored = try context.unlessRefused({ try context.store.addInvite(invite) }) ?? nil {
                    events.append(.room(RoomEvent(
                        kind: .invite, room: stored.room, inviter: stored.inviter, text: stored.reason, password: stored.password)))
                }
                continue
            }
            guard let from = stanza["from"].flatMap(JID.init(validating:)), let known = try room(from) else { continue }
            await tracker.heard(accountID, room: known.jid)
            if stanza["type"] != "groupchat" {
                if let record = RoomMessages.privateRecord(
                    for: stanza, account: context.account, ourJID: context.boundJID, receivedAt: now)
                {
                    records.append((record, stanza))
                }
                continue
            }
            if case .some(let subject) = MUC.subject(of: stanza) {
                // Every join repeats the subject: only a new one is news.
                let normalized = subject.flatMap { $0.isEmpty ? nil : $0 }
                if normalized != known.subject {
                    _ = try context.unlessRefused {
                        try context.store.setRoomSubject(accountID: accountID, jid: known.jid, subject: normalized, by: from.resource)
                    }
                    events.append(.room(RoomEvent(kind: .subject, room: known.jid, nick: from.resource, text: subject)))
                    rooms[known.jid] = nil
                }
                continue
            }
            let ours = Self.ownOutboxIDs(outboxRows, room: known, context)
            guard var record = RoomMessages.record(
                for: stanza, room: known, account: context.account, ourJID: context.boundJID,
                ownOutboxIDs: ours, receivedAt: now)
            else { continue }
            // Said live (not join history): whoever holds the nick now said it.
            if record.direction == .incoming, let nick = record.nick, Delay.timestamp(of: stanza) == nil {
                record.senderRealJID = occupants.realJID(of: nick, in: known.jid, context)
            }
            if let id = record.originID, ours.contains(id) {
                // The room's reflection of our own message: proof it went out to everyone.
                if let stanzaID = record.stanzaID {
                    _ = try context.unlessRefused {
                        try context.store.attachStanzaID(accountID: accountID, conversation: known.jid, originID: id, stanzaID: stanzaID)
                    }
                }
                reflected.append(id)
            }
            records.append((record, stanza))
            if let stanzaID = record.stanzaID, known.archived == true, await tracker.isCaughtUp(accountID, room: known.jid) {
                cursors[known.jid] = stanzaID
            }
        }
        try occupants.apply(context)
        let stored = try await MessageRows.commit(records, context)
        // The archive cursor moves only once what it points past is stored.
        for (room, stanzaID) in cursors {
            _ = try context.unlessRefused { try context.store.setRoomArchiveCursor(accountID: accountID, jid: room, lastID: stanzaID) }
        }
        for message in stored.changed { await context.emit(.message(message)) }
        // A reflection settles its row even if a clean close had queued it again meanwhile:
        // the room has it, so sending it again would show it twice.
        if !reflected.isEmpty {
            try context.store.markOutbox(ids: reflected, as: .delivered, from: [.queued, .sent, .acked])
            for id in reflected { await context.emit(.outbox(id: id, state: .delivered)) }
        }
        for event in events { await context.emit(event) }
    }

    /// The outbox rows whose ids these messages carry as origin-ids, in one read.
    static func outboxRows(originIDsIn messages: [Element], _ context: FeatureContext) throws -> [String: OutboxItem] {
        let ids = messages.compactMap { StanzaID.originID(of: $0) }
        guard !ids.isEmpty else { return [:] }
        return try context.store.outboxItems(ids: ids)
    }

    /// Which of those rows are our own messages *to this room*: an occupant who saw our
    /// origin-id elsewhere must not pass their text off as ours.
    static func ownOutboxIDs(_ rows: [String: OutboxItem], room: Room, _ context: FeatureContext) -> Set<String> {
        Set(rows.values.filter {
            $0.accountID == context.account.rowID && $0.type == "groupchat" && $0.recipient == room.jid
        }.map(\.id))
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
    /// Other occupants' comings and goings of one burst, written in one transaction per room
    /// (joining a busy room brings hundreds of presences at once).
    struct OccupantChanges {
        private var byRoom: [String: (upserts: [String: Occupant], removals: Set<String>)] = [:]
        /// Real bare JIDs by nick as the Store held them at the start of the burst, read once per room.
        private var storedRealJIDs: [String: [String: String]] = [:]

        /// The real bare JID of whoever holds `nick` now, as this burst's presences left it, if
        /// the room revealed it (XEP-0045 §7.2.3: a non-anonymous room, or we moderate).
        mutating func realJID(of nick: String, in room: String, _ context: FeatureContext) -> String? {
            if let pending = byRoom[room] {
                if let occupant = pending.upserts[nick] { return Self.bare(occupant.realJID) }
                if pending.removals.contains(nick) { return nil }
            }
            if storedRealJIDs[room] == nil {
                // Unread, a message keeps no real JID: a detail lost, nothing wrong stored.
                let stored = (try? context.store.occupants(accountID: context.account.rowID, room: room)) ?? []
                storedRealJIDs[room] = Dictionary(
                    stored.compactMap { occupant in Self.bare(occupant.realJID).map { (occupant.nick, $0) } },
                    uniquingKeysWith: { first, _ in first })
            }
            return storedRealJIDs[room]?[nick]
        }

        private static func bare(_ jid: String?) -> String? {
            jid.flatMap(JID.init(validating:))?.bare.description
        }

        mutating func upsert(_ occupant: Occupant) {
            byRoom[occupant.room, default: ([:], [])].removals.remove(occupant.nick)
            byRoom[occupant.room, default: ([:], [])].upserts[occupant.nick] = occupant
        }

        mutating func remove(_ nick: String, from room: String) {
            byRoom[room, default: ([:], [])].upserts[nick] = nil
            byRoom[room, default: ([:], [])].removals.insert(nick)
        }

        /// Writes what is pending (for one room, or all): before our own presence changes the
        /// room's state, and at the end of the burst.
        mutating func apply(_ context: FeatureContext, room: String? = nil) throws {
            for (jid, change) in byRoom where room == nil || jid == room {
                _ = try context.unlessRefused {
                    try context.store.applyOccupants(
                        accountID: context.account.rowID, room: jid, upserts: Array(change.upserts.values),
                        removals: Array(change.removals))
                }
                byRoom[jid] = nil
                storedRealJIDs[jid] = nil
            }
        }
    }

    private func presence(
        _ stanza: Element, room: Room, _ context: FeatureContext, _ occupants: inout OccupantChanges
    ) async throws -> [SyncEvent] {
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
            try occupants.apply(context, room: room.jid)
            if occupant.isAvailable {
                let wasJoined = room.state == .joined
                _ = try context.unlessRefused {
                    try store.setRoomState(accountID: accountID, jid: room.jid, state: .joined, joinedNick: occupant.nick, error: nil)
                    try store.applyOccupants(
                        accountID: accountID, room: room.jid, upserts: [Self.occupantRow(occupant, accountID: accountID)],
                        removals: [])
                }
                if !wasJoined {
                    let outcome = RoomTracker.Outcome.joined(nick: occupant.nick, codes: occupant.statusCodes)
                    // A self-presence no join waits for any more (it came after the timeout)
                    // still gets what follows a join: on its own task, off this stanza path.
                    if await !tracker.resolve(accountID, room: room.jid, with: outcome) {
                        Task { await afterJoin(room.jid, nick: occupant.nick, codes: occupant.statusCodes, context) }
                    }
                }
                return []
            }
            return try await selfExit(occupant, room: room, context)
        }
        if occupant.isAvailable {
            occupants.upsert(Self.occupantRow(occupant, accountID: accountID))
            return []
        }
        occupants.remove(occupant.nick, from: room.jid)
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
    private func selfExit(_ occupant: MUC.OccupantPresence, room: Room, _ context: FeatureContext) async throws -> [SyncEvent] {
        let accountID = context.account.rowID
        let store = context.store
        var state = Room.State.left
        var reason: String?
        var stayWanted = true
        // A room that is gone for good must not autojoin anywhere: a join would create it anew.
        var clearAutojoin = false
        switch occupant.exit {
        case .nickChanged(let to)?:
            // The available presence under the new nick follows; keep asking for it on rejoin.
            _ = try context.unlessRefused {
                try store.setRoomNick(accountID: accountID, jid: room.jid, nick: to)
                try store.applyOccupants(accountID: accountID, room: room.jid, upserts: [], removals: [occupant.nick])
            }
            await tracker.resolve(accountID, room: room.jid, with: .joined(nick: to, codes: occupant.statusCodes))
            return [.room(RoomEvent(kind: .occupant, room: room.jid, nick: occupant.nick, text: "is now known as \(to)"))]
        case .kicked(let why)?:
            (state, reason, stayWanted) = (.gone, "kicked" + Self.detail(why, actor: occupant.actor), false)
        case .banned(let why)?:
            (state, reason, stayWanted, clearAutojoin) = (.gone, "banned" + Self.detail(why, actor: occupant.actor), false, true)
        case .removedByAffiliationChange?, .membersOnly?:
            (state, reason, stayWanted) = (.gone, "removed: the room is members-only now", false)
        case .roomDestroyed(let why, let alternate)?:
            let successor = alternate.map { " (it moved to \($0))" } ?? ""
            (state, reason, stayWanted, clearAutojoin) = (.gone, "the room was destroyed" + Self.detail(why, actor: nil) + successor, false, true)
        case .shutdown?:
            reason = "the service is shutting down"
        case .errorRemoval?:
            reason = "removed by the service after an error"
        case .left?, nil:
            break  // our own leave, or our disconnect: nothing to report
        }
        _ = try context.unlessRefused {
            try store.setRoomState(accountID: accountID, jid: room.jid, state: state, joinedNick: nil, error: reason)
        }
        if !stayWanted { try store.stopWantingRoom(accountID: accountID, jid: room.jid, clearAutojoin: clearAutojoin) }
        if state == .gone, let reason {
            let failed = try context.unlessRefused { try store.failHeldRoomMessages(accountID: accountID, room: room.jid, reason: reason) } ?? []
            for id in failed { await context.emit(.outbox(id: id, state: .failed)) }
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
        guard await tracker.beginJoin(accountID, room: room.jid) else { return }  // one join at a time
        defer { Task { await tracker.endJoin(accountID, room: room.jid) } }
        guard let roomJID = JID(validating: room.jid) else {
            await refuse(room.jid, state: .failed, reason: "not a room address", context)
            return
        }
        var archived = room.archived ?? false
        switch await Self.roomInfo(roomJID, context) {
        case .found(let info):
            archived = MUC.isRoomArchived(info: info)
            try? context.store.setRoomArchived(accountID: accountID, jid: room.jid, archived: archived)
            try? context.store.setRoomOccupantIDs(
                accountID: accountID, jid: room.jid, advertised: OccupantID.isAdvertised(info: info))
        case .missing where room.archived != nil:
            // We were in it before and the service no longer has it: joining would create it anew.
            try? context.store.stopWantingRoom(accountID: accountID, jid: room.jid, clearAutojoin: true)
            await refuse(room.jid, state: .gone, reason: "the room no longer exists", context)
            return
        case .missing, .unknown:
            break  // a new room (ours to create), or no answer: the join itself will tell
        }
        // Without an archive, the room's own history fills the gap, from our newest message on.
        let newest = (try? context.store.history(accountID: accountID, conversation: room.jid, limit: 1))?.last?.message.timestamp
        let history: MUC.History = archived ? .none : newest.map { .since(Date(timeIntervalSince1970: $0)) } ?? .serverDefault

        var outcome = RoomTracker.Outcome.left
        var nick = room.nick
        for attempt in 1...Self.maxNickAttempts {
            nick = MUC.nickWithSuffix(room.nick, attempt: attempt)
            guard let occupant = JID(validating: "\(room.jid)/\(nick)") else { break }
            let answer = await tracker.expect(accountID, room: room.jid)
            let presence = MUC.joinPresence(occupant: occupant, password: room.password, history: history)
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
            await afterJoin(room.jid, nick: joinedNick, codes: codes, context)
        case .failed(let error):
            await refuse(room.jid, state: .failed, reason: error.message, nick: nick, context)
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

    /// Once self-presence confirmed the join, whether a join was waiting for it or it came late:
    /// a new room is opened as an instant room (§10.1.2), the held messages go out, and the
    /// room's archive is caught up.
    func afterJoin(_ jid: String, nick: String, codes: Set<Int>, _ context: FeatureContext) async {
        guard let roomJID = JID(validating: jid) else { return }
        if codes.contains(MUC.StatusCode.roomCreated.rawValue) {
            _ = try? await context.request(MUC.instantRoomRequest(room: roomJID, id: context.nextID()), timeout: Self.requestTimeout)
        }
        // A room that did not exist before the join (we just created it) had no disco#info to
        // read: ask now whether it stamps XEP-0421 occupant-ids, before its messages come.
        let accountID = context.account.rowID
        if ((try? context.store.room(accountID: accountID, jid: jid)) ?? nil)?.occupantIDs == nil,
            case .found(let info) = await Self.roomInfo(roomJID, context)
        {
            try? context.store.setRoomOccupantIDs(accountID: accountID, jid: jid, advertised: OccupantID.isAdvertised(info: info))
        }
        // 201 is answered at once (an instant room), so it is news that the room is new, not that it waits.
        let notes = codes.sorted().compactMap(MUC.StatusCode.init(rawValue:)).filter { $0 != .selfPresence }
            .map { $0 == .roomCreated ? "created as an instant room" : $0.summary }
        await context.emit(.room(RoomEvent(
            kind: .joined, room: jid, nick: nick, text: notes.isEmpty ? nil : notes.joined(separator: "; "))))
        await context.engine.flush()
        await awaitReflections(jid, context)
        let archived = ((try? context.store.room(accountID: context.account.rowID, jid: jid)) ?? nil)?.archived == true
        if archived { await catchUp(roomJID, context) } else { await tracker.caughtUp(context.account.rowID, room: jid) }
    }

    /// The room will not have us: say why, and fail the messages held for it.
    func refuse(_ jid: String, state: Room.State, reason: String, nick: String? = nil, _ context: FeatureContext) async {
        let accountID = context.account.rowID
        try? context.store.setRoomState(accountID: accountID, jid: jid, state: state, joinedNick: nil, error: reason)
        let failed = (try? context.store.failHeldRoomMessages(accountID: accountID, room: jid, reason: reason)) ?? []
        for id in failed { await context.emit(.outbox(id: id, state: .failed)) }
        await context.emit(.room(RoomEvent(kind: state == .gone ? .left : .failed, room: jid, nick: nick, text: reason)))
    }

    /// The messages held for the room just went out: wait briefly for the room to reflect
    /// them, so a one-shot `tern sync` ends with them confirmed, not merely sent.
    private func awaitReflections(_ room: String, _ context: FeatureContext) async {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, await context.engine.isOnline {
            let waiting = (try? context.store.outboxCount(accountID: context.account.rowID, in: [.sent, .acked], recipient: room)) ?? 0
            guard waiting > 0 else { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    enum RoomInfo {
        case found(Element)
        /// item-not-found: the service has no such room (yet, or any more).
        case missing
        /// No answer, or another error: nothing learnt.
        case unknown
    }

    /// disco#info of the room (XEP-0045 §6.4).
    static func roomInfo(_ room: JID, _ context: FeatureContext) async -> RoomInfo {
        do {
            return try await context.discoInfo(of: room, timeout: requestTimeout).map(RoomInfo.found) ?? .unknown
        } catch let error as StanzaError where error.condition == "item-not-found" {
            return .missing
        } catch {
            return .unknown
        }
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
}
