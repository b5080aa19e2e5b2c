import Store

/// The live outbox view behind `tern outbox --watch` and `/outbox` (issue 5): which rows
/// changed state since the last look.
///
/// It reads the Store rather than listening to a sync engine, so it sees changes made by
/// whichever process holds the connection (a shell, `tern sync --watch`, a cron job).
struct OutboxWatch {
    /// The rows followed, with the state seen last.
    private var states: [String: OutboxItem.State]
    /// The intents followed (room actions, roster edits, …), likewise.
    private var intentStates: [Int64: Intent.State]
    /// `tern outbox --watch` also follows rows written after it started; the shell follows
    /// only what `/outbox` listed, so later chat does not scroll past as outbox lines.
    private let followsNewRows: Bool

    /// Whether nothing followed can change any more without the user (the shell stops then).
    var isSettled: Bool {
        states.values.allSatisfy(Self.isSettled) && intentStates.values.allSatisfy { $0 == .failed || $0.isFinished }
    }

    /// Starts from `items` and `intents`, the list just printed.
    init(_ items: [OutboxItem], intents: [Intent] = [], followsNewRows: Bool) {
        self.followsNewRows = followsNewRows
        states = Dictionary(items.map { ($0.id, $0.state) }, uniquingKeysWith: { _, last in last })
        intentStates = Dictionary(intents.compactMap { i in i.id.map { ($0, i.state) } }, uniquingKeysWith: { _, last in last })
    }

    /// The followed (or, if so made, new) intents whose state changed, oldest first.
    mutating func intentChanges(in store: Store, accountID: Int64) throws -> [Intent] {
        var changed: [Intent] = []
        var seen: Set<Int64> = []
        for intent in try store.intents(accountID: accountID) {
            guard let id = intent.id else { continue }
            seen.insert(id)
            let before = intentStates[id]
            guard before != nil || followsNewRows else { continue }
            if before != intent.state { changed.append(intent) }
            intentStates[id] = intent.state
        }
        // Off the open list (done or cancelled): told once, then no longer followed.
        for id in intentStates.keys where !seen.contains(id) {
            if let intent = try store.intent(id: id), intent.state != intentStates[id] { changed.append(intent) }
            intentStates[id] = nil
        }
        return changed.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    }

    /// Nothing more happens to a row in these states unless the user retries it.
    static func isSettled(_ state: OutboxItem.State) -> Bool {
        switch state {
        case .delivered, .failed, .cancelled: true
        case .queued, .sent, .acked: false
        }
    }

    /// The followed (or, if so made, new) rows whose state changed, oldest first.
    mutating func changes(in store: Store, accountID: Int64) throws -> [OutboxItem] {
        let open = try store.outbox(accountID: accountID)
        let openIDs = Set(open.map(\.id))
        // Rows gone from the open list finished since (delivered or cancelled): fetch them once more.
        let finishedIDs = states.keys.filter { !openIDs.contains($0) }
        let finished = try store.outboxItems(ids: Array(finishedIDs)).values
        var changed: [OutboxItem] = []
        for item in open + finished {
            let before = states[item.id]
            guard before != nil || followsNewRows else { continue }
            if before != item.state { changed.append(item) }
            states[item.id] = item.state
        }
        // Off the open list for good (delivered, cancelled, or deleted outright).
        for id in finishedIDs { states[id] = nil }
        return changed.sorted { $0.seq < $1.seq }
    }
}
