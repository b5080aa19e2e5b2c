import Synchronization

/// The engine's events on their way to their consumer (the shell, `sync --watch`), bounded:
/// memory does not grow with the backlog (DESIGN §7).
///
/// Handing an event over never blocks, so the engine can emit from anywhere. Instead the
/// engine waits for room between bursts and between archive pages (`waitForRoom`): a
/// consumer that falls behind slows the engine, and through the read-ahead limit the socket.
/// A consumer is there while its iterator lives. While none is, only the newest `capacity`
/// events are kept: a one-shot command that never listens must not collect a whole
/// catch-up, and a consumer that comes (or comes back) later still finds the latest.
public final class EventChannel<Event: Sendable>: Sendable {
    private struct State {
        var buffer: [Event] = []
        /// Index of the oldest event in `buffer`; the front is compacted away now and then.
        var head = 0
        var consumers = 0
        var waitingConsumer: CheckedContinuation<Event?, Never>?
        var waitingProducers: [CheckedContinuation<Void, Never>] = []

        var count: Int { buffer.count - head }

        mutating func popFirst() -> Event? {
            guard head < buffer.count else { return nil }
            let event = buffer[head]
            head += 1
            if head >= 1024, head * 2 >= buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return event
        }

        mutating func dropOldest(beyond capacity: Int) {
            while count > capacity { _ = popFirst() }
        }

        /// The producers to wake when the buffer is back within `capacity`.
        mutating func producersToWake(capacity: Int) -> [CheckedContinuation<Void, Never>] {
            guard consumers == 0 || count <= capacity else { return [] }
            defer { waitingProducers = [] }
            return waitingProducers
        }
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Hands `event` to the waiting consumer, or queues it.
    func yield(_ event: Event) {
        let consumer: CheckedContinuation<Event?, Never>? = state.withLock { state in
            if let consumer = state.waitingConsumer {
                state.waitingConsumer = nil
                return consumer
            }
            state.buffer.append(event)
            if state.consumers == 0 { state.dropOldest(beyond: capacity) }
            return nil
        }
        consumer?.resume(returning: event)
    }

    /// Returns once the consumer has no more than `capacity` events to take, or has gone.
    func waitForRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let full = state.withLock { state in
                guard state.consumers > 0, state.count > capacity else { return false }
                state.waitingProducers.append(continuation)
                return true
            }
            if !full { continuation.resume() }
        }
    }

    /// The events as a sequence. Its iterator is the consumer: it counts from its making to its end.
    var sequence: Events { Events(channel: self) }

    public struct Events: AsyncSequence, Sendable {
        let channel: EventChannel

        public func makeAsyncIterator() -> Iterator {
            Iterator(consumer: Consumer(channel: channel))
        }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: Consumer

            public mutating func next() async -> Event? {
                await consumer.channel.next()
            }
        }
    }

    /// One listening consumer, from its iterator's making until the iterator is gone.
    public final class Consumer: Sendable {
        let channel: EventChannel

        init(channel: EventChannel) {
            self.channel = channel
            channel.state.withLock { $0.consumers += 1 }
        }

        deinit {
            let producers = channel.state.withLock { state in
                state.consumers -= 1
                if state.consumers == 0 { state.dropOldest(beyond: channel.capacity) }
                return state.producersToWake(capacity: channel.capacity)
            }
            for producer in producers { producer.resume() }
        }
    }

    /// The next event; nil once the consuming task is cancelled.
    private func next() async -> Event? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Event?, Never>) in
                let (event, ready, producers) = state.withLock { state -> (Event?, Bool, [CheckedContinuation<Void, Never>]) in
                    // Checked under the lock the cancel handler takes: either it finds the
                    // stored continuation, or this sees the cancellation.
                    guard !Task.isCancelled else { return (nil, true, []) }
                    guard let event = state.popFirst() else {
                        state.waitingConsumer = continuation
                        return (nil, false, [])
                    }
                    return (event, true, state.producersToWake(capacity: capacity))
                }
                for producer in producers { producer.resume() }
                if ready { continuation.resume(returning: event) }
            }
        } onCancel: {
            let consumer = state.withLock { state in
                defer { state.waitingConsumer = nil }
                return state.waitingConsumer
            }
            consumer?.resume(returning: nil)
        }
    }
}
