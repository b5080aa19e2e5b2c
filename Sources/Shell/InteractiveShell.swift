import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

struct ShellCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell", abstract: "The interactive shell (the default). Reads commands line by line when stdin is not a terminal.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let shell = try InteractiveShell(context: context)
            await shell.run()
        }
    }
}

/// The shell: reads the Store for display, writes intents to it, and lets the sync engine
/// do the network. Typing never waits on the network.
actor InteractiveShell {
    let context: AppContext
    let editor: LineEditor
    private var account: Account?
    private var lock: AccountLock?
    private(set) var engine: SyncEngine?
    /// Idle this long, the shell tells the server it is inactive (XEP-0352).
    static let inactiveAfter: Duration = .seconds(60)
    private var engineTask: Task<Void, Never>?
    private var watcher: Task<Void, Never>?
    /// Follows the rows `/outbox` listed (OutboxWatch).
    private var outboxFollower: Task<Void, Never>?
    /// Each waits for the outcome of an intent this shell stored (`followIntent`).
    private var intentFollowers: [Task<Void, Never>] = []
    var conversation: String?
    private var link = Link.own(.offline)
    /// While the server keeps ending sessions right after login: when the next try is.
    private var retryNote: String?
    /// Conversation numbers and unread counts (ShellConversations.swift).
    var navigation = ConversationNavigation()
    /// Bell, desktop notification and notify command for what deserves attention (`Alerts`).
    lazy var alerts = AlertRaiser(editor: editor)
    /// Our chat state toward the current conversation (XEP-0085), and the tasks that feed it.
    var typing = TypingNotifier()
    var typingTasks: [Task<Void, Never>] = []
    /// Downloads under way, as the prompt shows them (`file 3 45%`).
    var transferNotes: [Int64: String] = [:]
    var endedTransfers: Set<Int64> = []
    static let peerStatesKept = 256
    /// The last chat state each contact sent us, by bare JID, while it is one the prompt shows.
    var peerStates: [String: ChatState] = [:]
    private var quitting = false
    /// The message ids `/search` last listed, for `/goto N`.
    var searchHits: [Int64] = []
    /// Names, day separators and delivery marks of the lines shown (ShellReading).
    var reading = ReadingState()
    let idle = IdleTracker()
    /// The account and conversation Tab completes against (read on the editor's thread).
    let completionScope = ShellCompletion.ScopeBox()

    init(context: AppContext) throws {
        self.context = context
        do {
            editor = try LineEditor(historyFile: (context.home as NSString).appendingPathComponent("shell_history"))
        } catch {
            throw Failure("cannot start the shell: \(error)")
        }
    }

    func run() async {
        account = try? context.account()
        editor.completer = { [store = context.store, scope = completionScope] line, word in
            ShellCompletion.candidates(line: line, word: word, store: store, scope: scope.current)
        }
        editor.keyBindings = Self.conversationKeys
        if let account {
            say("tern — \(account.jid). /help lists commands.")
            conversation = try? context.store.lastConversation(accountID: account.rowID)
            loadConversations()
            if editor.interactive { resumeConversation(account) }
            if account.state == .active { await startSync() } else { say("\(account.jid) is logged out: /login connects it") }
        } else {
            say("no account yet: quit and run `tern login JID`, or /login JID for a stored one. /help lists commands.")
        }
        updatePrompt()
        startIdleWatch()
        startTypingNotifications()

        let (lines, sink) = AsyncStream<String>.makeStream()
        let editor = self.editor
        let thread = Thread {
            // Paced: the next line is read only once this one is handled, so a command's
            // questions (a password, a confirmation) get the lines typed or piped after it.
            _ = editor.run(paced: true) { sink.yield($0) }
            sink.finish()
        }
        thread.name = "tern-readline"
        thread.start()
        for await line in lines {
            await execute(line)
            editor.lineHandled()
            if quitting { break }
        }
        stopTypingNotifications()
        editor.stop()
        await shutdown()
    }

    // MARK: - Lines

    func indicateClientState(_ state: ClientState) async {
        await engine?.setClientState(state)
    }

    func execute(_ line: String) async {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return }
        await noteActivity()
        if trimmed.hasPrefix("//") {
            // `//etc/hosts is the file`: a line that starts with a slash, sent with one slash less.
            await sendPlainLine(String(trimmed.dropFirst()))
        } else if trimmed.hasPrefix("/") {
            let words = CommandTable.words(String(trimmed.dropFirst()))
            guard let name = words.first, let command = CommandTable.find(name) else {
                say("unknown command \(trimmed.split(separator: " ").first ?? ""); /help lists commands")
                return
            }
            let arguments = Array(words.dropFirst())
            if let problem = command.usageError(arguments) {
                say(problem)
                return
            }
            do {
                try await command.action(self, arguments, CommandTable.afterFirstWord(String(trimmed.dropFirst())))
            } catch {
                say("error: " + Sanitizer.inert("\(error)"))
            }
        } else {
            await sendPlainLine(line)
        }
    }

    /// A line that is not a command goes to the current conversation.
    private func sendPlainLine(_ line: String) async {
        guard let conversation else {
            say("no current conversation: /msg CONTACT TEXT or /chat CONTACT")
            return
        }
        do { try await message(conversation, text: line) } catch { say("error: " + Sanitizer.inert("\(error)")) }
    }

    // MARK: - Commands

    func message(_ recipient: String, text: String) async throws {
        let account = try requireAccount()
        let key = try conversationKey(recipient, account: account)
        showWaiting(in: key, account: account)
        enterConversation(key)
        if !text.isEmpty {
            // The current conversation is a room or an occupant when it is one: send it there as such.
            let item = try Outbox.enqueueChat(store: context.store, account: account, to: key, body: text)
            if let row = try context.store.history(accountID: account.rowID, conversation: key, limit: 1).last {
                showMessage(row.message, state: item.state, trackAs: item.id)
            }
            if let engine { Task { await engine.flush() } }
        }
        updatePrompt()
    }

    /// `/me ACTION`: a message whose body starts with `/me ` (XEP-0245 §2), which every client
    /// shows as an action; a typed line starting with `/` would be a command.
    func sendAction(_ action: String) async throws {
        guard let conversation else { throw Failure("no current conversation: /chat CONTACT first") }
        try await message(conversation, text: "/me " + action)
    }

    /// `/correct TEXT`: our last message in the current conversation, corrected (XEP-0308).
    func correctLast(_ text: String) async throws {
        let (account, conversation) = try editContext()
        guard let target = try context.store.lastOwnMessage(accountID: account.rowID, conversation: conversation) else {
            throw Failure("nothing of yours to correct in \(conversation)")
        }
        try sendEdit(.correction(text), of: target, account: account)
    }

    /// `/retract [ID]`: our last message in the current conversation, or the one with this id
    /// (as `history --json` or the outbox shows it), retracted (XEP-0424).
    func retract(_ id: String?) async throws {
        let (account, conversation) = try editContext()
        let target = try id.map { try context.store.ownMessage(accountID: account.rowID, conversation: conversation, id: $0) }
            ?? context.store.lastOwnMessage(accountID: account.rowID, conversation: conversation)
        guard let target else {
            throw Failure(id.map { "no message of yours with id \(Sanitizer.inert($0)) in \(conversation)" }
                ?? "nothing of yours to retract in \(conversation)")
        }
        try sendEdit(.retraction, of: target, account: account)
    }

    private func editContext() throws -> (Account, String) {
        let account = try requireAccount()
        guard let conversation else { throw Failure("no current conversation: /chat JID first") }
        return (account, conversation)
    }

    /// Queued like any message, and shown changed at once.
    private func sendEdit(_ edit: Outbox.Edit, of target: StoredMessage, account: Account) throws {
        let (item, changed) = try Outbox.enqueueEdit(store: context.store, account: account, edit, of: target)
        showMessage(changed, state: item.state, trackAs: item.id)
        if let engine { Task { await engine.flush() } }
        updatePrompt()
    }

    func switchConversation(_ recipient: String) async throws {
        let account = try requireAccount()
        try open(try conversationKey(recipient, account: account), account: account)
    }

    /// A contact's conversation is their bare JID; an occupant of a room we know (a private
    /// chat, XEP-0045 §7.5) keeps the full room/nick address.
    func conversationKey(_ text: String, account: Account) throws -> String {
        let jid: JID
        do { jid = try JID(text) } catch { throw Failure("\(error)") }
        if jid.resource != nil, (try context.store.room(accountID: account.rowID, jid: jid.bare.description)) != nil {
            return jid.description
        }
        return jid.bare.description
    }

    var currentConversation: String? { conversation }
    var liveEngine: SyncEngine? { engine }
    var hasLiveSession: Bool { engine != nil || link == .otherProcess }

    func enterConversation(_ key: String) {
        conversation = key
        markOpened(key)
        updatePrompt()
    }

    /// Store intents (join, leave) are picked up on the engine's next poll; this makes it now.
    func pokeEngine() {
        if let engine { Task { await engine.retryNow() } }
    }

    func history(_ arguments: [String]) async throws {
        let account = try requireAccount()
        var target = conversation
        var limit = 20
        var around: Int64?
        var words = arguments[...]
        while let argument = words.popFirst() {
            if argument == "--around" {
                guard let id = words.popFirst().flatMap(Int64.init) else { throw Failure("usage: /history [JID] [N] [--around ID]") }
                around = id
            } else if let number = Int(argument) {
                limit = max(1, number)
            } else {
                target = try JID(conversationJID(argument)).bare.description
            }
        }
        if let around {
            try showContext(of: around, in: arguments.contains { $0.contains("@") } ? target : nil, limit: limit)
            return
        }
        guard let target else { throw Failure("which conversation? /history CONTACT") }
        let entries = try context.store.history(accountID: account.rowID, conversation: target, limit: limit)
        if entries.isEmpty { say("no messages with \(target)") }
        for entry in entries { showMessage(entry.message, state: entry.state) }
    }

    func showOutbox(_ arguments: [String] = []) async throws {
        let account = try requireAccount()
        if let word = arguments.first {
            guard arguments.count == 2, let action = OutboxEditing.Action(rawValue: word) else {
                say("usage: /outbox [cancel ID | retry ID]")
                return
            }
            say(try OutboxEditing.run(action, arguments[1], store: context.store, accountID: account.rowID, json: false))
            if action == .retry, let engine { Task { await engine.flush(); await engine.runIntents() } }
            updatePrompt()
            return
        }
        let listing = try OutboxListing(store: context.store, accountID: account.rowID)
        if listing.isEmpty { say("the outbox is empty") }
        for line in listing.lines(json: false) { say(line) }
        followOutbox(OutboxWatch(listing.items, intents: listing.intents, followsNewRows: false), accountID: account.rowID)
    }

    /// The list `/outbox` printed stays live: each later change of state prints one line,
    /// until every listed row is settled or the next `/outbox` takes over.
    private func followOutbox(_ start: OutboxWatch, accountID: Int64) {
        outboxFollower?.cancel()
        guard !start.isSettled, let changes = try? StoreChanges(context.store) else { return }
        let store = context.store
        outboxFollower = Task { [weak self] in
            var watch = start
            while !Task.isCancelled, !watch.isSettled {
                _ = await changes.next(before: .now + .seconds(1), every: StoreChanges.displayInterval)
                guard !Task.isCancelled else { return }
                for item in (try? watch.changes(in: store, accountID: accountID)) ?? [] {
                    await self?.say("-- outbox " + Renderer.outboxLine(item))
                }
                for intent in (try? watch.intentChanges(in: store, accountID: accountID)) ?? [] {
                    await self?.say("-- outbox " + Renderer.intentLine(intent))
                }
            }
        }
    }

    /// An intent this shell stored: its outcome prints as one line once known, carried out by
    /// this shell's engine or by the process that owns the connection.
    func followIntent(_ intent: Intent, account: Account) {
        guard let id = intent.id else { return }
        let runner = IntentRunner(store: context.store, account: account)
        let engine = engine
        intentFollowers.append(Task { [weak self] in
            guard let (row, _) = try? await runner.run(intent: id, engine: engine, mayConnect: false, wait: Self.intentFollowTime),
                let row, row.state.isFinished
            else { return }
            await self?.say("-- \(Store.outboxID(of: row)) \(row.kind.rawValue) \(row.state.rawValue)"
                + (row.error.map { ": \(Sanitizer.inert($0))" } ?? ""))
        })
    }

    /// How long the shell follows an intent it stored; after that, `/outbox` tells.
    static let intentFollowTime: Duration = .seconds(600)

    func login(_ jidText: String?) async throws {
        if let jidText {
            let jid = try JID(jidText).bare.description
            guard let chosen = try context.store.account(jid: jid) else {
                throw Failure("no stored account \(jid): run `tern login \(jid)` in a terminal to add it")
            }
            await stopSync()
            account = chosen
        }
        var account = try requireAccount()
        if account.state != .active {
            account.state = .active
            try context.store.updateAccount(account)
            self.account = account
        }
        if engine == nil { await startSync() } else { try await syncNow() }
    }

    func logout() async {
        await stopSync()
        if var account {
            account.state = .loggedOut
            try? context.store.updateAccount(account)
            self.account = account
        }
        say("logged out; /login connects again")
    }

    /// `/account`: the stored accounts, as `tern accounts` lists them. `/account JID`: that
    /// account becomes the current one; the old one's connection ends, the new one's starts.
    func switchAccount(_ jidText: String?) async throws {
        guard let jidText else {
            let lines = try AccountListing.lines(context.store, json: false)
            if lines.isEmpty { say("no accounts stored: run `tern login JID` in a terminal") }
            for line in lines { say(line) }
            return
        }
        let jid: String
        do { jid = try JID(jidText).bare.description } catch { throw Failure("\(error)") }
        guard let chosen = try context.store.account(jid: jid), chosen.state != .deleted else {
            throw Failure("no stored account \(jid): run `tern login \(jid)` in a terminal to add it")
        }
        guard chosen.jid != account?.jid else {
            say("already using \(jid)")
            return
        }
        settleArrivals()  // the old account's read mark and counts
        await stopSync()
        account = chosen
        conversation = nil
        navigation = ConversationNavigation()
        loadConversations()
        say("now using \(jid)")
        if chosen.state == .active { await startSync() } else { say("\(jid) is logged out: /login connects it") }
        updatePrompt()
    }

    /// `/register JID`: creates the account on the server, stores it and switches to it.
    func register(_ jidText: String) async throws {
        let jid: JID
        do { jid = try JID(jidText).bare } catch { throw Failure("\(error)") }
        guard jid.local != nil else { throw Failure("\(jidText) has no user part (expected user@domain)") }
        if let existing = try context.store.account(jid: jid.description), existing.state != .deleted {
            throw Failure("\(jid) is already stored here: /account \(jid)")
        }
        var draft = Account(jid: jid.description, resource: Login.newResource(), createdAt: Store.now)
        // Same server settings as the current account when the domain matches (handy on private servers).
        if let current = account, (try? JID(current.jid).domain) == jid.domain {
            draft.host = current.host
            draft.port = current.port
            draft.directTLS = current.directTLS
            draft.caFile = current.caFile
            draft.pinnedSPKI = current.pinnedSPKI
        }
        let prompter = EditorPrompter(editor: editor)
        let password = try await NewPassword.obtain(file: nil, prompter: prompter, allowEnvironment: false)
        try await AccountFlows.register(
            account: draft, password: password, given: [:], store: context.store, prompter: prompter,
            say: { [editor] in editor.print($0) })
        try await switchAccount(jid.description)
    }

    /// `/unregister`: deletes the current account from the server after typing its JID.
    func unregister() async throws {
        let account = try requireAccount()
        let wasSyncing = engine != nil
        await stopSync()  // the deletion needs the connection this shell holds
        do {
            try await AccountFlows.unregister(
                account: account, context: context, confirmed: false, purge: false,
                prompter: EditorPrompter(editor: editor), say: { [editor] in editor.print($0) })
        } catch {
            if wasSyncing { await startSync() }
            throw error
        }
        self.account = try context.store.account(jid: account.jid)
        conversation = nil
        updatePrompt()
    }

    /// `/passwd`: changes the password on the server; the stored keys follow.
    func changePassword() async throws {
        let account = try requireAccount()
        let password = try await NewPassword.obtain(file: nil, prompter: EditorPrompter(editor: editor), allowEnvironment: false)
        let wasSyncing = engine != nil
        await stopSync()  // the change needs the connection this shell holds
        do {
            try await AccountFlows.changePassword(
                account: account, password: password, context: context, say: { [editor] in editor.print($0) })
        } catch {
            if wasSyncing { await startSync() }
            throw error
        }
        if wasSyncing { await startSync() }
    }

    /// `/trust`: the pinned key; `/trust show`: the server's certificate and verdict;
    /// `/trust SPKI`: pins that key and connects again with it (like `tern trust`).
    func trust(_ argument: String?) async throws {
        var account = try requireAccount()
        switch argument {
        case nil:
            say(account.pinnedSPKI.map { "pinned: \($0)" } ?? "no key pinned for \(account.jid)")
        case "show"?:
            for line in try await TrustCommand.describeCertificate(of: account).split(separator: "\n") { say(String(line)) }
        case let spki?:
            do { account.pinnedSPKI = try TrustCommand.normalise(spki) } catch let usage as UsageFailure { throw Failure(usage.message) }
            try context.store.updateAccount(account)
            say("pinned \(account.pinnedSPKI ?? "") for \(account.jid)")
            // The running engine holds the account as it was: connect again with the new trust.
            let reconnect = engine != nil
            await stopSync()
            self.account = account
            if reconnect { await startSync() }
        }
    }

    func syncNow() async throws {
        _ = try requireAccount()
        if let engine {
            await engine.retryNow()
            await engine.flush()
            // Are we still in our rooms? (XEP-0410; answers arrive as room events.)
            Task { await engine.checkRooms() }
        } else {
            await startSync()
        }
    }

    /// The commands `details` carries out, one per CommandTable row.
    enum DetailsCommand { case info, block, unblock, blocked }

    /// `/info`, `/block`, `/unblock`, `/blocked`: through this shell's own session when it has
    /// one, through the owner's when another process has it, from the Store when offline.
    func details(_ command: DetailsCommand, _ args: [String]) async throws {
        let account = try requireAccount()
        let viaOwner = engine == nil && lock == nil && link == .otherProcess
        switch command {
        case .info:
            let jid = try DetailsFlows.parse(args[0])
            let note = try await DetailsFlows.refresh(jid, account: account, context: context, engine: engine, mayConnect: viaOwner)
            let details = try context.store.contactDetails(accountID: account.rowID, jid: jid.bare.description)
            for line in DetailsFlows.render(details, note: note, json: false) { say(line) }
        case .block, .unblock:
            say(try await DetailsFlows.changeBlock(
                command == .block ? .block : .unblock, args[0], account: account, context: context, engine: engine,
                mayConnect: viaOwner))
        case .blocked:
            for line in try DetailsFlows.blockedLines(account, context.store, json: false) { say(line) }
        }
    }

    func goOffline() async {
        await stopSync()
        say("offline: messages you write are queued; /sync connects")
    }

    nonisolated func help(_ name: String?) {
        editor.print(CommandTable.helpText(for: name, columns: editor.columns))
    }

    func quit() async {
        quitting = true
    }

    // MARK: - Sync

    /// Whose connection the shell works through, as its prompt shows it.
    enum Link: Equatable {
        /// This shell's own engine, in the state it last reported; offline when there is none.
        case own(SyncEvent.ConnectionState)
        /// Another tern process holds the account's connection: this shell works through the Store.
        case otherProcess

        var rendering: String {
            switch self {
            case .own(let state): state.rawValue
            case .otherProcess: "via other process"
            }
        }
    }

    private func startSync() async {
        guard let account else { return }
        do {
            lock = try context.lock(account)
        } catch {
            say("error: " + Sanitizer.inert("\(error)"))
            return
        }
        guard lock != nil else {
            say("\(context.ownerDescription(account)) holds the connection; this shell works through the store")
            link = .otherProcess
            followStore(account)
            return
        }
        let engine = SyncEngine(store: context.store, account: account)
        self.engine = engine
        watcher = Task { [weak self] in
            for await event in engine.events {
                await self?.show(event)
            }
        }
        engineTask = Task { await engine.run() }
    }

    private func stopSync() async {
        if let engine {
            await engine.stop()
            await engineTask?.value
        }
        watcher?.cancel()
        outboxFollower?.cancel()
        outboxFollower = nil
        engine = nil
        engineTask = nil
        watcher = nil
        lock = nil
        link = .own(.offline)
        updatePrompt()
    }

    private func followStore(_ account: Account) {
        let store = context.store
        let changes = try? StoreChanges(store)
        watcher = Task { [weak self] in
            var last = (try? store.lastMessageID(accountID: account.rowID)) ?? 0
            while !Task.isCancelled {
                for message in (try? store.messages(accountID: account.rowID, afterID: last)) ?? [] {
                    last = message.id ?? last
                    if message.direction == .incoming { await self?.show(.message(message)) }
                }
                // The owner's commits wake us (StoreChanges); without a watcher, a plain pause.
                if let changes { _ = await changes.next(before: .now + .seconds(1), every: StoreChanges.displayInterval) } else { try? await Task.sleep(for: .milliseconds(300)) }
            }
        }
    }

    private func show(_ event: SyncEvent) {
        switch event {
        case .message(let message):
            let mention = isMention(message)
            // A mention of our nick stands out; the alert rings the bell (the terminal turns it
            // into its own notification: urgency hint, badge, sound).
            showMessage(message, state: nil, mention: mention)
            let offer = offerLine(for: message)
            if let offer { say(offer) }
            alert(for: message, isMention: mention, offersFile: offer != nil)
            if message.direction == .incoming { peerStates[message.conversation] = nil }
            noteArrival(message)
        case .room(let event):
            say(RoomRenderer.event(event, json: false))
            if event.kind == .invite {
                raise(Alerts.Alert(title: "invitation to \(event.room)", text: event.inviter.map { "from \($0)" } ?? ""))
            }
        case .connection(let state, let detail):
            link = .own(state)
            if state == .online { retryNote = nil }
            if state != .connecting || detail != nil {
                say("-- \(state.rawValue)" + (detail.map { ": \(Sanitizer.inert($0))" } ?? ""))
            }
        case .outbox(let id, let state):
            deliveryChanged(id, to: state)
            if state == .failed { say("-- a message failed: /outbox shows why") }
        case .presence, .subscriptionRequest, .subscribed, .unsubscribed, .strangers:
            if case .presence = event {} else { rosterMayHaveChanged() }
            if let line = RosterRenderer.event(event, json: false) { say(line) }
            if case .subscriptionRequest(let jid, _) = event { raise(Alerts.Alert(title: "subscription request", text: "from \(jid)")) }
        case .dropped(let reports):
            if let line = DroppedRenderer.lines(reports, json: false) { say(line) }
        case .retrying(let reason, let delay, let failures):
            say("-- " + Renderer.retrying(reason: reason, delay: delay, failures: failures))
            retryNote = "retry in \(SyncEngine.spoken(delay))"
        case .chatState(let jid, let state):
            // Only what the prompt shows is kept, and only so many: anyone can send states.
            if state == .composing || state == .paused {
                if peerStates.count >= Self.peerStatesKept, peerStates[jid] == nil { peerStates.removeAll() }
                peerStates[jid] = state
            } else {
                peerStates[jid] = nil
            }
        }
        updatePrompt()
    }

    private func isMention(_ message: StoredMessage) -> Bool {
        // Only live messages ring: a catch-up full of old mentions must not ring for each.
        guard message.type == "groupchat", message.direction == .incoming, message.receivedAt - message.timestamp < 60,
            let account,
            let room = try? context.store.room(accountID: account.rowID, jid: message.conversation)
        else { return false }
        return MUC.mentions(nick: room.currentNick, in: message.body)
    }

    private func shutdown() async {
        settleArrivals()
        // Scripted input: give queued messages (those waiting for a room's join too) and
        // intents a chance to be carried out before closing.
        // Beside another owner, what this shell stored is that process's to carry out: wait for it too.
        if let account, !editor.interactive, engine != nil || link == .otherProcess {
            let store = context.store
            let accountID = account.rowID
            _ = try? await IntentRunner(store: store, account: account).run(engine: engine, mayConnect: false, wait: .seconds(10)) {
                try store.queuedCount(accountID: accountID) == 0 && store.readyIntents(accountID: accountID).isEmpty
                    && store.intents(accountID: accountID).allSatisfy { $0.state != .sent }
            }
        }
        // Cancelled, each follower looks once more and prints an outcome that is known by now.
        for follower in intentFollowers { follower.cancel() }
        for follower in intentFollowers { await follower.value }
        await stopSync()
        alerts.killRunning()  // a notify command that hangs must not outlive the shell
    }

    // MARK: - Output

    /// For commands defined in other files (ShellContacts.swift).
    func requireCurrentAccount() throws -> Account { try requireAccount() }

    private func requireAccount() throws -> Account {
        guard let account else { throw Failure("no account: run `tern login JID` first") }
        return account
    }

    func say(_ text: String) {
        editor.print(text)
    }

    func updatePrompt() {
        // Every change of account or conversation ends here: Tab completes against them.
        completionScope.set(.init(accountID: account?.rowID, conversation: conversation))
        var parts: [String] = []
        if let account { parts.append(account.jid) }
        var state = link.rendering
        if let retryNote { state += ", \(retryNote)" }
        if let account, let queued = try? context.store.queuedCount(accountID: account.rowID), queued > 0 {
            state += ", \(queued) queued"
        }
        parts.append("[\(state)]")
        if let conversation { parts.append(promptName(of: conversation)) }
        if let note = typingNote() { parts.append("(\(note))") }
        if !transferNotes.isEmpty { parts.append("[" + transferNotes.keys.sorted().compactMap { transferNotes[$0] }.joined(separator: ", ") + "]") }
        if let note = navigation.promptNote() { parts.append(note) }
        editor.setPrompt(parts.joined(separator: " ") + "> ")
    }
}

/// Questions from shell commands go through the line editor (echo off for secrets).
struct EditorPrompter: Prompter {
    let editor: LineEditor

    func ask(_ question: String, secret: Bool) async -> String? {
        await editor.ask(question, secret: secret)
    }
}
