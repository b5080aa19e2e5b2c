/// When to try connecting again: exponential backoff with full jitter and a cap.
///
/// Pure: the random source and attempt count come in, a delay comes out.
public struct ReconnectPolicy: Sendable {
    public var base: Duration = .milliseconds(500)
    public var cap: Duration = .seconds(60)
    /// The cap while the server keeps answering and the link keeps dying (a flaky network):
    /// backing off for a minute there would only leave the outbox waiting.
    public var linkCap: Duration = .seconds(4)
    public private(set) var failures = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(60), linkCap: Duration = .seconds(4)) {
        self.base = base
        self.cap = cap
        self.linkCap = linkCap
    }

    /// The delay before the next attempt after one more failure. `serverReached` says the
    /// server answered before the link failed (TLS, negotiation or a live session was cut).
    public mutating func nextDelay(
        serverReached: Bool = false, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let ceiling = min(serverReached ? min(cap, linkCap) : cap, base * (1 << exponent))
        // Full jitter keeps many clients from reconnecting in lockstep after a server restart.
        let fraction = random(0.5...1.0)
        return ceiling * fraction
    }

    public mutating func reset() { failures = 0 }
}
