import Foundation
import Synchronization
import Testing
@testable import Sync

/// The engine's bounded event channel: what is kept without a consumer, and when producers wait.
@Suite struct EventChannelTests {
    /// Set by a producer once its wait for room has returned.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// Gives a task that may be about to suspend time to do so, then reports whether `flag` is set.
    func settled(_ flag: Flag) async -> Bool {
        for _ in 0..<20 { await Task.yield() }
        try? await Task.sleep(for: .milliseconds(50))
        return flag.isSet
    }

    @Test func withoutConsumerOnlyTheNewestAreKeptAndNobodyWaits() async {
        let channel = EventChannel<Int>(capacity: 3)
        for n in 1...10 { channel.yield(n) }
        await channel.waitForRoom()
        var iterator = channel.sequence.makeAsyncIterator()
        #expect(await iterator.next() == 8)
        #expect(await iterator.next() == 9)
        #expect(await iterator.next() == 10)
    }

    @Test func aLaggingConsumerHoldsTheProducerUntilItCatchesUp() async {
        let channel = EventChannel<Int>(capacity: 2)
        var iterator = channel.sequence.makeAsyncIterator()
        for n in 1...5 { channel.yield(n) }
        let released = Flag()
        let producer = Task {
            await channel.waitForRoom()
            released.set()
        }
        #expect(await settled(released) == false)
        #expect(await iterator.next() == 1)
        #expect(await iterator.next() == 2)
        #expect(await settled(released) == false, "3 left: still over the bound of 2")
        #expect(await iterator.next() == 3)
        await producer.value
        #expect(released.isSet)
        #expect(await iterator.next() == 4)
        #expect(await iterator.next() == 5)
    }

    @Test func aConsumerThatStopsListeningReleasesTheProducer() async {
        let channel = EventChannel<Int>(capacity: 2)
        var iterator: EventChannel<Int>.Events.Iterator? = channel.sequence.makeAsyncIterator()
        for n in 1...6 { channel.yield(n) }
        let released = Flag()
        let producer = Task {
            await channel.waitForRoom()
            released.set()
        }
        #expect(await settled(released) == false)
        #expect(await iterator?.next() == 1)
        iterator = nil
        await producer.value
        // Without a consumer, the newest events stay for the next one.
        var next = channel.sequence.makeAsyncIterator()
        #expect(await next.next() == 5)
    }

    @Test func cancellingAWaitingConsumerEndsItsSequence() async {
        let channel = EventChannel<Int>(capacity: 2)
        let consumer = Task { () -> [Int] in
            var seen: [Int] = []
            for await n in channel.sequence { seen.append(n) }
            return seen
        }
        channel.yield(1)
        try? await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        #expect(await consumer.value == [1])
        channel.yield(2)
        await channel.waitForRoom()
    }

    @Test func aWaitingConsumerGetsEachEventInOrder() async {
        let channel = EventChannel<Int>(capacity: 4)
        let listening = Flag()
        let consumer = Task { () -> [Int] in
            var seen: [Int] = []
            for await n in channel.sequence {
                seen.append(n)
                listening.set()
                if n == 1_000 { break }
            }
            return seen
        }
        channel.yield(0)
        while !listening.isSet { try? await Task.sleep(for: .milliseconds(5)) }
        for n in 1...1_000 {
            channel.yield(n)
            await channel.waitForRoom()
        }
        #expect(await consumer.value == Array(0...1_000))
    }
}
