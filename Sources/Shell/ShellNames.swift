import Foundation

/// Contact arguments in the shell: a roster name or JID local part stands for the one contact
/// it names (`ContactNames`); the command table's actions pass contact-kind arguments through here.
extension InteractiveShell {
    /// `text` when it has `@`; otherwise the bare JID of the one contact it names, or a
    /// one-line error listing the candidates, so nothing is ever sent to a guessed address.
    func contactJID(_ text: String, rooms: Bool = false) throws -> String {
        let account = try requireCurrentAccount()
        do {
            return try ContactNames.jid(text, store: context.store, accountID: account.rowID, rooms: rooms)
        } catch {
            throw Failure(error.message)
        }
    }
}

extension InteractiveShell {
    /// A conversation argument: a contact as `contactJID` finds it, or a room by its name or local part.
    func conversationJID(_ text: String) throws -> String { try contactJID(text, rooms: true) }

    /// `arguments` with the first (a contact) resolved by `contactJID`.
    func resolvingFirstContact(_ arguments: [String]) throws -> [String] {
        guard let first = arguments.first else { return arguments }
        return [try contactJID(first)] + arguments.dropFirst()
    }
}
