import Foundation
import Store
import Testing
@testable import Sync
@testable import XMPP

/// The saved XEP-0198 session: an unusable one is given up without stranding outbox rows.
@Suite struct StreamSessionTests {
    @Test func inconsistentSavedSession__isForgotten_andItsUnconfirmedRowsAreQueuedAgain() throws {
        let store = try Store(directory: NSTemporaryDirectory() + "tern-sm-\(UUID().uuidString)")
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "tern.t", createdAt: Store.now), credential: nil)
        let item = try Outbox.enqueueChat(store: store, account: account, to: "bob@example.org", body: "in flight")
        // Saved with two stanzas counted but only one queued: a state no machine accepts.
        let broken = StreamManagement.Snapshot(
            id: "sm-1", resumable: true, outbound: 2, lastAcked: 0,
            unacked: [.init(sequence: 1, key: StreamSession.key(outboxID: item.id))])
        try store.markOutboxSent(accountID: account.rowID, ids: [item.id], streamManagementState: StreamSession.encode(broken))

        let machine = StreamSession.restore(store: store, accountID: account.rowID)
        #expect(machine.snapshot.id == nil, "a fresh session instead")
        #expect(try store.streamManagementState(accountID: account.rowID) == nil)
        #expect(try store.outboxItem(id: item.id)?.state == .queued, "the row goes out again rather than stay 'sent' forever")
    }
}
