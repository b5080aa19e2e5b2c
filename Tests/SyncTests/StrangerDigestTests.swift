import Foundation
import Store
import Testing
@testable import Sync

/// A burst of what strangers cause reaches the UI as one summary, a lone one as itself.
@Suite struct StrangerDigestTests {
    let start = ContinuousClock.now

    func request(_ n: Int) -> SyncEvent { .subscriptionRequest(jid: "s\(n)@example.org", message: nil) }

    func presence(_ n: Int) -> SyncEvent {
        .presence(ResourcePresence(accountID: 1, jid: "p\(n)@example.org", resource: "r", available: true, updatedAt: 0))
    }

    @Test func a_lone_request_comes_out_as_itself_once_things_are_quiet() async {
        let digest = StrangerDigest()
        await digest.add([request(1)], refused: 0, accountID: 1, at: start)
        #expect(await digest.due(accountID: 1, at: start + .milliseconds(300)).isEmpty, "held while a burst may follow")
        let out = await digest.due(accountID: 1, at: start + StrangerDigest.quiet)
        #expect(out.count == 1)
        guard case .subscriptionRequest(let jid, _)? = out.first else {
            Issue.record("\(out)")
            return
        }
        #expect(jid == "s1@example.org")
        #expect(await digest.due(accountID: 1, at: start + .seconds(10)).isEmpty, "given once")
    }

    @Test func a_burst_becomes_one_summary_with_counts_and_the_first_senders() async {
        let digest = StrangerDigest()
        for n in 0..<40 {
            await digest.add([request(n)], refused: n >= 30 ? 1 : 0, accountID: 1, at: start + .milliseconds(20 * n))
        }
        await digest.add([presence(1), presence(2)], refused: 0, accountID: 1, at: start + .milliseconds(900))
        #expect(await digest.due(accountID: 1, at: start + .milliseconds(1500)).isEmpty, "still coming in")
        let out = await digest.due(accountID: 1, at: start + .milliseconds(900) + StrangerDigest.quiet)
        #expect(out.count == 1)
        guard case .strangers(let summary)? = out.first else {
            Issue.record("\(out)")
            return
        }
        #expect(summary == StrangerSummary(
            requests: 40, presence: 2, refused: 10, jids: ["s0@example.org", "s1@example.org", "s2@example.org"]))
    }

    @Test func a_flood_that_goes_on_is_one_summary_per_gap_and_accounts_are_apart() async {
        let digest = StrangerDigest()
        var now = start
        var summaries = 0
        // One request every 100 ms for 25 s: summaries at 5 s (held that long), 15 s and 25 s.
        while now <= start + .seconds(25) {
            await digest.add([request(1)], refused: 0, accountID: 1, at: now)
            summaries += await digest.due(accountID: 1, at: now).count
            #expect(await digest.due(accountID: 2, at: now).isEmpty)
            now += .milliseconds(100)
        }
        #expect(summaries == 3)
    }

    @Test func after_a_summary_even_a_lone_request_is_summarised_until_the_flood_is_forgotten() async {
        let digest = StrangerDigest()
        for n in 0...StrangerDigest.maxSingly { await digest.add([request(n)], refused: 0, accountID: 1, at: start) }
        #expect(await digest.due(accountID: 1, at: start + .seconds(1)).count == 1)
        await digest.add([request(9)], refused: 0, accountID: 1, at: start + .seconds(3))
        #expect(await digest.due(accountID: 1, at: start + .seconds(4)).isEmpty, "the next summary waits for the gap")
        let tail = await digest.due(accountID: 1, at: start + .seconds(11))
        guard case .strangers(let summary)? = tail.first else {
            Issue.record("\(tail)")
            return
        }
        #expect(summary.requests == 1)
        // Long after the flood, a lone request is itself again.
        await digest.add([request(10)], refused: 0, accountID: 1, at: start + .seconds(60))
        guard case .subscriptionRequest? = await digest.due(accountID: 1, at: start + .seconds(61)).first else {
            Issue.record("a lone request long after the flood")
            return
        }
    }

    @Test func refused_alone_is_still_told() async {
        let digest = StrangerDigest()
        await digest.add([], refused: 1, accountID: 1, at: start)
        let out = await digest.due(accountID: 1, at: start + StrangerDigest.quiet)
        guard case .strangers(let summary)? = out.first else {
            Issue.record("\(out)")
            return
        }
        #expect(summary.refused == 1)
    }
}
