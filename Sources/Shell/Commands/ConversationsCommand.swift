import ArgumentParser
import Store

/// `tern conversations`: the shell's `/list` for scripts and status bars, read from the Store
/// (unread counts are kept there as messages are stored, so this never waits on the network).
struct ConversationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conversations", abstract: CommandTable.summary(ofSubcommand: "conversations"),
        discussion: "--unread: only conversations with unread messages. The numbers are the shell's, as /list gives them.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Only conversations with unread messages.") var unread = false
    @Flag(help: "Print JSON Lines.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let names = SenderNames(store: context.store, accountID: account.rowID)
            for (index, summary) in try context.store.conversations(accountID: account.rowID).enumerated() {
                if unread, summary.unread == 0 { continue }
                if json {
                    print(ConversationLine.json(number: index + 1, summary, names: names))
                } else {
                    let title = ConversationLine.title(of: summary.conversation, kind: summary.kind, names: names)
                    print(String(ConversationLine.render(
                        number: index + 1, conversation: summary.conversation, summary: summary, current: false, title: title,
                        names: names).dropFirst()))  // no current-conversation column here
                }
            }
        }
    }
}
