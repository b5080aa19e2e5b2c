/// When to try connecting again: exponential backoff with full jitter and a cap.
///
/// Pure: the random source and attempt count come in, a delay comes out.
public struct ReconnectPolicy: Sendable {
    public var base: Duration = .seconds(1)
    public var cap: Duration = .seconds(60)
    public private(set) var failures = 0

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    /// The delay before the next attempt after one more failure.
    public mutating func nextDelay(random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let ceiling = min(cap, base * (1 << exponent))
        // Full jitter keeps many clients from reconnecting in lockstep after a server restart.
        let fraction = random(0.5...1.0)
        return ceiling * fraction
    }

    public mutating func reset() { failures = 0 }
}
