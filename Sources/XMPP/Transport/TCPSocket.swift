/// RFC 6120 §3.2: the TCP connection under an XML stream, over IPv4 or IPv6.
///
/// I/O for a dedicated I/O thread, never the cooperative pool. Reads block; writes never do
/// (`sendAvailable`), so a peer that stops reading cannot hold the thread (DESIGN §6).
/// `poll(for:wakeFD:timeout:)` lets another thread interrupt a waiting reader or writer
/// through a caller-owned pipe or eventfd; `shutdown()` unblocks a reader stuck inside a read call.
import Glibc

/// Errors of the TCP layer, each carrying what was being attempted.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Name resolution failed (getaddrinfo).
    case dnsFailed(host: String, reason: String)
    /// Every address refused or failed; `reason` lists each attempt.
    case connectFailed(host: String, port: UInt16, reason: String)
    /// No address answered within the timeout.
    case timedOut(host: String, port: UInt16)
    /// The socket is closed (locally, or the peer hung up while writing).
    case closed
    case sendFailed(reason: String)
    case receiveFailed(reason: String)

    public var description: String {
        switch self {
        case .dnsFailed(let host, let reason):
            return "cannot resolve '\(host)': \(reason)"
        case .connectFailed(let host, let port, let reason):
            return "cannot connect to \(host) port \(port): \(reason)"
        case .timedOut(let host, let port):
            return "connecting to \(host) port \(port) timed out"
        case .closed:
            return "connection closed"
        case .sendFailed(let reason):
            return "send failed: \(reason)"
        case .receiveFailed(let reason):
            return "receive failed: \(reason)"
        }
    }
}

/// What a wait on the socket is for.
public enum PollInterest: Sendable, Hashable {
    case reading, writing
}

/// Outcome of waiting on the socket and a wake descriptor.
public enum PollResult: Sendable, Hashable {
    /// The socket has data (or an EOF to read).
    case readable
    /// The socket's send buffer has room again.
    case writable
    /// The wake descriptor became readable; the caller drains it.
    case woken
    case timeout
    /// Error or hang-up with nothing left to read.
    case hangup
}

/// A connected TCP socket. Not `Sendable`: one owner; only `shutdown()` is
/// meant to be called from another thread while a read blocks.
public final class TCPSocket {
    /// -1 once closed.
    public private(set) var fd: Int32

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Resolves `host` (A and AAAA) and tries each address in getaddrinfo's
    /// order (RFC 6724 preference), each with `timeout`.
    public static func connect(host: String, port: UInt16, timeout: Duration) throws(TransportError) -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        if rc != 0 {
            let reason = rc == EAI_SYSTEM ? errnoText(errno) : String(cString: gai_strerror(rc))
            throw .dnsFailed(host: host, reason: reason)
        }
        defer { freeaddrinfo(list) }

        var failures: [String] = []
        var timeouts = 0
        var cursor = list
        while let info = cursor {
            cursor = info.pointee.ai_next
            let address = numericAddress(info.pointee.ai_addr, info.pointee.ai_addrlen)
            switch attempt(info.pointee, timeout: timeout) {
            case .success(let fd):
                return TCPSocket(fd: fd)
            case .failure(let error):
                if error.code == ETIMEDOUT { timeouts += 1 }
                failures.append("\(address): \(errnoText(error.code))")
            }
        }
        if failures.isEmpty { throw .dnsFailed(host: host, reason: "no addresses") }
        if timeouts == failures.count { throw .timedOut(host: host, port: port) }
        throw .connectFailed(host: host, port: port, reason: failures.joined(separator: "; "))
    }

    /// Non-blocking connect bounded by poll, then back to blocking mode.
    private static func attempt(_ info: addrinfo, timeout: Duration) -> Result<Int32, SystemError> {
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        if fd < 0 { return .failure(SystemError(errno)) }
        func fail(_ code: Int32) -> Result<Int32, SystemError> {
            _ = Glibc.close(fd)
            return .failure(SystemError(code))
        }
        let flags = fcntl(fd, F_GETFL)
        if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 { return fail(errno) }

        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return fail(errno) }
            let deadline = ContinuousClock.now + timeout
            while true {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let remaining = milliseconds(deadline - ContinuousClock.now)
                let ready = Glibc.poll(&pfd, 1, max(remaining, 0))
                if ready < 0 {
                    if errno == EINTR { continue }
                    return fail(errno)
                }
                if ready == 0 { return fail(ETIMEDOUT) }
                break
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) != 0 { return fail(errno) }
            if soError != 0 { return fail(soError) }
        }

        if fcntl(fd, F_SETFL, flags) < 0 { return fail(errno) }
        var one: Int32 = 1
        let optSize = socklen_t(MemoryLayout<Int32>.size)
        // XMPP stanzas are small and interactive: don't let Nagle hold them.
        if setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, optSize) != 0 { return fail(errno) }
        // Lets the kernel notice a dead peer on an idle connection.
        if setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, optSize) != 0 { return fail(errno) }
        return .success(fd)
    }

    /// Closes the descriptor; safe to call more than once.
    public func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    /// Shuts both directions down without releasing the descriptor, which
    /// wakes a thread blocked in a read on it. Safe from any thread.
    public func shutdown() {
        let current = fd
        if current >= 0 { _ = Glibc.shutdown(current, Int32(SHUT_RDWR)) }
    }

    /// Writes what the send buffer takes now, without blocking (plaintext phase, before
    /// STARTTLS): the number of bytes written, 0 when the buffer is full (wait with
    /// `poll(for: .writing, …)`).
    public func sendAvailable(_ bytes: UnsafeRawBufferPointer) throws(TransportError) -> Int {
        guard fd >= 0 else { throw .closed }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        while true {
            // MSG_NOSIGNAL: a vanished peer must be an error, not SIGPIPE.
            let n = Glibc.send(fd, base, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case EPIPE, ECONNRESET: throw .closed
            default: throw .sendFailed(reason: Self.errnoText(errno))
            }
        }
    }

    /// Reads what is available, blocking until at least one byte or EOF.
    /// Returns 0 on an orderly close by the peer.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int {
        guard fd >= 0 else { throw .closed }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = recv(fd, base, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == ECONNRESET { throw .closed }
            throw .receiveFailed(reason: Self.errnoText(errno))
        }
    }

    /// Waits for the socket to become readable (or writable, for `.writing`) or `wakeFD`
    /// (ignored when negative) to become readable. A pending wake wins, so a stop request is
    /// never starved by a busy peer. `nil` waits forever.
    public func poll(for interest: PollInterest = .reading, wakeFD: Int32, timeout: Duration?) -> PollResult {
        guard fd >= 0 else { return .hangup }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let wanted = Int16(interest == .reading ? POLLIN : POLLOUT)
        while true {
            var fds = [
                pollfd(fd: fd, events: wanted, revents: 0),
                pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
            ]
            let wait = deadline.map { max(Self.milliseconds($0 - ContinuousClock.now), 0) } ?? -1
            let ready = Glibc.poll(&fds, 2, wait)
            if ready < 0 {
                if errno == EINTR { continue }
                return .hangup
            }
            if ready == 0 { return .timeout }
            if fds[1].revents & Int16(POLLIN) != 0 { return .woken }
            let socketEvents = fds[0].revents
            if socketEvents & wanted != 0 { return interest == .reading ? .readable : .writable }
            if socketEvents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return .hangup }
            // Only the wake fd reported an error: treat as a wake so the owner looks.
            return .woken
        }
    }

    // MARK: helpers

    /// An errno value, so a failed attempt can travel in a `Result`.
    struct SystemError: Error {
        var code: Int32
        init(_ code: Int32) { self.code = code }
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        if seconds >= Int64(Int32.max / 1000) { return Int32.max }
        if seconds < 0 { return 0 }
        // Round up so a 0.5 ms remainder still waits instead of spinning.
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    private static func numericAddress(_ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> String {
        guard let address else { return "?" }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = getnameinfo(address, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
        guard rc == 0 else { return "?" }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
