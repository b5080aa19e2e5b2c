import Foundation
import Store
import XMPP

/// Carries out the stored intents (DESIGN §2, issue 13): every outgoing action other than a
/// message, written to the Store by any tern process, is done once by the connection's owner,
/// in the order written, and its outcome stored for the writer to read.
///
/// Roster and blocking edits go early in a new session (their features call `Intents` right
/// after their fetches); the rest, room actions among them, once the session has settled,
/// when the wanted rooms are joined, and then at every poll. A room action waits, queued,
/// until its room is joined (`Store.readyIntents`).
struct IntentsFeature: SessionFeature {
    /// One run at a time, in the order asked for, whoever asks (a poll, a feature's moment,
    /// the shell): the intents go out in the order they were written.
    let gate = SerialGate()
    /// Whether this engine has put back what a previous owner left taken.
    private let recovery = Recovery()

    var discoFeatures: [String] { [] }

    /// Rows left `sent` when this engine starts were taken by an owner that died (only the
    /// lock holder carries intents out): queued again, once, before anything else runs. A
    /// later lost link puts back its own row itself (`Intents.carryOut`).
    func sessionStarted(_ context: FeatureContext) async {
        await recoverOnce(context)
    }

    func sessionSettled(_ context: FeatureContext, resumed: Bool) async {
        await recoverOnce(context)  // a first session that was resumed has not started anew
        await gate.run { await Intents.carryOut(context) }
    }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool { false }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async {}

    /// In the background: a room action may wait seconds for the room's answer, and the
    /// engine's poll loop (the outbox flush, keep-alives) must not wait with it.
    func poll(_ context: FeatureContext) async {
        guard await !gate.isBusy else { return }
        Task { await gate.run { await Intents.carryOut(context) } }
    }

    private func recoverOnce(_ context: FeatureContext) async {
        guard await recovery.isFirst() else { return }
        _ = try? context.store.requeueTakenIntents(accountID: context.account.rowID)
    }
}

/// Says yes once: the first session of an engine.
private actor Recovery {
    private var done = false

    func isFirst() -> Bool {
        defer { done = true }
        return !done
    }
}

/// The one place an intent is carried out, whichever feature's moment it is.
enum Intents {
    static let rosterKinds = RosterAction.allCases.map(\.kind)
    static let blockingKinds: [Intent.Kind] = [.block, .unblock, .detailsRefresh]

    /// A final "no" (a bad argument, a server's refusal): the intent fails and is not tried again.
    struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// `carryOut` in its turn through the engine's `IntentsFeature` gate (a feature's own
    /// moment in the session: roster edits after the roster fetch, …).
    static func carryOutInTurn(_ context: FeatureContext, kinds: [Intent.Kind]? = nil) async {
        guard let feature = await context.engine.feature(IntentsFeature.self) else { return }
        await feature.gate.run { await carryOut(context, kinds: kinds) }
    }

    /// Takes each ready intent (of `kinds`, or all), carries it out, and records done or
    /// failed. A lost link puts the intent back in the queue and ends the run: the next
    /// session carries on from it. Runs hold `IntentsFeature.gate`, one at a time.
    static func carryOut(_ context: FeatureContext, kinds: [Intent.Kind]? = nil) async {
        let store = context.store
        guard let ready = try? store.readyIntents(accountID: context.account.rowID, kinds: kinds), !ready.isEmpty else { return }
        var written: RosterIntents.Written = [:]
        for intent in ready {
            // Taken here, so a cancel in another process and a second run both lose the race cleanly.
            guard let id = intent.id, (try? store.takeIntent(id: id)) == true else { continue }
            do {
                try await perform(intent, written: &written, context)
                try? store.finishIntent(id: id)
            } catch {
                guard let reason = finalReason(error) else {
                    try? store.requeueIntent(id: id)
                    return
                }
                try? store.finishIntent(id: id, error: reason)
            }
        }
    }

    private static func perform(_ intent: Intent, written: inout RosterIntents.Written, _ context: FeatureContext) async throws {
        switch intent.kind {
        case .rosterAdd, .rosterEdit, .rosterRemove, .accept, .deny:
            try await RosterIntents.perform(intent, written: &written, context)
        case .block, .unblock:
            try await BlockingFeature.perform(intent, context)
        case .detailsRefresh:
            guard let jid = JID(validating: intent.target) else { throw Refusal("invalid JID") }
            await ContactDetails.refresh(jid, context)
        case .vcard:
            let args = intent.arguments
            guard let field = args.field.flatMap(VCard.Field.init(rawValue:)) else { throw Refusal("unknown vCard field") }
            let value = args.text ?? ""
            _ = try await ContactDetails.setOwnVCard(field, to: value, context)
        case .roomSubject, .roomNick, .roomKick, .roomBan, .roomInvite, .roomConfig:
            try await RoomActions.carryOut(intent, context)
        case .file:
            try await FileSending.carryOut(intent, context)
        }
    }

    /// Why the intent failed for good, or nil when the link went away and it may be tried again.
    private static func finalReason(_ error: any Error) -> String? {
        switch error {
        case let refusal as Refusal: return refusal.reason
        case let error as StanzaError: return error.description
        case let error as RoomActionError:
            if case .offline = error { return nil }
            return error.description
        default: return nil
        }
    }
}

extension SyncEngine {
    /// Carries out the ready intents now, rather than at the next poll (a shell that owns the
    /// connection, right after storing one).
    public func runIntents() async {
        guard let context = featureContext() else { return }
        await Intents.carryOutInTurn(context)
    }
}
