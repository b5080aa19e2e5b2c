import Foundation
import Store
import Sync

/// What the shell keeps to show messages as people read them (ChatLines): cached roster names,
/// the day of the last line shown, and the delivery state each outgoing line shows.
struct ReadingState {
    var names = RosterNameCache()
    /// `ChatLines.day` of the last message line shown, for day separators.
    var lastDay: Int?
    /// Outbox id → the state its line's mark shows, for lines whose mark may still change.
    var marks: [String: OutboxItem.State] = [:]
    var markOrder: [String] = []
    /// Beside another process that holds the connection: follows `marks` in the Store.
    var markFollower: Task<Void, Never>?

    /// Lines whose marks are followed at most (the editor tracks as many).
    static let kept = PrintedRows.kept

    mutating func track(_ id: String, _ state: OutboxItem.State) {
        if marks[id] == nil {
            markOrder.append(id)
            if markOrder.count > Self.kept { marks[markOrder.removeFirst()] = nil }
        }
        marks[id] = state
    }

    /// The mark to write when `state` moves a tracked line on; nil when it does not.
    mutating func advance(_ id: String, to state: OutboxItem.State) -> OutboxItem.State? {
        guard let shown = marks[id], shown != state, DeliveryMarks.rank(state) >= DeliveryMarks.rank(shown) else { return nil }
        marks[id] = state
        return state
    }
}

extension InteractiveShell {
    /// Read once: NO_COLOR, TERM and the locale do not change under a running shell.
    private static let environment = ProcessInfo.processInfo.environment

    var lineStyle: ChatLines.Style {
        let environment = Self.environment
        return ChatLines.Style(
            columns: editor.columns,
            colour: SenderColours.allowed(interactive: editor.interactive, environment: environment),
            marks: DeliveryMarks(unicode: DeliveryMarks.localeIsUTF8(environment)))
    }

    /// One message as the shell shows it, after a day separator when it starts another day.
    /// An outgoing line with a state keeps its mark live under `trackAs` (its outbox id by default).
    func showMessage(_ message: StoredMessage, state: OutboxItem.State?, trackAs: String? = nil, mention: Bool = false) {
        let style = lineStyle
        let day = ChatLines.day(message.timestamp)
        let today = ChatLines.day(Date().timeIntervalSince1970)
        if ChatLines.startsDay(day, after: reading.lastDay, today: today) { say(ChatLines.daySeparator(message.timestamp)) }
        reading.lastDay = day
        let line = ChatLines.line(
            message, name: lineName(message), state: state, otherConversation: otherConversationName(message), style: style)
        if mention {
            // Reverse video is not colour: a mention stands out at any terminal (NO_COLOR too).
            say(Renderer.mention(line.text, colour: editor.interactive))
            return
        }
        guard message.direction == .outgoing, let state, let column = line.markColumn, let key = trackAs ?? message.outboxID else {
            say(line.text)
            return
        }
        editor.print(line.text, mark: LineMark(key: key, column: column))
        guard editor.interactive, !OutboxWatch.isSettled(state) else { return }
        reading.track(key, state)
        if liveEngine == nil, hasLiveSession { followMarksInStore() }
    }

    /// An outbox row moved on (engine events, or the Store beside another owner): its line's mark follows.
    func deliveryChanged(_ id: String, to state: OutboxItem.State) {
        guard let shown = reading.advance(id, to: state) else { return }
        editor.replaceMark(of: id, with: lineStyle.marks.slot(shown))
    }

    /// The current conversation as the prompt names it: the contact's roster name, else its JID.
    func promptName(of conversation: String) -> String {
        guard let account = try? requireCurrentAccount() else { return Sanitizer.inert(conversation) }
        let names = SenderNames(store: context.store, accountID: account.rowID)
        return reading.names.name(conversation, now: Date().timeIntervalSince1970, lookup: names.rosterName)
            ?? Sanitizer.inert(conversation)
    }

    /// Roster events may rename a contact: names are read again.
    func rosterMayHaveChanged() {
        reading.names.forget()
    }

    private func lineName(_ message: StoredMessage) -> String {
        guard let account = try? requireCurrentAccount() else { return SenderNames.lineName(message) { _ in nil } }
        let names = SenderNames(store: context.store, accountID: account.rowID)
        let now = Date().timeIntervalSince1970
        return SenderNames.lineName(message) { bare in reading.names.name(bare, now: now, lookup: names.rosterName) }
    }

    /// A line from or to a conversation other than the current one names it.
    private func otherConversationName(_ message: StoredMessage) -> String? {
        guard message.conversation != currentConversation else { return nil }
        if message.type == "groupchat" {
            let room = message.conversation
            return Sanitizer.inert(room.split(separator: "@").first.map(String.init) ?? room)
        }
        guard message.direction == .outgoing else { return nil }
        let bare = message.conversation
        let now = Date().timeIntervalSince1970
        let names = (try? requireCurrentAccount()).map { SenderNames(store: context.store, accountID: $0.rowID) }
        return reading.names.name(bare, now: now) { names?.rosterName($0) } ?? Sanitizer.inert(bare)
    }

    /// Another process holds the connection: the marks follow the Store, woken by its commits.
    private func followMarksInStore() {
        guard reading.markFollower == nil, let changes = try? StoreChanges(context.store) else { return }
        let store = context.store
        reading.markFollower = Task { [weak self] in
            while !Task.isCancelled {
                _ = await changes.next(before: .now + .seconds(1), every: StoreChanges.displayInterval)
                guard let self, let open = await self.openMarks() else { return }
                let items = (try? store.outboxItems(ids: open)) ?? [:]
                for (id, item) in items { await self.deliveryChanged(id, to: item.state) }
                await self.forgetSettledMarks()
            }
        }
    }

    /// The tracked lines whose mark may still change; nil once there is nothing left to follow.
    private func openMarks() -> [String]? {
        let open = reading.marks.filter { !OutboxWatch.isSettled($0.value) }.map(\.key)
        if open.isEmpty { reading.markFollower = nil }
        return open.isEmpty ? nil : open
    }

    private func forgetSettledMarks() {
        for (id, state) in reading.marks where OutboxWatch.isSettled(state) { reading.marks[id] = nil }
        // The closure must not read `reading` while `removeAll` modifies it (exclusive access).
        let kept = reading.marks
        reading.markOrder.removeAll { kept[$0] == nil }
    }
}
