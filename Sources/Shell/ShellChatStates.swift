import Foundation
import Store
import Sync
import XMPP

/// Chat states in the shell (XEP-0085, issue 14): ours follow the command line through
/// `TypingNotifier`; the contact's show in the prompt ("Bob is typing…"), never as lines.
extension InteractiveShell {
    /// Starts following the command line; edits arrive in order through one stream.
    func startTypingNotifications() {
        guard editor.interactive else { return }
        let (edits, sink) = AsyncStream<(String, String?)>.makeStream(bufferingPolicy: .bufferingNewest(64))
        editor.editObserver = { line, accepted in sink.yield((line, accepted)) }
        typingTasks.append(Task { [weak self] in
            for await (line, accepted) in edits { await self?.edited(line, accepted: accepted) }
        })
        typingTasks.append(Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.typingTick()
            }
        })
    }

    func stopTypingNotifications() {
        editor.editObserver = nil
        for task in typingTasks { task.cancel() }
        typingTasks = []
    }

    private func edited(_ line: String, accepted: String?) async {
        let notifications = typing.edited(line, accepted: accepted, in: oneToOneConversation(), at: Date().timeIntervalSince1970)
        await send(notifications)
    }

    private func typingTick() async {
        await send(typing.tick(at: Date().timeIntervalSince1970))
    }

    private func send(_ notifications: [TypingNotifier.Notification]) async {
        guard let engine else { return }  // beside another owner: states are not worth a round trip through the Store
        for notification in notifications { await engine.sendChatState(notification.state, to: notification.to) }
    }

    /// The current conversation when it is with one contact (not a room, not a room's occupant).
    private func oneToOneConversation() -> String? {
        guard let conversation = currentConversation, !conversation.contains("/"), currentRoom() == nil else { return nil }
        return conversation
    }

    /// What the prompt says about the current conversation's contact, if anything.
    func typingNote() -> String? {
        guard let conversation = currentConversation, let state = peerStates[conversation] else { return nil }
        let name = contactName(conversation)
        switch state {
        case .composing: return "\(name) is typing…"
        case .paused: return "\(name) stopped typing"
        case .active, .inactive, .gone: return nil
        }
    }

    private func contactName(_ jid: String) -> String {
        let roster = (try? requireCurrentAccount()).flatMap { SenderNames(store: context.store, accountID: $0.rowID).rosterName(jid) }
        return roster ?? Sanitizer.inert(jid.split(separator: "@").first.map(String.init) ?? jid)
    }
}
