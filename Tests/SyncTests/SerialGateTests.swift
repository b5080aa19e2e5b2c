import Testing
@testable import Sync

private actor Log {
    var entries: [String] = []
    func add(_ entry: String) { entries.append(entry) }
}

@Suite struct SerialGateTests {
    /// A push handled while a fetch holds the gate waits for the fetch to store its result.
    @Test func gate__runs_sections_one_at_a_time_in_arrival_order() async {
        let gate = SerialGate()
        let log = Log()
        let (inside, signal) = AsyncStream<Void>.makeStream()
        let fetch = Task {
            await gate.run {
                await log.add("fetch sent")
                signal.yield()
                try? await Task.sleep(for: .milliseconds(100))  // the reply is on its way
                await log.add("fetch stored")
            }
        }
        for await _ in inside { break }
        let pushes = (1...3).map { n in
            Task { await gate.run { await log.add("push \(n)") } }
        }
        await fetch.value
        for push in pushes { await push.value }
        let entries = await log.entries
        #expect(Array(entries.prefix(2)) == ["fetch sent", "fetch stored"], "nothing runs inside a held gate")
        #expect(Set(entries.dropFirst(2)) == ["push 1", "push 2", "push 3"])
    }

    @Test func gate__passes_on_values_and_stays_usable() async {
        let gate = SerialGate()
        #expect(await gate.run { 1 } == 1)
        #expect(await gate.run { "again" } == "again")
    }
}
