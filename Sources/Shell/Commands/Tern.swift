import ArgumentParser
import Foundation

/// `tern`: the command surface of CLI.md. With no subcommand, the interactive shell.
public struct Tern: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tern",
        abstract: "An offline-first XMPP client for the terminal.",
        subcommands: [
            ShellCommand.self, RegisterCommand.self, LoginCommand.self, LogoutCommand.self, UnregisterCommand.self,
            PasswdCommand.self, SendCommand.self, SyncCommand.self,
            HistoryCommand.self, ConversationsCommand.self, SearchCommand.self, ExportCommand.self, OutboxCommand.self, TrustCommand.self,
            AccountsCommand.self, AccountCommand.self,
            RosterCommand.self, AddCommand.self, EditContactCommand.self, RemoveCommand.self, AcceptCommand.self,
            DenyCommand.self, StatusCommand.self,
            InfoCommand.self, VCardCommand.self, BlockCommand.self, UnblockCommand.self, BlockedCommand.self,
            SharingCommand.self, JoinCommand.self, LeaveCommand.self, RoomsCommand.self,
            TopicCommand.self, NickCommand.self, KickCommand.self, BanCommand.self, InviteCommand.self, ConfigCommand.self,
            FilesCommand.self, DownloadCommand.self,
        ],
        defaultSubcommand: ShellCommand.self)

    public init() {}

    /// Runs tern with global options accepted before the subcommand too (`tern --home D login …`).
    public static func run(arguments: [String]) async {
        var command: any ParsableCommand
        if let unknown = unknownSubcommand(arguments) {
            // Not the shell's business: `tern topci …` is a typo, not a shell with odd options.
            Terminal.error("unknown subcommand \(unknown) (see tern --help)")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            command = try parseAsRoot(globalOptionsMoved(arguments))
        } catch {
            // Bad usage is one line on stderr (exit 64); help and version requests as ArgumentParser does them.
            if exitCode(for: error) == .validationFailure {
                Terminal.error(message(for: error) + " (see tern --help)")
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)  // commands have already printed their one line
        }
    }

    static let globalOptionsWithValue: Set<String> = ["--home", "--account"]

    /// The first word after the global options when it names no subcommand (nil for none,
    /// or an option, which ArgumentParser judges).
    static func unknownSubcommand(_ arguments: [String]) -> String? {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionsWithValue.contains(argument) {
                index += 2
            } else if globalOptionsWithValue.contains(where: { argument.hasPrefix($0 + "=") }) {
                index += 1
            } else {
                break
            }
        }
        guard index < arguments.count, !arguments[index].hasPrefix("-") else { return nil }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        return names.contains(arguments[index]) ? nil : Sanitizer.inert(arguments[index])
    }

    /// ArgumentParser only matches a subcommand's options after its name, while CLI.md puts
    /// global options first; so leading global options move behind the subcommand name.
    static func globalOptionsMoved(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionsWithValue.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if globalOptionsWithValue.contains(where: { argument.hasPrefix($0 + "=") }) {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard index < arguments.count, !leading.isEmpty else { return arguments }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName }
        guard names.contains(arguments[index]) else { return arguments }
        return [arguments[index]] + leading + Array(arguments[(index + 1)...])
    }
}
