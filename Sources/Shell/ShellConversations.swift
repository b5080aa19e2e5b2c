import Foundation
import Store
import XMPP

/// Moving around (issue 15): `/list`, `/c N` and Alt-N, `/close`, the unread marker, and the
/// unread counts the prompt shows. Counts and read marks live in the Store (migration 0019), so
/// they survive a restart; the shell keeps only the numbering and the counts it last read.
struct ConversationNavigation {
    /// The conversations by number (1 is the first): the last `/list` order, or the Store's order
    /// when the shell started, with conversations seen since then added at the end.
    var order: [String] = []
    /// Unread messages per conversation other than the current one, as the Store counted them.
    var unread: [String: Int] = [:]

    func number(of conversation: String) -> Int? {
        order.firstIndex(of: conversation).map { $0 + 1 }
    }

    mutating func remember(_ conversation: String) {
        if !order.contains(conversation) { order.append(conversation) }
    }

    /// Conversations that arriving messages number at most: anyone can write from a new
    /// address. `/list` numbers every one the Store has.
    static let numberedByArrival = 1_000

    /// What arrivals left to write and read (`settleArrivals`): the newest message read in the
    /// current conversation, and the other conversations whose counts changed.
    var readUpTo: (conversation: String, id: Int64)?
    var recounted: Set<String> = []
    var settling: Task<Void, Never>?

    /// `[unread 2:3 4:1]`: list number and count of each conversation with unread messages,
    /// by number; the first few only, so the prompt stays short.
    func promptNote(shown: Int = 5) -> String? {
        let waiting = unread.filter { $0.value > 0 }
        guard !waiting.isEmpty else { return nil }
        let entries = waiting.map { (number: number(of: $0.key) ?? Int.max, count: $0.value) }.sorted { $0.number < $1.number }
        var parts = entries.prefix(shown).map { entry in
            (entry.number == Int.max ? "?" : String(entry.number)) + ":" + String(entry.count)
        }
        if entries.count > shown { parts.append("+\(entries.count - shown)") }
        return "[unread " + parts.joined(separator: " ") + "]"
    }
}

extension InteractiveShell {
    /// Alt-1 … Alt-9 run `/c 1` … `/c 9` (readline sees Alt-N as ESC N).
    static let conversationKeys: [String: String] = Dictionary(uniqueKeysWithValues: (1...9).map { ("\u{1B}\($0)", "/c \($0)") })

    /// Lines `/chat` and `/c` show: this many at least, more to reach back to the unread ones.
    static let recentLines = 10
    static let recentLinesMost = 100

    /// Numbering and counts from the Store: at start, after an account switch, and on `/list`.
    @discardableResult
    func loadConversations() -> [Store.ConversationSummary] {
        guard let account = try? requireCurrentAccount(),
            let summaries = try? context.store.conversations(accountID: account.rowID)
        else { return [] }
        navigation.order = summaries.map(\.conversation)
        navigation.unread = [:]
        for summary in summaries where summary.unread > 0 {
            navigation.unread[summary.conversation] = summary.unread
        }
        return summaries
    }

    /// `/list`: one numbered line per conversation, newest first, the current one marked.
    func listConversations() throws {
        let account = try requireCurrentAccount()
        let summaries = loadConversations()
        // A conversation just opened with `/chat` has no messages yet; it is still where lines go.
        if let current = currentConversation, !navigation.order.contains(current) { navigation.order.append(current) }
        guard !navigation.order.isEmpty else {
            say("no conversations yet: /msg CONTACT TEXT starts one")
            return
        }
        let names = SenderNames(store: context.store, accountID: account.rowID)
        let width = editor.columns  // piped output (scripts) is not cut
        for (index, conversation) in navigation.order.enumerated() {
            let summary = summaries.first { $0.conversation == conversation }
            let line = ConversationLine.render(
                number: index + 1, conversation: conversation, summary: summary, current: conversation == currentConversation,
                title: ConversationLine.title(of: conversation, kind: summary?.kind, names: names), names: names)
            say(width.map { TerminalText.cut(line, to: $0) } ?? line)
        }
        updatePrompt()  // the numbers in the unread note follow the new order
    }

    /// `/c N`: the Nth conversation of the list.
    func switchToNumber(_ word: String) throws {
        let account = try requireCurrentAccount()
        if navigation.order.isEmpty { loadConversations() }
        guard let number = Int(word), navigation.order.indices.contains(number - 1) else {
            throw Failure(navigation.order.isEmpty ? "no conversations yet" : "no conversation \(word): choose 1…\(navigation.order.count) (/list)")
        }
        try open(navigation.order[number - 1], account: account)
    }

    /// `/close [N|JID]`: off the list (the current one by default); its history stays.
    func closeConversation(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        let key: String
        if let word = arguments.first {
            if let number = Int(word) {
                guard navigation.order.indices.contains(number - 1) else {
                    throw Failure("no conversation \(word): choose 1…\(max(1, navigation.order.count)) (/list)")
                }
                key = navigation.order[number - 1]
            } else {
                key = navigation.order.contains(word) ? word : try conversationKey(try conversationJID(word), account: account)
                // Closing what is not listed would only leave a row behind for a typo.
                guard navigation.order.contains(key) else { throw Failure("\(Sanitizer.inert(key)) is not on the list (/list)") }
            }
        } else {
            guard let current = currentConversation else { throw Failure("no current conversation: /close N or /close JID") }
            key = current
        }
        try context.store.closeConversation(accountID: account.rowID, conversation: key)
        navigation.order.removeAll { $0 == key }
        navigation.unread[key] = nil
        if key == currentConversation { conversation = nil }
        say("closed \(promptName(of: key)); its history stays (/history \(Sanitizer.inert(key)))")
        updatePrompt()
    }

    /// Enters `key` showing its recent lines, with the unread marker before the first line not
    /// seen yet; from then on it is read.
    func open(_ key: String, account: Account) throws {
        let lastRead = try context.store.lastReadID(accountID: account.rowID, conversation: key)
        let waiting = try context.store.unreadCount(accountID: account.rowID, conversation: key)
        let limit = min(max(Self.recentLines, waiting + 3), Self.recentLinesMost)
        printWithMarker(try context.store.history(accountID: account.rowID, conversation: key, limit: limit), lastRead: lastRead)
        enterConversation(key)
    }

    /// At start, the conversation the shell picks up shows what arrived in it since the user left.
    func resumeConversation(_ account: Account) {
        guard let current = currentConversation, navigation.unread[current, default: 0] > 0 else { return }
        try? open(current, account: account)
    }

    /// `/msg` into another conversation: only what is waiting there, under the marker.
    func showWaiting(in key: String, account: Account) {
        guard key != currentConversation, let waiting = try? context.store.unreadCount(accountID: account.rowID, conversation: key),
            waiting > 0, let lastRead = try? context.store.lastReadID(accountID: account.rowID, conversation: key),
            let entries = try? context.store.history(accountID: account.rowID, conversation: key, limit: min(waiting, Self.recentLinesMost))
        else { return }
        printWithMarker(entries, lastRead: lastRead)
    }

    private func printWithMarker(_ entries: [HistoryEntry], lastRead: Int64) {
        var marked = false
        for entry in entries {
            if !marked, entry.message.direction == .incoming, (entry.message.id ?? 0) > lastRead {
                say(ConversationLine.unreadMarker)
                marked = true
            }
            showMessage(entry.message, state: entry.state)
        }
    }

    /// The user is in `key` now: what it holds is read, and it has a number.
    func markOpened(_ key: String) {
        settleArrivals()
        navigation.unread[key] = nil
        navigation.remember(key)
        guard let account = try? requireCurrentAccount() else { return }
        try? context.store.markRead(accountID: account.rowID, conversation: key)
    }

    /// How long arrivals gather before their read mark and counts reach the Store.
    static let settleDelay: Duration = .milliseconds(250)

    /// A message arrived: read in the current conversation, else counted by the Store. Both are
    /// settled together shortly after (`settleArrivals`), not one Store call per message.
    func noteArrival(_ message: StoredMessage) {
        let key = message.conversation
        if navigation.order.count < ConversationNavigation.numberedByArrival { navigation.remember(key) }
        if key == currentConversation {
            guard let id = message.id else { return }
            navigation.readUpTo = (key, max(id, navigation.readUpTo.map { $0.conversation == key ? $0.id : 0 } ?? 0))
        } else if message.direction == .incoming, navigation.number(of: key) != nil {
            navigation.recounted.insert(key)
        } else {
            return
        }
        guard navigation.settling == nil else { return }
        navigation.settling = Task { [weak self] in
            try? await Task.sleep(for: Self.settleDelay)
            await self?.settleArrivals()
        }
    }

    /// One write for what was read and one row read per conversation whose count changed: a
    /// catch-up of thousands of messages costs a few Store calls, not a transaction each.
    func settleArrivals() {
        navigation.settling?.cancel()
        navigation.settling = nil
        let (read, recounted) = (navigation.readUpTo, navigation.recounted)
        navigation.readUpTo = nil
        navigation.recounted = []
        guard read != nil || !recounted.isEmpty, let account = try? requireCurrentAccount() else { return }
        if let read { try? context.store.markRead(accountID: account.rowID, conversation: read.conversation, upTo: read.id) }
        // The Store's count, kept as messages are stored: one row read, not a count of history.
        for key in recounted { navigation.unread[key] = try? context.store.unreadCount(accountID: account.rowID, conversation: key) }
        updatePrompt()
    }
}

/// One line of `/list`: `1) Bob (bob@example.org)  3 unread  — 12:03 Bob: the last line`.
enum ConversationLine {
    static let unreadMarker = "-- unread --"

    static func render(
        number: Int, conversation: String, summary: Store.ConversationSummary?, current: Bool, title: String, names: SenderNames
    ) -> String {
        var line = (current ? "*" : " ") + "\(number)) " + title
        guard let summary else { return line + "  (no messages yet)" }
        if summary.unread > 0 && !current { line += "  \(summary.unread) unread" }
        let last = summary.last.message
        let text = last.retractedAt != nil ? "(retracted)" : Sanitizer.inert(last.body)
        return line + "  — \(Renderer.clock(last.timestamp)) \(who(last, names: names)): \(text)"
    }

    /// How `/list` and `tern conversations` name a conversation: the roster name or room name
    /// with its JID, or the JID.
    static func title(of conversation: String, kind: Store.ConversationSummary.Kind?, names: SenderNames) -> String {
        let jid = Sanitizer.inert(conversation)
        switch kind {
        case .room:
            if let name = (try? names.store.room(accountID: names.accountID, jid: conversation))??.name, !name.isEmpty {
                return "\(Sanitizer.inert(name)) (\(jid))"
            }
            return jid
        case .occupant:
            return jid
        case .contact, nil:
            return names.rosterName(conversation).map { "\($0) (\(jid))" } ?? jid
        }
    }

    /// One conversation as a JSON Lines object (`tern conversations --json`): its last message
    /// as `last`, in the message fields of CLI.md.
    static func json(number: Int, _ summary: Store.ConversationSummary, names: SenderNames) -> String {
        var object: [String: Any] = [
            "number": number, "conversation": summary.conversation, "kind": summary.kind.rawValue, "unread": summary.unread,
            "last": Renderer.messageObject(summary.last.message, state: summary.last.state),
        ]
        if summary.kind == .contact, let name = try? names.store.contact(accountID: names.accountID, jid: summary.conversation)?.name,
            !name.isEmpty
        {
            object["name"] = name
        }
        return Renderer.json(object)
    }

    /// Short, since the conversation is named just before: a nick, a roster name, else the
    /// sender's local part.
    static func who(_ message: StoredMessage, names: SenderNames) -> String {
        guard message.direction == .incoming, message.type != "groupchat", let jid = try? JID(message.sender) else { return names.name(message) }
        // A private chat in a room (room/nick): the nick.
        if message.conversation.contains("/"), let nick = jid.resource { return Sanitizer.inert(nick) }
        return names.rosterName(jid.bare.description) ?? Sanitizer.inert(jid.local ?? jid.domain)
    }
}
