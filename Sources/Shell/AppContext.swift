import ArgumentParser
import Foundation
import Store
import Sync
import XMPP

/// Options every subcommand takes (CLI.md, global options).
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory.", valueName: "DIR"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp("Which stored account to use.", valueName: "JID"))
    var account: String?

    public init() {}
}

/// The opened store and the chosen account, shared by all subcommands.
struct AppContext {
    let home: String
    let store: Store
    let accountOption: String?

    init(_ options: GlobalOptions) throws {
        home = Paths.home(explicit: options.home)
        accountOption = options.account
        // On a terminal only: scripts read stderr for errors. One line, rewritten per step.
        let onTerminal = isatty(STDERR_FILENO) == 1
        var announced = false
        do {
            store = try Store(directory: home) { step in
                guard onTerminal else { return }
                announced = true
                FileHandle.standardError.write(Data(
                    "\rtern: upgrading the store of \(step.messages) messages, step \(step.step) of \(step.steps) (\(step.name))…\u{1B}[K".utf8))
            }
            if announced { FileHandle.standardError.write(Data("\rtern: the store is upgraded.\u{1B}[K\n".utf8)) }
        } catch {
            // The error goes on a line of its own, not over the progress line.
            if announced { FileHandle.standardError.write(Data("\n".utf8)) }
            throw Failure("\(error)")
        }
    }

    /// The account named by `--account`, else the default one.
    func account() throws -> Account {
        if let name = accountOption {
            let jid: JID
            do { jid = try JID(name) } catch { throw UsageFailure("\(error)") }
            guard let account = try store.account(jid: jid.bare.description) else {
                throw Failure("no account \(jid.bare) here: run `tern login \(jid.bare)` first")
            }
            return account
        }
        guard let account = try store.defaultAccount() else {
            let count = try store.accounts().count
            throw Failure(count == 0
                ? "no account yet: run `tern login JID` first"
                : "several accounts: choose one with --account JID")
        }
        return account
    }

    /// Becomes the connection owner for the account if no other process is.
    func lock(_ account: Account) throws -> AccountLock? {
        try AccountLock.acquire(directory: home, accountJID: account.jid)
    }

    func ownerDescription(_ account: Account) -> String {
        AccountLock.holder(directory: home, accountJID: account.jid).map { "tern (pid \($0))" } ?? "another tern process"
    }
}
