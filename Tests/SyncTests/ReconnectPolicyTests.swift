import Testing
import XMPP
@testable import Sync

/// Backoff after failures that follow a successful login (DESIGN §6: a failure that repeats
/// right after each login is not a network fault).
@Suite struct ReconnectPolicyTests {
    let top: (ClosedRange<Double>) -> Double = { $0.upperBound }

    @Test func serverFaults_rightAfterLogin__growToMinutes_afterTheSecond() {
        var policy = ReconnectPolicy()
        var delays: [Duration] = []
        for _ in 0..<9 {
            policy.connected()
            policy.sessionEnded(lasted: .seconds(1), serverFault: true)
            delays.append(policy.nextDelay(serverReached: true, random: top))
        }
        // The first looks like any hiccup; from the second on it is a loop, not the network.
        #expect(delays == [0.5, 15, 30, 60, 120, 240, 480, 900, 900].map { Duration.milliseconds(Int64($0 * 1000)) })
        #expect(policy.failuresAfterLogin == 9)
    }

    @Test func aSessionThatLasted__forgetsEveryEarlierFailure() {
        var policy = ReconnectPolicy()
        for _ in 0..<4 {
            policy.connected()
            policy.sessionEnded(lasted: .seconds(2), serverFault: true)
            _ = policy.nextDelay(serverReached: true, random: top)
        }
        policy.connected()
        policy.sessionEnded(lasted: .seconds(120), serverFault: true)
        #expect(policy.failuresAfterLogin == 0)
        #expect(policy.nextDelay(serverReached: true, random: top) == .milliseconds(500))
    }

    /// A link cut every second both ways must still reconnect within seconds.
    @Test func networkCuts_rightAfterLogin__keepTheShortLinkCap() {
        var policy = ReconnectPolicy()
        var delays: [Duration] = []
        for _ in 0..<8 {
            policy.connected()
            policy.sessionEnded(lasted: .seconds(1), serverFault: false)
            delays.append(policy.nextDelay(serverReached: true, random: top))
        }
        #expect(delays.allSatisfy { $0 <= .seconds(4) })
        #expect(policy.failuresAfterLogin == 0)
    }

    @Test func aNetworkCut_betweenServerFaults__doesNotResetTheLoop() {
        var policy = ReconnectPolicy()
        policy.connected()
        policy.sessionEnded(lasted: .seconds(1), serverFault: true)
        _ = policy.nextDelay(serverReached: true, random: top)
        // The server cannot be reached for a while: ordinary backoff, the count stands.
        _ = policy.nextDelay(serverReached: false, random: top)
        policy.connected()
        policy.sessionEnded(lasted: .seconds(1), serverFault: true)
        #expect(policy.failuresAfterLogin == 2)
        #expect(policy.nextDelay(serverReached: true, random: top) == .seconds(15))
    }
}

/// Which ends of a session count as the server's own doing for the after-login backoff.
@Suite struct ServerFaultTests {
    @Test func aServerThatRefusesWhatWeSent__isAServerFault() {
        #expect(ConnectionError.stream(StreamError(condition: "policy-violation")).isServerFault)
        #expect(ConnectionError.parser(.restrictedXML("comment")).isServerFault)
    }

    /// Prosody 0.12 feeds a cut connection's last bytes into the resumed stream and then calls
    /// it not-well-formed: with a link cut every second that is the link's doing, not a loop.
    @Test func notWellFormed_orATimeout_fromTheServer__isTheLinks() {
        #expect(!ConnectionError.stream(StreamError(condition: "not-well-formed")).isServerFault)
        #expect(!ConnectionError.stream(StreamError(condition: "connection-timeout")).isServerFault)
        #expect(!ConnectionError.transport("reset").isServerFault)
    }
}
