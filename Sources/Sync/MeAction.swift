import Store
import XMPP

extension StoredMessage {
    /// XEP-0245: what a "/me …" body says the sender does, for the UI to show as an action;
    /// nil when the body is no action.
    public var meAction: Substring? { MeCommand.action(in: body) }
}
