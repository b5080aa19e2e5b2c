import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import Store
import Sync
import XMPP

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: CommandTable.summary(ofSubcommand: "send"),
        discussion: "Prints the outbox id and the state reached.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The recipient's JID, or a roster name (or JID's first part) naming one contact.", completion: CompletionKinds.storedJIDs)
    var jid: String
    @Argument(help: "The message; `-` reads standard input. With --file, an optional line sent before the file.") var text: [String] = []
    @Option(help: ArgumentHelp("Send this file: HTTP upload (XEP-0363), then its link as a message.", valueName: "PATH"))
    var file: String?
    @Flag(help: "Only queue it; never touch the network.") var queueOnly = false
    @Flag(help: "Print the result as JSON.") var json = false

    /// How long `send --file` waits for the upload when another process or this one carries it out.
    static let fileWait: Duration = .seconds(600)

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let recipient = try ContactNames.argument(jid, store: context.store, accountID: account.rowID, rooms: true)
            if let file { return try await sendFile(file, to: recipient, account: account, context: context) }
            let body = try readBody()
            let item: OutboxItem
            do {
                item = try Outbox.enqueueChat(store: context.store, account: account, to: recipient, body: body)
            } catch let error as SyncError {
                throw UsageFailure(error.description)
            }
            var state = item.state
            if !queueOnly {
                state = try await deliver(item, account: account, context: context)
            }
            if json {
                print(Renderer.json(["id": item.id, "to": item.recipient, "state": state.rawValue]))
            } else {
                print("\(item.id) \(state.rawValue)")
            }
        }
    }

    /// Stores a file intent and, unless `--queue-only`, waits for its upload: prints `ID file STATE`.
    private func sendFile(_ path: String, to recipient: String, account: Account, context: AppContext) async throws {
        let caption = text == ["-"] ? try readBody() : text.joined(separator: " ")
        let stored: Intent
        do {
            stored = try FileSending.enqueue(store: context.store, account: account, to: recipient, path: path, text: caption)
        } catch let error as SyncError {
            throw UsageFailure(error.description)
        } catch let error as FileSending.Failure {
            throw UsageFailure(error.description)
        }
        var intent = stored
        if !queueOnly, let id = stored.id {
            // Whichever process uploads records its progress; the bar follows it from the Store.
            let bar = isatty(STDERR_FILENO) == 1 ? ProgressBar(label: "upload") : nil
            let drawing = bar.map { bar in
                Task { [store = context.store, total = stored.arguments.size] in
                    while !Task.isCancelled {
                        if let done = (try? store.intent(id: id))??.progress { bar.show(TransferProgress(done: done, total: total)) }
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            // Ctrl-C cancels the upload, whichever process carries it out.
            let stop = SignalStop { [store = context.store] in _ = try? store.cancelIntent(stored) }
            let (row, outcome) = try await IntentRunner(store: context.store, account: account).run(intent: id, wait: Self.fileWait)
            withExtendedLifetime(stop) {}
            drawing?.cancel()
            bar?.finish()
            intent = row ?? stored
            if !outcome.settled, let note = outcome.note { Terminal.error("queued: \(note)") }
        }
        print(json ? Renderer.intentJSON(intent) : "\(Store.outboxID(of: intent)) \(intent.kind.rawValue) \(intent.state.rawValue)")
        if intent.state == .failed { throw Failure(intent.error ?? "refused") }
        if intent.state == .cancelled { throw Failure("upload cancelled") }
    }

    private func readBody() throws -> String {
        var body: String
        if text == ["-"] {
            var lines: [String] = []
            while let line = readLine(strippingNewline: false) { lines.append(line) }
            body = lines.joined()
            while body.hasSuffix("\n") { body.removeLast() }
        } else {
            body = text.joined(separator: " ")
        }
        guard !body.isEmpty else { throw UsageFailure("nothing to send: give TEXT, or - to read standard input") }
        return body
    }

    /// Through `IntentRunner`: no owner, a pass of our own; an owner, a short wait for the row to move.
    private func deliver(_ item: OutboxItem, account: Account, context: AppContext) async throws -> OutboxItem.State {
        let store = context.store
        let id = item.id
        let outcome = try await IntentRunner(store: store, account: account).run(wait: .seconds(3)) {
            (try store.outboxItem(id: id)?.state ?? .queued) != .queued
        }
        if let error = outcome.ownSession?.error, error.isPermanent { Terminal.error("not sent now: \(error)") }
        return try store.outboxItem(id: id)?.state ?? item.state
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: CommandTable.summary(ofSubcommand: "sync"),
        discussion: "Then disconnects, or stays connected with --watch.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Stay connected and print every event as it arrives.") var watch = false
    @Flag(help: "Print events as JSON Lines.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            guard account.state != .deleted else { throw Failure(SyncError.accountDeleted(account.jid).description) }
            guard account.state == .active else {
                throw Failure("\(account.jid) is logged out: `tern login \(account.jid)` connects it again")
            }
            guard let lock = try context.lock(account) else {
                if watch {
                    Terminal.error("\(context.ownerDescription(account)) holds the connection; following the store")
                    try await follow(context, account)
                    return
                }
                print("\(context.ownerDescription(account)) holds the connection and syncs continuously")
                return
            }
            defer { withExtendedLifetime(lock) {} }
            let engine = SyncEngine(store: context.store, account: account)
            if watch {
                try await watchEvents(engine)
            } else {
                let report = await engine.syncOnce()
                if let error = report.error {
                    throw SyncFailure(error, account: account.jid)
                }
                print("synced \(account.jid) (\(report.resumed ? "resumed" : "new session")): sent \(report.sent), received \(report.received)")
            }
        }
    }

    private func watchEvents(_ engine: SyncEngine) async throws {
        let json = self.json
        let printer = Task {
            for await event in engine.events {
                if let line = EventFormatter.format(event, json: json) { print(line) }
                Output.flush()
            }
        }
        let stopper = SignalStop { Task { await engine.stop() } }
        await engine.run()
        withExtendedLifetime(stopper) {}
        printer.cancel()
        if let reason = await engine.gaveUp { throw Failure(reason) }
    }

    /// Without the connection, `--watch` still shows new messages as the owner stores them.
    private func follow(_ context: AppContext, _ account: Account) async throws {
        var last = try context.store.lastMessageID(accountID: account.rowID)
        let changes = try StoreChanges(context.store)
        while true {
            for message in try context.store.messages(accountID: account.rowID, afterID: last) {
                last = message.id ?? last
                if let line = EventFormatter.format(.message(message), json: json) { print(line) }
            }
            Output.flush()
            _ = await changes.next(before: .now + .seconds(1), every: StoreChanges.displayInterval)
        }
    }
}

/// Lines for `sync --watch` (JSON Lines with `event`, CLI.md).
enum EventFormatter {
    static func format(_ event: SyncEvent, json: Bool) -> String? {
        switch event {
        case .message(let message):
            return json ? Renderer.messageJSON(message, state: message.direction == .outgoing ? .queued : nil, event: "message")
                : Renderer.line(message)
        case .connection(let state, let detail):
            if json {
                var object: [String: Any] = ["event": "connection", "state": state.rawValue]
                if let detail { object["detail"] = detail }
                return Renderer.json(object)
            }
            return "-- \(state.rawValue)" + (detail.map { ": " + Sanitizer.inert($0) } ?? "")
        case .outbox(let id, let state):
            if json { return Renderer.json(["event": "receipt", "id": id, "state": state.rawValue]) }
            return "-- \(Sanitizer.inert(id)) \(state.rawValue)"
        case .presence, .subscriptionRequest, .subscribed, .unsubscribed, .strangers:
            return RosterRenderer.event(event, json: json)
        case .room(let event):
            return RoomRenderer.event(event, json: json)
        case .chatState(let jid, let state):
            // A state is for a prompt, not a line: only scripts reading JSON get it.
            return json ? Renderer.json(["event": "chat-state", "jid": jid, "state": state.rawValue]) : nil
        case .dropped(let reports):
            return DroppedRenderer.lines(reports, json: json)
        case .retrying(let reason, let delay, let failures):
            if json {
                return Renderer.json([
                    "event": "retrying", "reason": reason, "failures": failures, "in_seconds": Int(delay.components.seconds),
                ])
            }
            return "-- " + Renderer.retrying(reason: reason, delay: delay, failures: failures)
        }
    }
}

/// Ends long-running commands cleanly on SIGINT/SIGTERM (so the stream is closed, not cut).
final class SignalStop: Sendable {
    // Dispatch sources are thread-safe objects that Dispatch has not annotated as Sendable.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]

    init(_ onSignal: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { signo in
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler(handler: onSignal)
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: CommandTable.summary(ofSubcommand: "history"))

    @OptionGroup var global: GlobalOptions
    @Argument(
        help: "The contact's JID (or roster name), a room's, or a room occupant's (ROOM@SERVICE/NICK: private messages).",
        completion: CompletionKinds.storedJIDs)
    var jid: String
    @Option(help: "How many messages.") var limit: Int = 50
    @Option(help: ArgumentHelp("Only messages before this date (ISO 8601, or YYYY-MM-DD).", valueName: "DATE"))
    var before: String?
    @Option(help: ArgumentHelp("Show this message (an id from `tern search`) in its context: --limit messages around it.", valueName: "ID"))
    var around: Int64?
    @Flag(help: "Print JSON Lines.") var json = false
    @Flag(help: "First fetch up to --limit older messages from the server's archive (XEP-0313).") var fetch = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let address: JID
            let named = try ContactNames.argument(jid, store: context.store, accountID: account.rowID, rooms: true)
            do { address = try JID(named) } catch { throw UsageFailure("\(error)") }
            let conversation = address.bare
            // A room occupant's private messages are a conversation of their own (XEP-0045 §7.5).
            let room = try context.store.room(accountID: account.rowID, jid: conversation.description)
            let isPrivate = address.resource != nil && room != nil
            guard limit > 0 else { throw UsageFailure("--limit must be positive") }
            if let around {
                guard before == nil, !fetch else { throw UsageFailure("--around cannot be combined with --before or --fetch") }
                let conversationKey = isPrivate ? address.description : conversation.description
                let entries = try HistoryContext.around(
                    around, conversation: conversationKey, limit: limit, store: context.store, accountID: account.rowID)
                let bold = !json && isatty(STDOUT_FILENO) == 1
                for entry in entries { print(HistoryContext.render(entry, hit: around, json: json, bold: bold)) }
                return
            }
            let cutoff = try before.map(DateArgument.parse)
            if fetch { try await fetchOlder(conversation, account: account, context: context) }
            let range = Store.MessageRange(
                accountID: account.rowID, conversation: isPrivate ? address.description : conversation.description,
                before: cutoff?.timeIntervalSince1970, newest: limit)
            // Streamed: each row is written as it is read, in 64 KiB writes.
            let output = ByteOutput(fd: STDOUT_FILENO)
            let json = self.json
            try context.store.streamMessages(range) { entry in
                if json {
                    MessageJSON.append(entry.message, state: entry.state, to: &output.buffer)
                } else {
                    output.buffer.append(contentsOf: Renderer.line(entry.message, state: entry.state).utf8)
                }
                output.buffer.append(UInt8(ascii: "\n"))
                try output.flushIfFull()
            }
            try output.flush()
        }
    }

    /// On a session of our own; the summary goes to stderr so `--json` output stays JSON Lines.
    private func fetchOlder(_ conversation: JID, account: Account, context: AppContext) async throws {
        let count = limit
        let fetched: ArchiveHistory.Fetched?
        do {
            fetched = try await DetailsFlows.withOwnSession(account: account, context: context) { engine in
                try await ArchiveHistory.fetchOlder(engine: engine, with: conversation, count: count)
            }
        } catch let error as ArchiveHistory.FetchError {
            throw Failure("not fetched: \(error)")
        }
        guard let fetched else {
            Terminal.error("not fetched: \(context.ownerDescription(account)) holds the connection; showing what is stored")
            return
        }
        Terminal.error("fetched \(fetched.stored) older message(s)" + (fetched.reachedStart ? "; that is the start of the archive" : ""))
    }
}

enum DateArgument {
    static func parse(_ text: String) throws -> Date {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return date }
        throw UsageFailure("bad date \(text): use ISO 8601, e.g. 2026-11-25 or 2026-11-25T10:00:00Z")
    }
}

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: CommandTable.summary(ofSubcommand: "outbox"),
        subcommands: [OutboxCancelCommand.self, OutboxRetryCommand.self])

    // Here rather than in each subcommand: `tern --home D outbox cancel ID` arrives as
    // `outbox --home D cancel ID`, and only the group's own options may come before `cancel`.
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON Lines.") var json = false
    @Flag(help: "Keep running and print each later change of state (from any tern process), one line each, until interrupted.")
    var watch = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let listing = try OutboxListing(store: context.store, accountID: account.rowID)
            for line in listing.lines(json: json) { show(line) }
            guard watch else { return }
            var follower = OutboxWatch(listing.items, intents: listing.intents, followsNewRows: true)
            let changes = try StoreChanges(context.store)
            while true {
                _ = await changes.next(before: .now + .seconds(1), every: StoreChanges.displayInterval)
                for item in try follower.changes(in: context.store, accountID: account.rowID) {
                    show(json ? Renderer.outboxJSON(item) : Renderer.outboxLine(item))
                }
                for intent in try follower.intentChanges(in: context.store, accountID: account.rowID) {
                    show(json ? Renderer.intentJSON(intent) : Renderer.intentLine(intent))
                }
            }
        }
    }

    private func show(_ line: String) {
        print(line)
        fflush(nil)  // each line as it happens, also into a pipe
    }
}

/// What `tern outbox` and `/outbox` list, oldest first: the open messages, the open intents,
/// and our own presence while the session has not got its latest change (a state rather than
/// a queue: a newer `tern status` replaces it, so it is neither cancelled nor retried).
struct OutboxListing {
    let items: [OutboxItem]
    let intents: [Intent]
    let presence: OwnPresence?

    init(store: Store, accountID: Int64) throws {
        items = try store.outbox(accountID: accountID)
        intents = try store.intents(accountID: accountID)
        let own = try store.ownPresence(accountID: accountID)
        presence = own.updatedAt > 0 && own.revision > own.sentRevision ? own : nil
    }

    var isEmpty: Bool { items.isEmpty && intents.isEmpty && presence == nil }

    func lines(json: Bool) -> [String] {
        let messages = items.enumerated().map { (at: $1.createdAt, list: 0, index: $0, line: json ? Renderer.outboxJSON($1) : Renderer.outboxLine($1)) }
        let actions = intents.enumerated().map { (at: $1.createdAt, list: 1, index: $0, line: json ? Renderer.intentJSON($1) : Renderer.intentLine($1)) }
        let status = presence.map { [(at: $0.updatedAt, list: 2, index: 0, line: Self.presenceLine($0, json: json))] } ?? []
        return (messages + actions + status).sorted { ($0.at, $0.list, $0.index) < ($1.at, $1.list, $1.index) }.map(\.line)
    }

    /// `presence  queued  TIME  presence: away: back at 3`, or the same as an outbox item in JSON.
    static func presenceLine(_ own: OwnPresence, json: Bool) -> String {
        let body = (own.show ?? "online") + (own.status.map { ": \($0)" } ?? "")
        if json {
            return Renderer.json([
                "id": "presence", "kind": "presence", "body": body, "state": "queued", "attempts": 0,
                "created": Renderer.isoTimestamp(own.updatedAt),
            ])
        }
        return "presence  queued    \(Renderer.isoTimestamp(own.updatedAt))  presence: \(Sanitizer.inert(body))"
    }
}

struct OutboxCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a message or action that is still queued; a message is removed from history. Works offline.",
        discussion: "ID is the outbox id (iN for an action), or a unique prefix of at least \(Store.minimumOutboxIDPrefix) characters of a message's.")

    @ParentCommand var group: OutboxCommand
    @Argument(help: "The outbox id, or a unique prefix of it.") var id: String
    @Flag(help: "Print the cancelled row as JSON.") var json = false
    // ArgumentParser hands a `--json` after the ID to the group when both declare it.
    var printsJSON: Bool { json || group.json }

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(group.global)
            let account = try context.account()
            print(try OutboxEditing.run(.cancel, id, store: context.store, accountID: account.rowID, json: printsJSON))
        }
    }
}

struct OutboxRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Queue a failed message or action again (same id); the connection's owner carries it out. Works offline.",
        discussion: "ID is the outbox id (iN for an action), or a unique prefix of at least \(Store.minimumOutboxIDPrefix) characters of a message's.")

    @ParentCommand var group: OutboxCommand
    @Argument(help: "The outbox id, or a unique prefix of it.") var id: String
    @Flag(help: "Print the requeued row as JSON.") var json = false
    // ArgumentParser hands a `--json` after the ID to the group when both declare it.
    var printsJSON: Bool { json || group.json }

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(group.global)
            let account = try context.account()
            print(try OutboxEditing.run(.retry, id, store: context.store, accountID: account.rowID, json: printsJSON))
        }
    }
}

/// `outbox cancel|retry` and the shell's `/outbox cancel|retry`: Store only, never the network.
enum OutboxEditing {
    enum Action: String, CaseIterable, Sendable { case cancel, retry }

    /// A message (by id or prefix) or an intent (`iN`) edited; the line to print.
    static func run(_ action: Action, _ id: String, store: Store, accountID: Int64, json: Bool) throws -> String {
        if id == "presence" { throw Failure("a presence change is neither cancelled nor retried: `tern status` sets the next one") }
        let intent = try mapped { try store.intent(matching: id, accountID: accountID) }
        guard let intent else { return result(try apply(action, id, store: store, accountID: accountID), json: json) }
        let changed = try mapped {
            switch action {
            case .cancel: try store.cancelIntent(intent)
            case .retry: try store.retryIntent(intent)
            }
        }
        return json ? Renderer.intentJSON(changed) : "\(Store.outboxID(of: changed)) \(changed.state.rawValue)"
    }

    /// A bad id (too short, unknown, ambiguous) is a usage error (64); a row in the wrong
    /// state is a refused operation (1).
    static func apply(_ action: Action, _ id: String, store: Store, accountID: Int64) throws -> OutboxItem {
        try mapped {
            switch action {
            case .cancel: try store.cancelOutbox(matching: id, accountID: accountID)
            case .retry: try store.retryOutbox(matching: id, accountID: accountID)
            }
        }
    }

    private static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as OutboxEditError {
            switch error {
            case .idTooShort, .unknownID, .ambiguousID: throw UsageFailure(error.description)
            case .notQueued, .notFailed, .alreadySent, .intentNotQueued, .intentNotFailed: throw Failure(error.description)
            }
        }
    }

    /// `ID STATE` like `tern send`, or the row as `tern outbox --json` prints it.
    static func result(_ item: OutboxItem, json: Bool) -> String {
        json ? Renderer.outboxJSON(item) : "\(item.id) \(item.state.rawValue)"
    }
}

/// `history --around ID` and `/history --around ID`: a search hit among its neighbours.
enum HistoryContext {
    /// A usage error when the id is unknown or belongs to another conversation.
    static func around(_ id: Int64, conversation: String?, limit: Int, store: Store, accountID: Int64) throws -> [HistoryEntry] {
        guard limit > 0 else { throw UsageFailure("--limit must be positive") }
        guard let entries = try store.history(accountID: accountID, around: id, limit: limit) else {
            throw UsageFailure("no message \(id) in this account's history")
        }
        if let conversation, let hit = entries.first(where: { $0.message.id == id }), hit.message.conversation != conversation {
            throw UsageFailure("message \(id) belongs to \(hit.message.conversation), not \(conversation)")
        }
        return entries
    }

    /// The hit stands out: bold on a terminal, `*` before it in plain text, `"hit": true` in JSON.
    static func render(_ entry: HistoryEntry, hit: Int64, json: Bool, bold: Bool) -> String {
        let isHit = entry.message.id == hit
        if json {
            var object = Renderer.messageObject(entry.message, state: entry.state)
            if isHit { object["hit"] = true }
            return Renderer.json(object)
        }
        let line = Renderer.line(entry.message, state: entry.state)
        guard isHit else { return line }
        return bold ? SearchRenderer.boldOn + line + SearchRenderer.boldOff : "* " + line
    }
}
