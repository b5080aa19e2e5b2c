/// Tests for the transport layer: SRV ordering (XEP-0368, RFC 2782), TCP
/// (RFC 6120 §3) and TLS with verification, pinning and channel binding
/// (RFC 6120 §5, §13.7.2; RFC 9266) against a real `openssl s_server`.
import Foundation
import Glibc
import Testing

@testable import XMPP

// MARK: - Resolver (pure ordering)

/// Deterministic generator so statistical expectations are reproducible.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func srv(_ priority: UInt16, _ weight: UInt16, _ target: String, port: UInt16 = 5222, tls: Bool = false) -> SRVRecord {
    SRVRecord(priority: priority, weight: weight, port: port, target: target, directTLS: tls)
}

@Suite("Resolver")
struct ResolverTests {
    @Test func endpoints__returnsOnlyOverride__whenOverrideGiven() {
        let override = Endpoint(host: "10.0.0.1", port: 5223, directTLS: true)
        #expect(Resolver.endpoints(domain: "example.org", override: override) == [override])
    }

    @Test func endpoints__fallsBackToDomain5222__whenDomainHasNoRecords() {
        // .invalid never resolves (RFC 6761), whether DNS answers NXDOMAIN or is unreachable.
        let result = Resolver.endpoints(domain: "tern-test.invalid", override: nil)
        #expect(result == [Endpoint(host: "tern-test.invalid", port: 5222, directTLS: false)])
    }

    @Test func order__sortsByAscendingPriority__acrossBothServices() {
        var rng = SplitMix64(state: 1)
        let result = Resolver.order(
            domain: "example.org",
            directTLS: .records([srv(20, 0, "c.example.org", port: 443, tls: true), srv(5, 0, "a.example.org", port: 5223, tls: true)]),
            startTLS: .records([srv(10, 0, "b.example.org")]),
            using: &rng
        )
        #expect(result == [
            Endpoint(host: "a.example.org", port: 5223, directTLS: true),
            Endpoint(host: "b.example.org", port: 5222, directTLS: false),
            Endpoint(host: "c.example.org", port: 443, directTLS: true),
        ])
    }

    @Test func rfc2782Order__picksFirstInProportionToWeight__withinOnePriority() {
        var rng = SplitMix64(state: 42)
        let records = [srv(1, 10, "light"), srv(1, 30, "heavy")]
        var heavyFirst = 0
        let runs = 4000
        for _ in 0..<runs {
            let ordered = Resolver.rfc2782Order(records, using: &rng)
            #expect(ordered.count == 2)
            if ordered.first?.target == "heavy" { heavyFirst += 1 }
        }
        // RFC 2782 draws from 0...sum inclusive: heavy wins on 11...40, i.e. 30/41 ≈ 0.73.
        // The bounds are several standard deviations (≈0.007) wide.
        let share = Double(heavyFirst) / Double(runs)
        #expect(share > 0.69 && share < 0.77)
    }

    @Test func rfc2782Order__rarelyPicksZeroWeightFirst__whenOthersHaveWeight() {
        var rng = SplitMix64(state: 7)
        let records = [srv(1, 100, "weighted"), srv(1, 0, "zero")]
        var zeroFirst = 0
        for _ in 0..<2000 {
            let ordered = Resolver.rfc2782Order(records, using: &rng)
            #expect(Set(ordered.map(\.target)) == ["weighted", "zero"])
            if ordered.first?.target == "zero" { zeroFirst += 1 }
        }
        // Only a draw of exactly 0 out of 0...100 selects it: about 1%.
        #expect(zeroFirst < 80)
    }

    @Test func rfc2782Order__returnsPermutationOfInput__forMixedPriorities() {
        var rng = SplitMix64(state: 99)
        let records = (0..<12).map { srv(UInt16($0 % 3), UInt16($0 * 7 % 5), "h\($0)") }
        let ordered = Resolver.rfc2782Order(records, using: &rng)
        #expect(ordered.count == records.count)
        #expect(Set(ordered) == Set(records))
        #expect(ordered.map(\.priority) == ordered.map(\.priority).sorted())
    }

    @Test func order__usesStartTLSRecords__whenDirectTLSIsDot() {
        var rng = SplitMix64(state: 3)
        let result = Resolver.order(
            domain: "example.org",
            directTLS: .records([srv(0, 0, ".", port: 0, tls: true)]),
            startTLS: .records([srv(0, 0, "xmpp.example.org")]),
            using: &rng
        )
        #expect(result == [Endpoint(host: "xmpp.example.org", port: 5222, directTLS: false)])
    }

    @Test func order__returnsNothing__whenServiceDecidedlyNotAvailable() {
        var rng = SplitMix64(state: 3)
        // RFC 2782 "." on xmpp-client: no A/AAAA fallback either.
        let result = Resolver.order(
            domain: "example.org",
            directTLS: .noRecords,
            startTLS: .records([srv(0, 0, ".", port: 0)]),
            using: &rng
        )
        #expect(result.isEmpty)
    }

    @Test func order__fallsBackToDomain__whenNoRecordsOrLookupFailed() {
        var rng = SplitMix64(state: 3)
        let expected = [Endpoint(host: "example.org", port: 5222, directTLS: false)]
        #expect(Resolver.order(domain: "example.org", directTLS: .noRecords, startTLS: .noRecords, using: &rng) == expected)
        #expect(Resolver.order(domain: "example.org", directTLS: .failed, startTLS: .noRecords, using: &rng) == expected)
    }
}

// MARK: - Fixtures: certificates, child servers, sockets

private struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a program and returns its exit status and standard output.
private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Two self-signed certificates with the same names and different keys.
private struct Certificates: Sendable {
    let certA: String, keyA: String, spkiA: String
    let certB: String, keyB: String, spkiB: String

    static let shared = Result<Certificates, FixtureError>(catching: { () throws(FixtureError) in try make() })

    static func get() throws -> Certificates { try shared.get() }

    private static func make() throws(FixtureError) -> Certificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-transport-\(getpid())").path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            func issue(_ name: String) throws -> (cert: String, key: String, spki: String) {
                let cert = "\(dir)/\(name).pem", key = "\(dir)/\(name).key"
                let made = try run("/usr/bin/openssl", [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,DNS:example.test,IP:127.0.0.1",
                    "-keyout", key, "-out", cert,
                ])
                guard made.status == 0 else { throw FixtureError(description: "openssl req failed") }
                // The reference value, computed independently of GnuTLS.
                let spki = try run("/bin/sh", [
                    "-c", "openssl x509 -pubkey -noout -in '\(cert)' | openssl pkey -pubin -outform der | sha256sum",
                ])
                let hex = String(spki.output.prefix(64))
                guard spki.status == 0, hex.count == 64 else { throw FixtureError(description: "sha256sum failed") }
                return (cert, key, hex)
            }
            let a = try issue("a"), b = try issue("b")
            return Certificates(certA: a.cert, keyA: a.key, spkiA: a.spki, certB: b.cert, keyB: b.key, spkiB: b.spki)
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError(description: "certificate fixture: \(error)")
        }
    }
}

/// A listening socket owned by the test, closed on deinit.
private final class Listener {
    let fd: Int32
    let port: UInt16

    init(ipv6: Bool = false, backlog: Int32 = 16, listen shouldListen: Bool = true) throws {
        let family = ipv6 ? AF_INET6 : AF_INET
        let sock = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw FixtureError(description: "socket: \(errno)") }
        var bound: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard bound == 0 else {
            Glibc.close(sock)
            throw FixtureError(description: "bind: \(errno)")
        }
        if shouldListen { _ = Glibc.listen(sock, backlog) }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &length) }
        }
        fd = sock
        port = withUnsafePointer(to: &storage) { pointer in
            ipv6
                ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    func accept() -> Int32 { Glibc.accept(fd, nil, nil) }

    deinit { Glibc.close(fd) }
}

/// A TLS server in a child process on a free local port: `openssl s_server -rev` (echoes each
/// line reversed), or a Python script for behaviour s_server cannot show.
private final class ServerProcess {
    let port: UInt16
    private let process = Process()

    convenience init(cert: String, key: String, extra: [String] = []) throws {
        try self.init(name: "openssl s_server", executable: "/usr/bin/openssl") { port in
            ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-rev", "-quiet"] + extra
        }
    }

    /// Python runs `handler` for each TLS connection it accepts, with the connection in `tls`
    /// (an `ssl.SSLSocket`) and the modules hashlib, os and time imported.
    convenience init(pythonHandler handler: String, cert: String, key: String) throws {
        let body = handler.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let script = """
            import hashlib, os, socket, ssl, sys, time
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(sys.argv[1], sys.argv[2])
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[3])))
            s.listen(4)
            while True:
                conn, _ = s.accept()
                try:
                    tls = ctx.wrap_socket(conn, server_side=True)
                except Exception:
                    continue  # the readiness probe
            \(body)
            """
        try self.init(name: "the Python TLS server", executable: "/usr/bin/env") { port in
            ["python3", "-c", script, cert, key, String(port)]
        }
    }

    private init(name: String, executable: String, arguments: (UInt16) -> [String]) throws {
        // Reserve a free port, then hand it over; the window is tiny on loopback.
        port = try Listener(listen: false).port
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments(port)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once a plain TCP connect succeeds (the servers shrug off the probe).
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let probe = try? TCPSocket.connect(host: "127.0.0.1", port: port, timeout: .milliseconds(200)) {
                probe.close()
                return
            }
            pause(milliseconds: 50)
        }
        stop()
        throw FixtureError(description: "\(name) did not start on port \(port)")
    }

    /// SIGKILL: children of the test runner inherit a signal mask that
    /// blocks SIGTERM, so `terminate()` would leave them running.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

private func pause(milliseconds: Int) {
    usleep(useconds_t(milliseconds * 1000))
}

private func connectTLS(port: UInt16, serverName: String, trust: TLSTrust) throws -> (TCPSocket, TLSSession) {
    let socket = try TCPSocket.connect(host: "127.0.0.1", port: port, timeout: .seconds(5))
    let session = try TLSSession(fd: socket.fd, serverName: serverName, trust: trust)
    return (socket, session)
}

/// Writes all of `text`, waiting for room whenever the socket is full (same bytes again, as GnuTLS needs).
private func sendText(_ session: TLSSession, on socket: TCPSocket, _ text: String) throws {
    try sendAll(session, on: socket, Array(text.utf8))
}

/// Writes all of `bytes`; returns how many times the send buffer was full.
@discardableResult
private func sendAll(_ session: TLSSession, on socket: TCPSocket, _ bytes: [UInt8]) throws -> Int {
    var offset = 0
    var fullBuffers = 0
    try bytes.withUnsafeBytes { raw in
        while offset < raw.count {
            let written = try session.sendAvailable(UnsafeRawBufferPointer(rebasing: raw[offset...]))
            offset += written
            if written == 0 {
                fullBuffers += 1
                _ = socket.poll(for: .writing, wakeFD: -1, timeout: .seconds(10))
            }
        }
    }
    return fullBuffers
}

private func receiveLine(_ session: TLSSession) throws -> String {
    var collected: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while !collected.contains(UInt8(ascii: "\n")) {
        let n = try buffer.withUnsafeMutableBytes { try session.receive(into: $0) }
        if n == 0 { break }
        collected += buffer[..<n]
    }
    return String(decoding: collected, as: UTF8.self)
}

// MARK: - TCP

@Suite("TCPSocket")
struct TCPSocketTests {
    @Test func connect__isRefusedQuickly__whenNothingListens() throws {
        let bound = try Listener(listen: false)  // holds the port so nobody else listens on it
        let start = ContinuousClock.now
        do {
            _ = try TCPSocket.connect(host: "127.0.0.1", port: bound.port, timeout: .seconds(5))
            Issue.record("connected to a port nobody listens on")
        } catch {
            guard case .connectFailed(let host, let port, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(host == "127.0.0.1" && port == bound.port)
            #expect(reason.contains("refused"))
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func connect__timesOut__whenAcceptQueueIsFull() throws {
        let listener = try Listener(backlog: 0)
        // Fill the accept queue; further SYNs are dropped, so connect hangs.
        var fillers: [Int32] = []
        defer { fillers.forEach { Glibc.close($0) } }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = listener.port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fillers.append(fd)
        }
        pause(milliseconds: 100)
        let start = ContinuousClock.now
        #expect(throws: TransportError.timedOut(host: "127.0.0.1", port: listener.port)) {
            _ = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: .milliseconds(300))
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(3))
    }

    @Test func connect__reachesIPv6Loopback__andExchangesBytes() throws {
        let listener = try Listener(ipv6: true)
        let socket = try TCPSocket.connect(host: "::1", port: listener.port, timeout: .seconds(2))
        defer { socket.close() }
        let peer = listener.accept()
        #expect(peer >= 0)
        defer { Glibc.close(peer) }

        let outgoing = Array("ping".utf8)
        #expect(try outgoing.withUnsafeBytes { try socket.sendAvailable($0) } == outgoing.count)
        var got = [UInt8](repeating: 0, count: 16)
        let n = Glibc.recv(peer, &got, got.count, 0)
        #expect(Array(got.prefix(max(n, 0))) == outgoing)

        _ = Glibc.send(peer, "pong", 4, 0)
        #expect(socket.poll(wakeFD: -1, timeout: .seconds(2)) == .readable)
        var reply = [UInt8](repeating: 0, count: 16)
        let m = try reply.withUnsafeMutableBytes { try socket.receive(into: $0) }
        #expect(String(decoding: reply.prefix(m), as: UTF8.self) == "pong")
    }

    @Test func connect__resolvesLocalhostName() throws {
        let listener = try Listener()
        let socket = try TCPSocket.connect(host: "localhost", port: listener.port, timeout: .seconds(2))
        #expect(socket.fd >= 0)
        socket.close()
    }

    @Test func connect__reportsDNSFailure__forUnresolvableName() {
        do {
            _ = try TCPSocket.connect(host: "tern-test.invalid", port: 5222, timeout: .seconds(2))
            Issue.record("resolved an .invalid name")
        } catch {
            guard case .dnsFailed(let host, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(host == "tern-test.invalid")
        }
    }

    @Test func poll__reportsTimeoutWakeReadableAndEOF() throws {
        let listener = try Listener()
        let socket = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(2))
        let peer = listener.accept()
        #expect(peer >= 0)
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        defer { Glibc.close(pipeFDs[0]); Glibc.close(pipeFDs[1]) }

        // Nothing yet.
        #expect(socket.poll(wakeFD: pipeFDs[0], timeout: .milliseconds(50)) == .timeout)
        // Another thread's wake beats the socket.
        _ = Glibc.write(pipeFDs[1], "x", 1)
        _ = Glibc.send(peer, "data", 4, 0)
        #expect(socket.poll(wakeFD: pipeFDs[0], timeout: .seconds(2)) == .woken)
        var drain: UInt8 = 0
        _ = Glibc.read(pipeFDs[0], &drain, 1)
        #expect(socket.poll(wakeFD: pipeFDs[0], timeout: .seconds(2)) == .readable)
        var buffer = [UInt8](repeating: 0, count: 8)
        #expect(try buffer.withUnsafeMutableBytes { try socket.receive(into: $0) } == 4)
        // Peer closes: readable, and the read says EOF.
        Glibc.close(peer)
        #expect(socket.poll(wakeFD: -1, timeout: .seconds(2)) == .readable)
        #expect(try buffer.withUnsafeMutableBytes { try socket.receive(into: $0) } == 0)
    }

    @Test func close__isIdempotent__andLaterSendsFail() throws {
        let listener = try Listener()
        let socket = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(2))
        socket.close()
        socket.close()
        #expect(socket.fd == -1)
        #expect(socket.poll(wakeFD: -1, timeout: .milliseconds(10)) == .hangup)
        #expect(throws: TransportError.closed) {
            try Array("x".utf8).withUnsafeBytes { try socket.sendAvailable($0) }
        }
    }
}

extension TCPSocketTests {
    /// DESIGN §6: a peer that stops reading cannot hold the writer; it gets 0 and can wait
    /// for room together with a wake-up from another thread.
    @Test func sendAvailable__returnsZeroInsteadOfBlocking__whenThePeerStopsReading() throws {
        let listener = try Listener()
        let socket = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(2))
        defer { socket.close() }
        let peer = listener.accept()
        #expect(peer >= 0)
        defer { Glibc.close(peer) }
        let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
        var total = 0
        var full = false
        let start = ContinuousClock.now
        while !full, total < 256 * 1024 * 1024 {
            let written = try chunk.withUnsafeBytes { try socket.sendAvailable($0) }
            total += written
            full = written == 0
        }
        #expect(full, "the kernel buffers filled after \(total) bytes")
        #expect(ContinuousClock.now - start < .seconds(5))

        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        defer { Glibc.close(pipeFDs[0]); Glibc.close(pipeFDs[1]) }
        #expect(socket.poll(for: .writing, wakeFD: pipeFDs[0], timeout: .milliseconds(100)) == .timeout)
        _ = Glibc.write(pipeFDs[1], "x", 1)
        #expect(socket.poll(for: .writing, wakeFD: pipeFDs[0], timeout: .seconds(2)) == .woken)
        // The peer reads again: there is room.
        var sink = [UInt8](repeating: 0, count: 1024 * 1024)
        while Glibc.recv(peer, &sink, sink.count, Int32(MSG_DONTWAIT)) > 0 {}
        #expect(socket.poll(for: .writing, wakeFD: -1, timeout: .seconds(2)) == .writable)
    }
}

// MARK: - TLS

@Suite("TLSSession")
struct TLSSessionTests {
    @Test func handshake__verifies__withCAFileAndMatchingName() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        for name in ["localhost", "example.test", "127.0.0.1"] {
            let (socket, session) = try connectTLS(port: server.port, serverName: name, trust: TLSTrust(caFile: certs.certA))
            defer { socket.close() }
            try session.handshake(timeout: .seconds(5))
            let peer = try #require(session.peerCertificate)
            #expect(peer.spkiSHA256 == certs.spkiA)
            #expect(peer.subject.contains("CN=localhost"))
            #expect(peer.issuer.contains("CN=localhost"))
            #expect(peer.subjectAltNames == ["DNS:localhost", "DNS:example.test", "IP:127.0.0.1"])
            #expect(peer.notBefore < Date() && peer.notAfter > Date())
            session.bye()
        }
    }

    @Test func handshake__failsWithServerSPKI__withoutCA() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust())
        defer { socket.close() }
        do {
            try session.handshake(timeout: .seconds(5))
            Issue.record("self-signed certificate accepted without a CA or pin")
        } catch {
            guard case .verificationFailed(let name, let reason, let spki) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(name == "localhost")
            #expect(!reason.isEmpty)
            #expect(spki == certs.spkiA)
            #expect(error.description.contains("SPKI SHA-256: \(certs.spkiA)"))
        }
        // The rejected certificate is still available for display.
        #expect(session.peerCertificate?.spkiSHA256 == certs.spkiA)
        // Nothing may be sent on an unverified session.
        #expect(throws: TLSError.notVerified) { try sendText(session, on: socket, "x\n") }
        #expect(session.channelBinding("tls-exporter") == nil)
    }

    @Test func handshake__fails__whenServerNameNotInSANs() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        let (socket, session) = try connectTLS(port: server.port, serverName: "wrong.test", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        do {
            try session.handshake(timeout: .seconds(5))
            Issue.record("certificate accepted for a name it does not carry")
        } catch {
            guard case .verificationFailed(let name, let reason, let spki) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(name == "wrong.test")
            #expect(reason.lowercased().contains("name"))
            #expect(spki == certs.spkiA)
        }
    }

    @Test func handshake__succeeds__withMatchingPinAndNoCA() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        // Colon-separated uppercase input is accepted; the pin also overrides the name check.
        let colons = stride(from: 0, to: 64, by: 2).map { offset -> String in
            let start = certs.spkiA.index(certs.spkiA.startIndex, offsetBy: offset)
            return String(certs.spkiA[start..<certs.spkiA.index(start, offsetBy: 2)]).uppercased()
        }.joined(separator: ":")
        let (socket, session) = try connectTLS(port: server.port, serverName: "wrong.test", trust: TLSTrust(pinnedSPKISHA256: colons))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        try sendText(session, on: socket, "pinned\n")
        #expect(try receiveLine(session) == "dennip\n")
    }

    @Test func handshake__isHardStop__whenPinDiffersEvenWithValidCA() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        let trust = TLSTrust(caFile: certs.certA, pinnedSPKISHA256: certs.spkiB)
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: trust)
        defer { socket.close() }
        #expect(throws: TLSError.pinMismatch(expected: certs.spkiB, actual: certs.spkiA)) {
            try session.handshake(timeout: .seconds(5))
        }
        #expect(throws: TLSError.notVerified) { try sendText(session, on: socket, "x\n") }
    }

    @Test func session__echoesData__andBuffersRestOfRecord() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        try sendText(session, on: socket, "hello tern\n")
        #expect(try receiveLine(session) == "nret olleh\n")

        // Read one byte of a record: the rest sits decrypted in GnuTLS, invisible to poll().
        try sendText(session, on: socket, "abcdef\n")
        #expect(socket.poll(wakeFD: -1, timeout: .seconds(5)) == .readable)
        var one = [UInt8](repeating: 0, count: 1)
        #expect(try one.withUnsafeMutableBytes { try session.receive(into: $0) } == 1)
        #expect(one == Array("f".utf8))
        #expect(session.pendingBytes == 6)
        #expect(try receiveLine(session) == "edcba\n")
        #expect(session.pendingBytes == 0)
        session.bye()
    }

    @Test func receive__reportsPrematureTermination__whenServerDiesWithoutCloseNotify() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        try sendText(session, on: socket, "x\n")
        #expect(try receiveLine(session) == "x\n")
        server.stop()  // SIGKILL: the kernel closes the TCP connection, no TLS alert
        #expect(throws: TLSError.prematureTermination) { _ = try receiveLine(session) }
    }

    @Test func send__throwsInsteadOfSIGPIPE__whenServerIsGone() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        server.stop()
        // The first write may still be accepted by the kernel; later ones hit the
        // reset. A SIGPIPE here would kill the whole test process.
        var failure: TLSError?
        for _ in 0..<50 where failure == nil {
            do { try sendText(session, on: socket, String(repeating: "x", count: 1024) + "\n") } catch { failure = error as? TLSError ?? .notVerified }
            pause(milliseconds: 10)
        }
        guard case .sendFailed = try #require(failure) else {
            Issue.record("unexpected error \(String(describing: failure))")
            return
        }
    }

    @Test func channelBinding__offersExporterAndEndPoint__onTLS13() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        var exporters: [[UInt8]] = []
        for _ in 0..<2 {
            let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
            defer { socket.close() }
            try session.handshake(timeout: .seconds(5))
            #expect(session.isTLS13)
            let exporter = try #require(session.channelBinding("tls-exporter"))
            #expect(exporter.count == 32)  // RFC 9266 §2: 32 bytes
            exporters.append(exporter)
            // ecdsa-with-SHA256 certificate → SHA-256 of the certificate (RFC 5929 §4.1).
            #expect(session.channelBinding("tls-server-end-point")?.count == 32)
            #expect(session.channelBinding("tls-unique") == nil)
            #expect(session.channelBinding("bogus") == nil)
            #expect(session.availableChannelBindings == ["tls-exporter", "tls-server-end-point"])
        }
        // Bound to the session: a second connection yields different data.
        #expect(exporters[0] != exporters[1])
    }

    @Test func channelBinding__offersTLSUnique__onTLS12() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA, extra: ["-tls1_2"])
        defer { server.stop() }
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        #expect(!session.isTLS13)
        #expect(session.channelBinding("tls-unique")?.count == 12)  // TLS 1.2 Finished verify_data
        // OpenSSL negotiates extended master secret by default, so the exporter is safe.
        #expect(session.availableChannelBindings == ["tls-exporter", "tls-server-end-point", "tls-unique"])
    }

    @Test func handshake__timesOut__whenServerNeverAnswers() throws {
        let silent = try Listener()  // the kernel accepts; nobody speaks TLS
        let socket = try TCPSocket.connect(host: "127.0.0.1", port: silent.port, timeout: .seconds(2))
        defer { socket.close() }
        let session = try TLSSession(fd: socket.fd, serverName: "localhost", trust: TLSTrust())
        let start = ContinuousClock.now
        #expect(throws: TLSError.handshakeTimedOut) { try session.handshake(timeout: .milliseconds(300)) }
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    /// A server that starts a record and goes quiet must not hang the reading thread: after
    /// the record timeout, `receive` gives control back, and the session stays usable.
    @Test func receive__givesBackControl__whenARecordStallsHalfway() throws {
        let certs = try Certificates.get()
        let handler = """
            tls.sendall(b"hello\\n")
            time.sleep(0.3)
            # A record header promising 16 KiB, ten bytes of it, then silence.
            os.write(tls.fileno(), b"\\x17\\x03\\x03\\x40\\x00" + b"x" * 10)
            time.sleep(30)
            """
        let server = try ServerProcess(pythonHandler: handler, cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        #expect(try receiveLine(session) == "hello\n")
        var buffer = [UInt8](repeating: 0, count: 256)
        #expect(throws: TLSError.receiveTimedOut) {
            _ = try buffer.withUnsafeMutableBytes { try session.receive(into: $0) }
        }
    }

    /// gnutls_record_send(3): after GNUTLS_E_AGAIN the same data must be passed again. A server
    /// that reads nothing for a while makes `sendAvailable` return 0 instead of blocking; writing
    /// the same bytes again once there is room delivers every byte exactly once.
    @Test func sendAvailable__returnsZeroInsteadOfBlocking_andTheSameBytesAgainDeliverEverything() throws {
        let certs = try Certificates.get()
        let handler = """
            time.sleep(1.5)  # reads nothing: the client's buffers fill
            digest, count = hashlib.sha256(), 0
            while count < 16 * 1024 * 1024:
                data = tls.recv(65536)
                if not data:
                    break
                digest.update(data)
                count += len(data)
            tls.sendall(("%d %s\\n" % (count, digest.hexdigest())).encode())
            time.sleep(5)
            """
        let server = try ServerProcess(pythonHandler: handler, cert: certs.certA, key: certs.keyA)
        defer { server.stop() }
        let (socket, session) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { socket.close() }
        try session.handshake(timeout: .seconds(5))
        let bytes = (0..<(16 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 13) }
        let start = ContinuousClock.now
        let fullBuffers = try sendAll(session, on: socket, bytes)
        #expect(fullBuffers > 0, "the server's pause filled the buffers")
        #expect(ContinuousClock.now - start < .seconds(20))
        let digest = try HashAlgorithm.sha256.hash(bytes)
        #expect(try receiveLine(session) == "\(bytes.count) \(TLSSession.hex(digest))\n")
    }

    /// XEP-0368 §3: direct TLS offers ALPN `xmpp-client`; nothing is offered unless asked.
    @Test func alpn__offersXMPPClient__onlyWhenAsked() throws {
        let certs = try Certificates.get()
        let server = try ServerProcess(cert: certs.certA, key: certs.keyA, extra: ["-alpn", "xmpp-client"])
        defer { server.stop() }
        let socket = try TCPSocket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        let direct = try TLSSession(fd: socket.fd, serverName: "localhost", trust: TLSTrust(caFile: certs.certA), alpn: ["xmpp-client"])
        try direct.handshake(timeout: .seconds(5))
        #expect(direct.negotiatedALPN == "xmpp-client")
        direct.bye()
        socket.close()  // s_server serves one connection at a time

        let (plainSocket, plain) = try connectTLS(port: server.port, serverName: "localhost", trust: TLSTrust(caFile: certs.certA))
        defer { plainSocket.close() }
        try plain.handshake(timeout: .seconds(5))
        #expect(plain.negotiatedALPN == nil)
    }

    @Test func init__rejectsMalformedPinAndMissingCAFile() throws {
        let listener = try Listener()
        let socket = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(2))
        defer { socket.close() }
        #expect(throws: TLSError.invalidPin("abc")) {
            _ = try TLSSession(fd: socket.fd, serverName: "localhost", trust: TLSTrust(pinnedSPKISHA256: "abc"))
        }
        do {
            _ = try TLSSession(fd: socket.fd, serverName: "localhost", trust: TLSTrust(caFile: "/nonexistent/ca.pem"))
            Issue.record("missing CA file accepted")
        } catch {
            guard case .caFileUnreadable(let path, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == "/nonexistent/ca.pem")
        }
    }

    @Test func normalizedPin__acceptsColonsAndCase__rejectsWrongLength() {
        let hex = String(repeating: "ab", count: 32)
        #expect(TLSTrust.normalizedPin(hex) == hex)
        #expect(TLSTrust.normalizedPin(Array(repeating: "AB", count: 32).joined(separator: ":")) == hex)
        #expect(TLSTrust.normalizedPin(String(hex.dropLast(2))) == nil)
        #expect(TLSTrust.normalizedPin(String(repeating: "zz", count: 32)) == nil)
    }
}

/// Which failures stop reconnection: untrusted servers and our own bad settings, never a cut link.
@Suite struct ReconnectionVerdictTests {
    @Test func tls__aCutHandshakeOrRecord__isRetried() {
        for error: TLSError in [.prematureTermination, .handshakeFailed(reason: "pull error"), .receiveFailed(reason: "reset"),
                                .sendFailed(reason: "broken pipe"), .handshakeTimedOut] {
            #expect(!ConnectionError.tls(error).isPermanent, "\(error)")
        }
    }

    @Test func tls__anUntrustedCertificateOrChangedPin__stops() {
        for error: TLSError in [.verificationFailed(serverName: "example.org", reason: "unknown issuer", spkiSHA256: "ab"),
                                .pinMismatch(expected: "a", actual: "b"), .noPeerCertificate] {
            #expect(ConnectionError.tls(error).isPermanent, "\(error)")
        }
    }
}
