import Foundation
import Glibc
import Synchronization
import Testing

/// Issue 5's fault proxy on its own, in front of a local echo server (no Prosody, no environment):
/// every fault the integration tests rely on is shown to happen, and to stop when asked.
@Suite("FaultProxy") struct FaultProxyTests {
    let echo: EchoServer
    let proxy: FaultProxy

    init() throws {
        echo = try EchoServer()
        proxy = try FaultProxy(upstreamHost: "127.0.0.1", upstreamPort: echo.port)
    }

    @Test func forwarding__round_trips_bytes_both_ways__when_no_fault_is_set() throws {
        let client = try RawClient(port: proxy.port)
        // Larger than one pump buffer, so several reads and writes happen on each side.
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try client.send(payload)
        #expect(try client.receive(count: payload.count) == payload)
        #expect(proxy.connectionsAccepted == 1)
        #expect(proxy.cuts == 0)
        proxy.stop()
    }

    @Test func cutAll__ends_a_live_connection__and_counts_it() throws {
        let client = try RawClient(port: proxy.port)
        try client.roundTrip("before")
        proxy.cutAll()
        #expect(client.waitForEnd(), "the client still had a connection after cutAll")
        #expect(proxy.cuts == 1)
        // The proxy itself keeps serving.
        try RawClient(port: proxy.port).roundTrip("after")
        proxy.stop()
    }

    @Test func cutAfter__delivers_exactly_n_bytes_then_cuts__once() throws {
        let client = try RawClient(port: proxy.port)
        try client.roundTrip("warm-up")
        proxy.cutAfter(bytes: 10)
        try client.send(Array("<message><body>hi</body></message>".utf8))
        // Exactly the first 10 bytes, then the connection ends: a stanza cut in half.
        #expect(try client.receive(count: 10) == Array("<message><".utf8))
        #expect(client.waitForEnd())
        #expect(proxy.cuts == 1)
        // `once`: the next connection is not limited.
        try RawClient(port: proxy.port).roundTrip("<message><body>whole</body></message>")
        #expect(proxy.cuts == 1)
        proxy.stop()
    }

    @Test func stall__holds_bytes_until_released__keeping_the_connection() throws {
        let client = try RawClient(port: proxy.port)
        try client.roundTrip("before")
        proxy.stall(true)
        try client.send(Array("held".utf8))
        #expect(client.readable(within: .milliseconds(300)) == false, "bytes crossed a stalled proxy")
        proxy.stall(false)
        #expect(try client.receive(count: 4) == Array("held".utf8))
        #expect(proxy.cuts == 0)
        proxy.stop()
    }

    @Test func refuse__ends_new_connections__while_live_ones_keep_working() throws {
        let existing = try RawClient(port: proxy.port)
        try existing.roundTrip("before")
        proxy.refuse(true)
        let refused = try RawClient(port: proxy.port)
        #expect(refused.waitForEnd(), "a connection made while refusing stayed open")
        try existing.roundTrip("during")
        proxy.refuse(false)
        try RawClient(port: proxy.port).roundTrip("after")
        #expect(proxy.connectionsAccepted == 3)
        proxy.stop()
    }

    @Test func cutRandomly__cuts_within_a_second__and_stops_when_asked() throws {
        let client = try RawClient(port: proxy.port)
        try client.roundTrip("before")
        proxy.cutRandomly(every: .milliseconds(50)...(.milliseconds(150)))
        #expect(client.waitForEnd(within: .seconds(1)))
        #expect(proxy.cuts > 0)
        proxy.stopCutting()
        let cutsSoFar = proxy.cuts
        let survivor = try RawClient(port: proxy.port)
        try survivor.roundTrip("one")
        Thread.sleep(forTimeInterval: 0.4)  // well past the range's upper bound
        try survivor.roundTrip("two")
        #expect(proxy.cuts == cutsSoFar)
        proxy.stop()
    }

    @Test func stop__closes_the_listener_and_live_connections() throws {
        let client = try RawClient(port: proxy.port)
        try client.roundTrip("before")
        proxy.stop()
        #expect(client.waitForEnd())
        #expect(throws: FaultProxyTestError.self) { try RawClient(port: proxy.port) }
        #expect(proxy.liveConnections == 0)
    }
}

struct FaultProxyTestError: Error, CustomStringConvertible {
    let description: String
    init(_ call: String, _ code: Int32 = errno) { description = "\(call): \(String(cString: strerror(code)))" }
}

private func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
    address.sin_port = port.bigEndian
    return address
}

private func withSockaddr<T>(_ address: inout sockaddr_in, _ body: (UnsafeMutablePointer<sockaddr>, socklen_t) -> T) -> T {
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A blocking test client; every wait is a bounded poll.
final class RawClient {
    private let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FaultProxyTestError("socket") }
        var address = loopbackAddress(port: port)
        guard withSockaddr(&address, { connect(fd, $0, $1) }) == 0 else {
            let error = FaultProxyTestError("connect")
            _ = close(fd)
            throw error
        }
    }

    deinit { _ = close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno != EINTR { throw FaultProxyTestError("send") }
            offset += max(sent, 0)
        }
    }

    func readable(within timeout: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)) > 0
    }

    /// Exactly `count` bytes, or an error if the connection ends or 5 s pass first.
    func receive(count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: count)
        while result.count < count {
            guard readable(within: .seconds(5)) else { throw FaultProxyTestError("receive timed out", ETIMEDOUT) }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - result.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw FaultProxyTestError("receive ended after \(result.count) bytes", n == 0 ? 0 : errno) }
            result += chunk[0..<n]
        }
        return result
    }

    func roundTrip(_ text: String) throws {
        let bytes = Array(text.utf8)
        try send(bytes)
        let echoed = try receive(count: bytes.count)
        guard echoed == bytes else { throw FaultProxyTestError("echo mismatch for \(text)", 0) }
    }

    /// True once a read reports EOF or a reset (the connection is gone) within `timeout`.
    func waitForEnd(within timeout: Duration = .seconds(2)) -> Bool {
        var scratch = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard readable(within: .milliseconds(50)) else { continue }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno != EINTR) { return true }
        }
        return false
    }
}

/// Echoes every byte back on each connection, one thread per connection.
final class EchoServer: Sendable {
    let port: UInt16
    private let stopped = StopFlag()

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FaultProxyTestError("socket") }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withSockaddr(&address) { pointer, size in
            bind(fd, pointer, size) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
        }
        guard ok else {
            let error = FaultProxyTestError("echo server setup")
            _ = close(fd)
            throw error
        }
        port = UInt16(bigEndian: address.sin_port)
        let flag = stopped
        Thread { EchoServer.acceptLoop(listener: fd, stopped: flag) }.start()
    }

    deinit { stopped.set() }

    /// Shared with the accept thread, which must not keep the server itself alive.
    private final class StopFlag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    private static func acceptLoop(listener: Int32, stopped: StopFlag) {
        defer { _ = close(listener) }
        while !stopped.isSet {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // best effort: a leak into a child only delays its EOF
            Thread { echo(fd) }.start()
        }
    }

    /// Until the peer closes or resets; the proxy in front always ends it.
    private static func echo(_ fd: Int32) {
        defer { _ = close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var offset = 0
            while offset < n {
                let sent = buffer.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, n - offset, Int32(MSG_NOSIGNAL)) }
                if sent < 0 && errno != EINTR { return }
                offset += max(sent, 0)
            }
        }
    }
}
