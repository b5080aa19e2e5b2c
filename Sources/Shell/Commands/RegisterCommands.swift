import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

/// Asks the user something: a terminal prompt in subcommands, the line editor in the shell.
protocol Prompter: Sendable {
    /// nil when there is no one to ask (no terminal) or the user cancelled.
    func ask(_ question: String, secret: Bool) async -> String?
}

/// Prompts on the controlling terminal; without one there is nobody to ask.
struct TerminalPrompter: Prompter {
    func ask(_ question: String, secret: Bool) async -> String? {
        guard isatty(STDIN_FILENO) == 1 else { return nil }
        if secret { return try? Password.readWithoutEcho(prompt: question) }
        FileHandle.standardError.write(Data(question.utf8))
        return readLine(strippingNewline: true)
    }
}

/// Turns a registration form into answers: the username comes from the JID, the password
/// from the caller, `given` fills named fields, and the rest is asked for.
enum RegistrationDialog {
    static func answers(
        for form: Registration.Form, jid: JID, password: String, given: [String: String], prompter: any Prompter,
        say: (String) -> Void
    ) async throws -> [String: String] {
        if let obstacle = form.obstacle {
            throw Failure(obstacle.description)
        }
        if let instructions = form.instructions, !instructions.isEmpty {
            say(Sanitizer.inertMultiline(instructions))
        }
        var values: [String: String] = [:]
        for prompt in form.fields {
            switch prompt.key {
            case "username":
                values[prompt.key] = jid.local
                continue
            case "password":
                values[prompt.key] = password
                continue
            default:
                break
            }
            if let value = given[prompt.key] {
                values[prompt.key] = value
                continue
            }
            var question = Sanitizer.inert(prompt.label)
            if case .choice(let options) = prompt.kind {
                question += " [" + options.map { Sanitizer.inert($0.value) }.joined(separator: "/") + "]"
            }
            if case .boolean = prompt.kind { question += " [yes/no]" }
            if !prompt.isRequired { question += " (optional)" }
            guard let answer = await prompter.ask(question + ": ", secret: prompt.isSecret) else {
                if prompt.isRequired {
                    throw UsageFailure("the server needs '\(Sanitizer.inert(prompt.key))' (\(Sanitizer.inert(prompt.label))): give --field \(Sanitizer.inert(prompt.key))=VALUE")
                }
                continue
            }
            if answer.isEmpty, !prompt.isRequired { continue }
            if case .boolean = prompt.kind {
                values[prompt.key] = ["y", "yes", "1", "true"].contains(answer.lowercased()) ? "1" : "0"
            } else {
                values[prompt.key] = answer
            }
        }
        return values
    }
}

struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: CommandTable.summary(ofSubcommand: "register"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The new account's JID, e.g. alice@example.org.") var jid: String
    @OptionGroup var server: ServerOptions
    @Option(help: ArgumentHelp("Read the new password from this file.", valueName: "FILE")) var passwordFile: String?
    @Option(help: ArgumentHelp("Answer a form field without being asked (repeatable).", valueName: "KEY=VALUE"))
    var field: [String] = []

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let bare = try ServerOptions.accountJID(jid)
            if let existing = try context.store.account(jid: bare.description), existing.state != .deleted {
                throw UsageFailure("\(bare) is already stored here; use `tern login \(bare)`")
            }
            var given: [String: String] = [:]
            for pair in field {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw UsageFailure("--field wants KEY=VALUE, got '\(pair)'")
                }
                given[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            var account = Account(jid: bare.description, resource: Login.newResource(), createdAt: Store.now)
            try server.apply(to: &account)
            let password = try await NewPassword.obtain(file: passwordFile, prompter: TerminalPrompter())
            try await AccountFlows.register(
                account: account, password: password, given: given, store: context.store, prompter: TerminalPrompter(),
                say: { print($0) })
        }
    }
}

struct UnregisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unregister",
        abstract: CommandTable.summary(ofSubcommand: "unregister"),
        discussion: "With --purge, local history goes too.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Do not ask for confirmation (for scripts).") var yes = false
    @Flag(help: "Also delete the local history and settings of the account.") var purge = false

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            try await AccountFlows.unregister(
                account: account, context: context, confirmed: yes, purge: purge, prompter: TerminalPrompter(),
                say: { print($0) })
        }
    }
}

struct PasswdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd", abstract: CommandTable.summary(ofSubcommand: "passwd"))

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Read the new password from this file.", valueName: "FILE")) var passwordFile: String?

    func run() async throws {
        try await runReportingErrors {
            let context = try AppContext(global)
            let account = try context.account()
            let password = try await NewPassword.obtain(file: passwordFile, prompter: TerminalPrompter())
            try await AccountFlows.changePassword(account: account, password: password, context: context, say: { print($0) })
        }
    }
}

/// A new password: from a file or `TERN_PASSWORD` in scripts, else asked twice.
enum NewPassword {
    static func obtain(file: String?, prompter: any Prompter, allowEnvironment: Bool = true) async throws -> String {
        if file != nil || (allowEnvironment && ProcessInfo.processInfo.environment["TERN_PASSWORD"] != nil) {
            return try Password.obtain(file: file, prompt: "")
        }
        guard let first = await prompter.ask("New password: ", secret: true), !first.isEmpty else {
            throw UsageFailure("no password: give --password-file FILE or set TERN_PASSWORD")
        }
        guard let second = await prompter.ask("Repeat it: ", secret: true), second == first else {
            throw UsageFailure("the two passwords differ; nothing was changed")
        }
        return first
    }
}

/// The account flows shared by subcommands and the shell.
enum AccountFlows {
    static func register(
        account: Account, password: String, given: [String: String], store: Store, prompter: any Prompter,
        say: @escaping (String) -> Void
    ) async throws {
        let jid = try JID(account.jid)
        let session: AccountLifecycle.RegistrationSession
        do {
            session = try await AccountLifecycle.beginRegistration(account: account)
        } catch {
            throw SyncFailure.explaining(error, account: account.jid, stored: false)
        }
        let values: [String: String]
        do {
            values = try await RegistrationDialog.answers(
                for: session.form, jid: jid, password: password, given: given, prompter: prompter, say: say)
        } catch {
            await session.cancel()
            throw error
        }
        do {
            try await session.submit(values)
        } catch {
            throw SyncFailure.explaining(error, account: account.jid, stored: false)
        }
        do {
            let outcome = try await Login.login(store: store, account: account, password: password)
            say("registered and logged in as \(Sanitizer.inert(outcome.boundJID))")
        } catch {
            guard let failure = SyncFailure(connecting: error, account: account.jid, stored: false) else { throw error }
            throw Failure("registered \(account.jid), but the first login failed: \(failure.reason)")
        }
    }

    static func unregister(
        account: Account, context: AppContext, confirmed: Bool, purge: Bool, prompter: any Prompter,
        say: (String) -> Void
    ) async throws {
        guard account.state != .deleted else { throw Failure("\(account.jid) is already deleted") }
        if !confirmed {
            say("This deletes \(account.jid) from the server, for good.")
            guard let typed = await prompter.ask("Type the full JID to confirm: ", secret: false) else {
                throw UsageFailure("not confirmed: type the JID at the prompt, or pass --yes")
            }
            guard typed.trimmingCharacters(in: .whitespaces).lowercased() == account.jid else {
                throw Failure("not deleted: '\(Sanitizer.inert(typed))' is not \(account.jid)")
            }
        }
        guard let lock = try context.lock(account) else {
            throw Failure("\(context.ownerDescription(account)) is connected as \(account.jid): quit it first")
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            try await AccountLifecycle.unregister(store: context.store, account: account, purge: purge)
        } catch {
            throw SyncFailure.explaining(error, account: account.jid)
        }
        say("deleted \(account.jid) from the server" + (purge ? "; local history purged" : "; local history kept"))
    }

    static func changePassword(account: Account, password: String, context: AppContext, say: (String) -> Void) async throws {
        guard account.state == .active else { throw Failure("\(account.jid) is not logged in: `tern login \(account.jid)` first") }
        guard let lock = try context.lock(account) else {
            throw Failure("\(context.ownerDescription(account)) is connected as \(account.jid): quit it first")
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            try await AccountLifecycle.changePassword(store: context.store, account: account, newPassword: password)
        } catch {
            throw SyncFailure.explaining(error, account: account.jid)
        }
        say("password changed for \(account.jid); stored credentials updated")
    }
}
