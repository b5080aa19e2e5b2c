import XMPP

/// When to try connecting again: exponential backoff with full jitter and a cap.
///
/// Pure: the random source and attempt count come in, a delay comes out.
public struct ReconnectPolicy: Sendable {
    /// What went wrong, which decides how far the delay may grow.
    public enum Failure: Sendable {
        /// The server could not be reached at all.
        case unreachable
        /// The server answered and the link died (TLS, negotiation or a live session was cut).
        case linkLost
        /// The server broke the protocol (`ConnectionError.isProtocolFault`): it will again.
        case serverFault
    }

    public var base: Duration = .milliseconds(500)
    public var cap: Duration = .seconds(60)
    /// The cap while the server keeps answering and the link keeps dying (a flaky network):
    /// backing off for a minute there would only leave the outbox waiting.
    public var linkCap: Duration = .seconds(4)
    /// The cap for a server that keeps breaking the protocol, typically right after each
    /// login: minutes, so it is never a reconnect loop (DESIGN §6).
    public var faultCap: Duration = .seconds(300)
    public private(set) var failures = 0

    public init(
        base: Duration = .milliseconds(500), cap: Duration = .seconds(60), linkCap: Duration = .seconds(4),
        faultCap: Duration = .seconds(300)
    ) {
        self.base = base
        self.cap = cap
        self.linkCap = linkCap
        self.faultCap = faultCap
    }

    /// The delay before the next attempt after one more failure.
    public mutating func nextDelay(
        after failure: Failure = .unreachable, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let limit =
            switch failure {
            case .unreachable: cap
            case .linkLost: min(cap, linkCap)
            case .serverFault: faultCap
            }
        let ceiling = min(limit, base * (1 << exponent))
        // Full jitter keeps many clients from reconnecting in lockstep after a server restart.
        let fraction = random(0.5...1.0)
        return ceiling * fraction
    }

    public mutating func reset() { failures = 0 }
}

extension ReconnectPolicy.Failure {
    /// How an error that ended a connection (or prevented one) counts for the backoff.
    public init(_ error: Error) {
        guard let error = error as? ConnectionError else {
            self = .unreachable
            return
        }
        self = error.isProtocolFault ? .serverFault : error.reachedServer ? .linkLost : .unreachable
    }
}
