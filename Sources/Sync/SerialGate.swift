/// Runs async sections one at a time, in the order they arrive.
///
/// A fetch's reply reaches the awaiting feature through the connection's request routing,
/// while pushes sent after it come through the engine's stanza loop, so a push can be
/// applied before the older fetch result is written, and then be overwritten by it. A
/// feature holds the gate across "request, then store the result" and while it applies
/// pushes; the server only pushes after answering our request, so the order is right again.
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Whether a section runs now (a periodic caller may skip its turn rather than queue).
    var isBusy: Bool { busy }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()  // the gate passes straight to the next in line
        }
    }
}
