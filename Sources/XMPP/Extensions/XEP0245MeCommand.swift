/// XEP-0245: The /me Command, version 1.0.
///
/// A body that starts with the four characters "/me " is an action by its sender (§2); it is
/// sent and stored as written and only shown differently (`* name text`, §3). A body that is
/// just "/me", or "/me" followed by anything but a space, is an ordinary message (§4).
public enum MeCommand {
    static let prefix = "/me "

    /// The action's text after "/me ", or nil when the body is not an action.
    public static func action(in body: String) -> Substring? {
        guard body.hasPrefix(prefix) else { return nil }
        return body.dropFirst(prefix.count)
    }
}
