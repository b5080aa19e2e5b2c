/// When to try connecting again: exponential backoff with full jitter and a cap.
///
/// Pure: the random source, attempt counts and how sessions ended come in, a delay comes out.
///
/// Two kinds of trouble back off differently. A network that fails (no route, cuts) backs
/// off to `cap`, or only to `linkCap` while the server keeps answering, so a flaky link does
/// not leave the outbox waiting. A session the server itself ends soon after each login
/// (bad XML, a stream error, a close) is no network fault, and reconnecting at once would
/// only fail again: from the second time in a row the wait starts at `loginLoopBase` and
/// doubles up to `loginLoopCap`, until a session lasts `stableAfter` (DESIGN §6).
public struct ReconnectPolicy: Sendable {
    public var base: Duration = .milliseconds(500)
    public var cap: Duration = .seconds(60)
    /// The cap while the server keeps answering and the link keeps dying (a flaky network):
    /// backing off for a minute there would only leave the outbox waiting.
    public var linkCap: Duration = .seconds(4)
    public var stableAfter: Duration = .seconds(60)
    public var loginLoopBase: Duration = .seconds(15)
    public var loginLoopCap: Duration = .seconds(900)
    public private(set) var failures = 0
    /// Sessions in a row that the server ended within `stableAfter` of login.
    public private(set) var failuresAfterLogin = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(60), linkCap: Duration = .seconds(4)) {
        self.base = base
        self.cap = cap
        self.linkCap = linkCap
    }

    /// Whether the server keeps ending sessions right after login.
    public var isLoopingAfterLogin: Bool { failuresAfterLogin >= 2 }

    /// A login succeeded: the network works, so its backoff starts over.
    public mutating func connected() { failures = 0 }

    /// A session ended after `lasted`; `serverFault` says the server ended it (as opposed
    /// to the link dying under it).
    public mutating func sessionEnded(lasted: Duration, serverFault: Bool) {
        if lasted >= stableAfter {
            failuresAfterLogin = 0
        } else if serverFault {
            failuresAfterLogin += 1
        }
    }

    /// The delay before the next attempt after one more failure. `serverReached` says the
    /// server answered before the link failed (TLS, negotiation or a live session was cut).
    public mutating func nextDelay(
        serverReached: Bool = false, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        failures += 1
        let ceiling: Duration
        if isLoopingAfterLogin {
            ceiling = min(loginLoopCap, loginLoopBase * (1 << min(failuresAfterLogin - 2, 16)))
        } else {
            let exponent = min(failures - 1, 16)
            ceiling = min(serverReached ? min(cap, linkCap) : cap, base * (1 << exponent))
        }
        // Full jitter keeps many clients from reconnecting in lockstep after a server restart.
        let fraction = random(0.5...1.0)
        return ceiling * fraction
    }
}
