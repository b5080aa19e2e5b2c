import Foundation
import Store
import Sync

/// The shell's contact and presence commands (RFC 6121 §2–4): `/roster`, `/add`, `/remove`,
/// `/accept`, `/deny`, `/status` and its shortcuts, and auto-away after idle minutes.
///
/// Like the subcommands they only write the Store; the engine this shell owns (or the other
/// process that owns the account) executes them within a poll interval.
extension InteractiveShell {
    func showRoster(_ arguments: [String]) throws {
        let account = try requireCurrentAccount()
        let pending = arguments.contains("--pending") || arguments.contains("pending")
        let lines = try RosterCommand.lines(store: context.store, account: account, json: false, pending: pending, colour: editor.interactive)
        if lines.isEmpty { editor.print(pending ? "nothing awaits an answer" : "no contacts yet: /add JID") }
        for line in lines { editor.print(line) }
    }

    func contactAction(_ action: RosterAction, _ jid: String, name: String? = nil) throws {
        try queueContactIntent({ "\(action.rawValue) \($0)" }) { account in
            action == .add
                ? try ContactIntents.add(store: context.store, account: account, jid: jid, name: name, groups: [])
                : try ContactIntents.simple(action, store: context.store, account: account, jid: jid)
        }
    }

    /// `/rename CONTACT NAME`: the roster name (`tern edit --name`), queued like any roster change.
    func renameContact(_ jid: String, to name: String) throws {
        try queueContactIntent({ "rename \($0) to \(Sanitizer.inert(name))" }) { account in
            try ContactIntents.update(store: context.store, account: account, jid: jid, name: name, groups: nil)
        }
    }

    /// Stores the intent `make` gives, says so in one line (`describe` gets the inert target),
    /// and prints its outcome once known.
    private func queueContactIntent(_ describe: (String) -> String, _ make: (Account) throws -> Intent) throws {
        let account = try requireCurrentAccount()
        let intent: Intent
        do {
            intent = try make(account)
        } catch let error as SyncError {
            throw Failure(error.description)
        }
        editor.print("-- \(describe(Sanitizer.inert(intent.target))): queued, sent when connected")
        followIntent(intent, account: account)
    }

    /// `/status [SHOW] [MESSAGE]`, or a shortcut's fixed show with an optional message.
    func setStatus(show fixed: String?, words: [String]) throws {
        let account = try requireCurrentAccount()
        var own = try context.store.ownPresence(accountID: account.rowID)
        if fixed == nil, words.isEmpty {
            editor.print("status: " + (own.show ?? "online") + (own.status.map { ": \(Sanitizer.inert($0))" } ?? ""))
            return
        }
        let (show, message) = fixed.map { ($0, words.isEmpty ? nil : words.joined(separator: " ")) }
            ?? ContactCommandSupport.parseStatus(words, current: own)
        own = try ContactIntents.setStatus(store: context.store, account: account, show: show, status: message)
        editor.print("status: " + (own.show ?? "online") + (own.status.map { ": \(Sanitizer.inert($0))" } ?? ""))
    }

    /// Any typed line: back from auto-away, to what was set before.
    func noteActivity() async {
        await indicateClientState(.active)
        guard let account = try? requireCurrentAccount() else { return }
        if let saved = await idle.active(), let current = try? context.store.ownPresence(accountID: account.rowID),
            current.revision == saved.autoRevision
        {
            _ = try? context.store.setOwnPresence(accountID: account.rowID, show: saved.previous.show, status: saved.previous.status)
        }
    }

    /// Checks every few seconds whether the user has been idle for the stored minutes.
    func startIdleWatch() {
        let store = context.store
        idle.start { [weak self] idleFor in
            guard let self else { return nil }
            if idleFor >= Self.inactiveAfter { await self.indicateClientState(.inactive) }
            guard let account = try? await self.requireCurrentAccount() else { return nil }
            guard let own = try? store.ownPresence(accountID: account.rowID), own.autoAwayMinutes > 0,
                idleFor >= .seconds(own.autoAwayMinutes * 60), own.show == nil || own.show == "chat"
            else { return nil }
            guard let away = try? store.setOwnPresence(accountID: account.rowID, show: "away", status: own.status ?? "idle")
            else { return nil }
            return IdleTracker.AutoAway(previous: own, autoRevision: away.revision)
        }
    }
}

/// When the user last typed, and what auto-away replaced (to restore it).
actor IdleTracker {
    struct AutoAway: Sendable {
        let previous: OwnPresence
        let autoRevision: Int64
    }

    private var lastInput = ContinuousClock.now
    private var autoAway: AutoAway?
    private var task: Task<Void, Never>?

    /// Notes input; returns what auto-away replaced, once, if it was active.
    func active() -> AutoAway? {
        lastInput = ContinuousClock.now
        defer { autoAway = nil }
        return autoAway
    }

    nonisolated func start(_ check: @escaping @Sendable (Duration) async -> AutoAway?) {
        Task { await self.run(check) }
    }

    private func run(_ check: @escaping @Sendable (Duration) async -> AutoAway?) {
        task?.cancel()
        task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                guard let self else { return }
                await self.tick(check)
            }
        }
    }

    private func tick(_ check: @Sendable (Duration) async -> AutoAway?) async {
        guard autoAway == nil else { return }
        let idleFor = ContinuousClock.now - lastInput
        if let away = await check(idleFor), autoAway == nil { autoAway = away }
    }

    deinit { task?.cancel() }
}
