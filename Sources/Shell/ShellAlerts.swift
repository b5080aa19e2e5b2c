import Foundation
import Store
import Sync

/// Alerts in the shell (issue 14): per-conversation policies (`/notify`) and do-not-disturb
/// (our own presence `dnd`, set by `/dnd`), applied to what `Alerts` decides.
extension InteractiveShell {
    /// Raises `alert` unless our presence is do-not-disturb.
    func raise(_ alert: Alerts.Alert) {
        guard let account = try? requireCurrentAccount() else { return }
        if (try? context.store.ownPresence(accountID: account.rowID))?.show == "dnd" { return }
        alerts.configure(command: account.notifyCommand, desktop: account.desktopNotify)
        alerts.raise(alert)
    }

    func alert(for message: StoredMessage, isMention: Bool, offersFile: Bool) {
        // The conversation on screen alerts only for a mention: no Store reads for the rest.
        guard message.direction == .incoming, message.conversation != currentConversation || isMention,
            let account = try? requireCurrentAccount()
        else { return }
        let isRoom = message.type == "groupchat"
        let stored = try? context.store.alertPolicy(accountID: account.rowID, conversation: message.conversation)
        let sender = SenderNames(store: context.store, accountID: account.rowID).name(message)
        guard let alert = Alerts.alert(
            for: message, sender: sender, currentConversation: currentConversation, isRoom: isRoom, isMention: isMention,
            policy: Alerts.policy(stored: stored, isRoom: isRoom), offersFile: offersFile)
        else { return }
        raise(alert)
    }

    /// `/notify [all|mentions|none|default]`: the current conversation's alert policy.
    func notifyPolicy(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        guard let conversation = currentConversation else { throw Failure("/notify applies to the current conversation: /chat JID first") }
        let isRoom = currentRoom() != nil
        if let word = arguments.first {
            guard word == "default" || Alerts.Policy(rawValue: word) != nil else {
                throw Failure("/notify takes all, mentions, none or default")
            }
            try context.store.setAlertPolicy(accountID: account.rowID, conversation: conversation, policy: word == "default" ? nil : word)
        }
        let stored = try context.store.alertPolicy(accountID: account.rowID, conversation: conversation)
        say("-- alerts for \(Sanitizer.inert(conversation)): \(Alerts.policy(stored: stored, isRoom: isRoom).rawValue)"
            + (stored == nil ? " (default)" : ""))
    }
}
