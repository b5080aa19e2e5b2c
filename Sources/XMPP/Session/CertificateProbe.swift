/// Fetches a server's certificate for `tern trust --show`: STARTTLS (RFC 6120 §5) or direct
/// TLS (XEP-0368), handshake, then report the leaf and whether it verified. Nothing is sent
/// over the TLS session.
public enum CertificateProbe {
    public struct Result: Sendable {
        public var certificate: PeerCertificate
        /// nil when trusted; otherwise why not.
        public var verificationError: TLSError?
    }

    public static func fetch(domain: String, endpoint: Endpoint?, trust: TLSTrust, timeout: Duration = .seconds(10)) throws(ConnectionError) -> Result {
        var lastError: ConnectionError = .transport("no address found for \(domain)")
        for candidate in Resolver.endpoints(domain: domain, override: endpoint) {
            let socket: TCPSocket
            do throws(TransportError) {
                socket = try TCPSocket.connect(host: candidate.host, port: candidate.port, timeout: timeout)
            } catch {
                lastError = .transport("\(error)")
                continue
            }
            defer { socket.close() }
            if !candidate.directTLS { try negotiateStartTLS(socket, domain: domain, timeout: timeout) }
            let session: TLSSession
            do throws(TLSError) {
                session = try TLSSession(
                    fd: socket.fd, serverName: domain, trust: trust, alpn: candidate.directTLS ? ["xmpp-client"] : [])
            } catch {
                throw .tls(error)
            }
            var verdict: TLSError?
            do throws(TLSError) {
                try session.handshake(timeout: timeout)
            } catch {
                verdict = error
            }
            guard let certificate = session.peerCertificate else { throw .tls(verdict ?? .noPeerCertificate) }
            session.bye()
            return Result(certificate: certificate, verificationError: verdict)
        }
        throw lastError
    }

    private static func negotiateStartTLS(_ socket: TCPSocket, domain: String, timeout: Duration) throws(ConnectionError) {
        let parser = StreamParser()
        try write(socket, XMLSerializer.streamHeader(to: domain, lang: "en"), timeout: timeout)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var sentStartTLS = false
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard socket.waitReadable(timeout: deadline - ContinuousClock.now) else { break }
            let received: Swift.Result<Int, TransportError> = buffer.withUnsafeMutableBytes { raw in
                do throws(TransportError) { return .success(try socket.receive(into: raw)) } catch { return .failure(error) }
            }
            let count: Int
            switch received {
            case .success(let n): count = n
            case .failure(let error): throw .transport("\(error)")
            }
            if count == 0 { throw .closed }
            let events: [StreamEvent]
            do throws(XMLStreamError) {
                events = try parser.feed(Array(buffer[0..<count]))
            } catch {
                throw .parser(error)
            }
            for case .element(let element) in events {
                if element.matches("features", NS.stream), !sentStartTLS {
                    guard element.child("starttls", namespace: NS.tls) != nil else {
                        throw .negotiation(.tlsNotOffered)
                    }
                    try write(socket, "<starttls xmlns='\(NS.tls)'/>", timeout: timeout)
                    sentStartTLS = true
                } else if element.matches("proceed", NS.tls) {
                    return
                } else if element.namespace == NS.tls || StreamError.isStreamError(element) {
                    throw .negotiation(.tlsRefused)
                }
            }
        }
        throw .timeout("waiting for STARTTLS")
    }

    private static func write(_ socket: TCPSocket, _ text: String, timeout: Duration) throws(ConnectionError) {
        let bytes = Array(text.utf8)
        let result: Swift.Result<Void, TransportError> = bytes.withUnsafeBytes { raw in
            do throws(TransportError) { try socket.send(raw, timeout: timeout) } catch { return .failure(error) }
            return .success(())
        }
        if case .failure(let error) = result { throw .transport("\(error)") }
    }
}
