/// RFC 6120 §3.2 (the TCP connection under the stream), broken on purpose: issue 5's fault proxy.
///
/// A raw byte pump between tern and the test server that can cut connections (at random moments,
/// or after an exact number of bytes, so mid-stanza), stall them, and refuse new ones. It never
/// parses what it forwards, so STARTTLS passes through untouched and tern still verifies the
/// certificate against the XMPP domain, not the proxy.
///
/// Threads: one accepts, one per connection pumps both directions with poll(). Controls only change
/// state under a mutex and `shutdown()` sockets to wake pollers; a descriptor is closed only by the
/// thread that polls it, after it left the shared table, so a reused number is never touched.
import Dispatch
import Foundation
import Glibc
import Synchronization

enum FaultProxyError: Error, CustomStringConvertible {
    case systemCall(String, errno: Int32)
    case resolveFailed(host: String, reason: String)

    var description: String {
        switch self {
        case .systemCall(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .resolveFailed(let host, let reason): "cannot resolve '\(host)': \(reason)"
        }
    }
}

/// Compiler-checked `Sendable` (stronger than `@unchecked`): every mutable field lives in
/// `Core.state`, a `Mutex`, and the rest is immutable. Threads hold `Core`, not the proxy, so
/// dropping the last reference runs `deinit`, which stops everything.
final class FaultProxy: Sendable {
    /// The local port to give tern instead of the server's.
    let port: UInt16
    private let core: Core

    init(upstreamHost: String, upstreamPort: UInt16) throws {
        let upstream = try UpstreamAddress(host: upstreamHost, port: upstreamPort)
        let listener = try Self.listen()
        port = listener.port
        core = Core(listener: listener.fd, upstream: upstream)
        core.threads.enter()
        Thread { [core] in core.acceptLoop() }.start()
    }

    deinit { core.stop() }

    /// Connections accepted, refused ones included.
    var connectionsAccepted: Int { core.state.withLock { $0.accepted } }
    /// Connections this proxy killed (cuts and byte limits, not `stop()`).
    var cuts: Int { core.state.withLock { $0.cuts } }
    var liveConnections: Int { core.state.withLock { $0.connections.count } }

    /// Kills every live connection: both peers see EOF at once, then a reset.
    func cutAll() { core.cutAll() }

    /// Calls `cutAll` at random intervals within `interval` until `stopCutting` or `stop`.
    func cutRandomly(every interval: ClosedRange<Duration>) {
        let generation = core.state.withLock { state in
            state.cutterGeneration += 1
            return state.cutterGeneration
        }
        // At least 1 ms apart, so a zero range cannot spin.
        let low = max(interval.lowerBound.nanoseconds, 1_000_000), high = max(interval.upperBound.nanoseconds, low)
        Thread { [core] in
            while true {
                Thread.sleep(forTimeInterval: Double(Int64.random(in: low...high)) / 1e9)
                // A stale cutter wakes once more and leaves without cutting.
                guard core.cutAll(ifGeneration: generation) else { return }
            }
        }.start()
    }

    func stopCutting() { core.state.withLock { $0.cutterGeneration += 1 } }

    /// Cuts a connection once it has forwarded exactly `bytes` more bytes from the server to the
    /// client (counted from now, or from its start). With `once`, only the first connection to get
    /// there dies; otherwise every one does until `cancelCutAfter`.
    func cutAfter(bytes: Int, once: Bool = true) {
        core.state.withLock { state in
            state.cutAfter = (max(bytes, 0), once)
            for id in state.connections.keys { state.connections[id]?.downstreamSinceArm = 0 }
        }
    }

    func cancelCutAfter() { core.state.withLock { $0.cutAfter = nil } }

    /// While on, no byte moves either way; the kernel buffers it and connections stay open.
    func stall(_ on: Bool) { core.state.withLock { $0.stalled = on } }

    /// The connections open now go silent for good (open, but nothing moves); later ones work:
    /// a server that stops answering on one link while a new link would be fine.
    func stallExisting() {
        core.state.withLock { state in
            for id in state.connections.keys { state.connections[id]?.stalled = true }
        }
    }

    /// While on, new connections are accepted and reset at once; live ones are unaffected.
    func refuse(_ on: Bool) { core.state.withLock { $0.refusing = on } }

    /// Closes the listener and every connection, and waits (up to 2 s) for the threads to end.
    func stop() { core.stop() }

    private static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FaultProxyError.systemCall("socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
        address.sin_port = 0  // ephemeral: parallel tests never collide
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let failure: FaultProxyError? = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                if bind(fd, raw, length) != 0 { return .systemCall("bind", errno: errno) }
                if Glibc.listen(fd, 64) != 0 { return .systemCall("listen", errno: errno) }
                if getsockname(fd, raw, &length) != 0 { return .systemCall("getsockname", errno: errno) }
                return nil
            }
        }
        if let failure {
            _ = close(fd)
            throw failure
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }
}

/// The server's address, resolved once so each connection only needs socket() and connect().
private struct UpstreamAddress: Sendable {
    let family: Int32
    let bytes: [UInt8]

    init(host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list, let address = first.pointee.ai_addr else {
            throw FaultProxyError.resolveFailed(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }
        family = first.pointee.ai_family
        bytes = Array(UnsafeRawBufferPointer(start: address, count: Int(first.pointee.ai_addrlen)))
    }

    /// A connected socket, or nil; the caller resets the client, which is just another fault.
    func connect() -> Int32? {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        // EINTR would leave the connect running in the background: treated as a failure too.
        let rc = bytes.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            return Glibc.connect(fd, base.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard rc == 0, noDelay(fd) else {
            _ = close(fd)
            return nil
        }
        return fd
    }
}

private struct Connection {
    let client: Int32
    let upstream: Int32
    var cut = false
    var stalled = false
    var downstreamSinceArm = 0
}

private struct ProxyState {
    var connections: [Int: Connection] = [:]
    var nextID = 0
    var accepted = 0
    var cuts = 0
    var stalled = false
    var refusing = false
    var stopped = false
    var cutterGeneration = 0
    var cutAfter: (bytes: Int, once: Bool)?
}

private final class Core: Sendable {
    let state = Mutex(ProxyState())
    let threads = DispatchGroup()
    let listener: Int32
    let upstream: UpstreamAddress

    init(listener: Int32, upstream: UpstreamAddress) {
        self.listener = listener
        self.upstream = upstream
    }

    /// False, cutting nothing, once `generation` is stale (a stopped random cutter).
    @discardableResult
    func cutAll(ifGeneration generation: Int? = nil) -> Bool {
        state.withLock { state in
            // Checked under the same lock as the cut, so stopCutting() is final when it returns.
            if let generation, state.stopped || state.cutterGeneration != generation { return false }
            for (id, connection) in state.connections where !connection.cut {
                state.connections[id]?.cut = true
                state.cuts += 1
                shutdownBoth(connection)
            }
            return true
        }
    }

    func stop() {
        let wasRunning = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.stopped = true
            state.cutterGeneration += 1
            // Inside the lock: the accept thread closes the listener only after it sees `stopped`.
            _ = shutdown(listener, Int32(SHUT_RDWR))
            for connection in state.connections.values { shutdownBoth(connection) }
            return true
        }
        if wasRunning { _ = threads.wait(timeout: .now() + 2) }
    }

    /// Leaves only once `stopped` is seen, so `stop()` can never shut down a closed listener.
    func acceptLoop() {
        defer {
            _ = close(listener)
            threads.leave()
        }
        while !state.withLock({ $0.stopped }) {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 50)  // the timeout bounds how long a stop goes unseen
            guard ready > 0 else {
                if ready < 0 && errno != EINTR { usleep(10_000) }
                continue
            }
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                // EINVAL after stop()'s shutdown; EMFILE and friends: back off instead of spinning.
                if errno != EINTR && errno != ECONNABORTED { usleep(10_000) }
                continue
            }
            // Glibc does not export accept4, so close-on-exec comes one call later.
            guard fcntl(client, F_SETFD, FD_CLOEXEC) == 0 else {
                abort(client)
                continue
            }
            admit(client)
        }
    }

    private func admit(_ client: Int32) {
        let refusing = state.withLock { state in
            state.accepted += 1
            return state.refusing || state.stopped
        }
        guard !refusing, noDelay(client), let upstream = upstream.connect() else {
            abort(client)
            return
        }
        let id: Int? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.nextID += 1
            state.connections[state.nextID] = Connection(client: client, upstream: upstream)
            return state.nextID
        }
        guard let id else {
            abort(client)
            abort(upstream)
            return
        }
        threads.enter()
        Thread { [self] in pump(id: id, client: client, upstream: upstream) }.start()
    }

    private enum Step { case forward(downstreamLimit: Int?), hold, kill }

    private func step(_ id: Int) -> Step {
        state.withLock { state in
            guard !state.stopped, let connection = state.connections[id], !connection.cut else { return .kill }
            if state.stalled || connection.stalled { return .hold }
            return .forward(downstreamLimit: state.cutAfter.map { max($0.bytes - connection.downstreamSinceArm, 0) })
        }
    }

    /// Moves bytes both ways until both peers closed, or the connection is killed.
    private func pump(id: Int, client: Int32, upstream: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var readOpen = [true, true]  // [client→server, server→client]
        var killed = false
        pumping: while readOpen[0] || readOpen[1] {
            var entries = [
                pollfd(fd: readOpen[0] ? client : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: readOpen[1] ? upstream : -1, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&entries, 2, 50)
            if ready < 0 && errno != EINTR {
                killed = true
                break
            }
            // Checked after poll, so a stall or cut set while we waited takes effect before any read.
            switch step(id) {
            case .kill:
                killed = true
                break pumping
            case .hold:
                _ = poll(nil, 0, 20)  // a plain sleep: pending data would make a socket poll spin
                continue
            case .forward(let limit):
                guard ready > 0 else { continue }
                for side in 0..<2 where entries[side].revents != 0 {
                    let (from, to) = side == 0 ? (client, upstream) : (upstream, client)
                    let cap = side == 1 ? min(buffer.count, limit ?? buffer.count) : buffer.count
                    if cap == 0 {  // the byte limit is already reached (e.g. armed with 0)
                        killed = recordDownstream(id, 0)
                        if killed { break pumping }
                        continue
                    }
                    let count = receive(from, &buffer, cap)
                    // Counted before sending: once the client has the bytes, a new arm must not see them.
                    let limitReached = count > 0 && side == 1 && recordDownstream(id, count)
                    guard count >= 0, sendAll(to, buffer, count), !limitReached else {
                        killed = true
                        break pumping
                    }
                    if count == 0 {
                        // Pass the half-close on; ENOTCONN after a peer reset is harmless.
                        readOpen[side] = false
                        _ = shutdown(to, Int32(SHUT_WR))
                    }
                }
            }
        }
        state.withLock { _ = $0.connections.removeValue(forKey: id) }
        if killed {
            abort(client)
            abort(upstream)
        } else {
            _ = close(client)
            _ = close(upstream)
        }
        threads.leave()
    }

    /// Counts bytes bound for the client; true when they reach the armed limit (now a cut).
    private func recordDownstream(_ id: Int, _ count: Int) -> Bool {
        state.withLock { state in
            guard var connection = state.connections[id] else { return true }
            connection.downstreamSinceArm += count
            defer { state.connections[id] = connection }
            guard let arm = state.cutAfter, connection.downstreamSinceArm >= arm.bytes else { return false }
            connection.cut = true
            state.cuts += 1
            if arm.once { state.cutAfter = nil }
            return true
        }
    }
}

/// Wakes the pump (its poll sees EOF) and sends FIN to both peers now; the pump then resets.
private func shutdownBoth(_ connection: Connection) {
    // ENOTCONN when a peer already reset: nothing left to wake.
    _ = shutdown(connection.client, Int32(SHUT_RDWR))
    _ = shutdown(connection.upstream, Int32(SHUT_RDWR))
}

/// Closes with SO_LINGER 0, so the peer gets an RST: an abrupt loss, not a polite close.
private func abort(_ fd: Int32) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    // If this fails the close below is merely polite (FIN); the connection still dies.
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    _ = close(fd)
}

/// Stanzas are small: Nagle must not add delays that the real server would not.
private func noDelay(_ fd: Int32) -> Bool {
    var one: Int32 = 1
    return setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0
}

/// Bytes read, 0 at EOF, -1 on error (a reset, usually).
private func receive(_ fd: Int32, _ buffer: inout [UInt8], _ capacity: Int) -> Int {
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, capacity, 0) }
        if count >= 0 { return count }
        if errno != EINTR { return -1 }
    }
}

/// MSG_NOSIGNAL: a vanished peer is an error, not a SIGPIPE that kills the test process.
private func sendAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
    var offset = 0
    while offset < count {
        let sent = buffer.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, count - offset, Int32(MSG_NOSIGNAL)) }
        if sent < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += sent
    }
    return true
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
