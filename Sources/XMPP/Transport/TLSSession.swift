/// RFC 6120 §5 and §13.7.2: TLS over the stream's socket with GnuTLS — verification, SPKI pinning, channel binding.
///
/// Verification happens after the handshake and before any application byte
/// is sent, so a rejected certificate can still be described to the user
/// (its SPKI hash becomes the `tern trust` pin). The reference identity is
/// always the JID's domain (RFC 6120 §13.7.2.1, XEP-0368 rule 6), never an
/// SRV target.
///
/// Concurrency: not `Sendable`. GnuTLS itself tolerates one thread in
/// `send` and another in `receive` on the same session (no renegotiation),
/// so an owner that needs that split may wrap it, having read this.
import CGnuTLS
import Foundation
import Glibc

/// What to trust besides the system store.
public struct TLSTrust: Sendable, Hashable {
    /// PEM file of extra trust anchors (e.g. a self-made CA).
    public var caFile: String?
    /// SHA-256 of the server's SubjectPublicKeyInfo, lowercase hex without
    /// colons. When set it replaces CA and hostname checks entirely, and any
    /// other key is refused.
    public var pinnedSPKISHA256: String?

    public init(caFile: String? = nil, pinnedSPKISHA256: String? = nil) {
        self.caFile = caFile
        self.pinnedSPKISHA256 = pinnedSPKISHA256
    }

    /// Canonical pin form: lowercase hex, colons and surrounding spaces
    /// removed; nil unless exactly 32 bytes of hex.
    public static func normalizedPin(_ text: String) -> String? {
        let hex = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "").lowercased()
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            return nil
        }
        return hex
    }
}

/// The server's leaf certificate, for display (`tern trust --show`).
public struct PeerCertificate: Sendable, Hashable {
    public var subject: String
    public var issuer: String
    /// "DNS:name", "IP:address", "URI:…", "email:…".
    public var subjectAltNames: [String]
    public var notBefore: Date
    public var notAfter: Date
    /// SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex.
    public var spkiSHA256: String
}

public enum TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A GnuTLS call needed to set up the session failed.
    case setupFailed(step: String, reason: String)
    case invalidPin(String)
    case caFileUnreadable(path: String, reason: String)
    case handshakeFailed(reason: String)
    case handshakeTimedOut
    case noPeerCertificate
    /// CA or hostname verification failed and no pin was set.
    case verificationFailed(serverName: String, reason: String, spkiSHA256: String)
    /// A pin is set and the server presented another key: always a hard stop.
    case pinMismatch(expected: String, actual: String)
    /// Application data before a successful handshake and verification.
    case notVerified
    case sendFailed(reason: String)
    case receiveFailed(reason: String)
    /// The peer closed the TCP connection without a TLS close_notify.
    case prematureTermination
    /// Part of a record arrived and the rest did not within the record timeout. Not fatal:
    /// the partial record stays buffered and the next `receive` continues it.
    case receiveTimedOut

    /// Whether the server (or our own settings) cannot be trusted, as opposed to a link
    /// that failed: only these stop reconnecting until the user acts. A connection cut in
    /// the middle of a handshake is just a network fault.
    public var isTrustFailure: Bool {
        switch self {
        case .setupFailed, .invalidPin, .caFileUnreadable, .noPeerCertificate, .verificationFailed, .pinMismatch,
            .notVerified:
            true
        case .handshakeFailed, .handshakeTimedOut, .sendFailed, .receiveFailed, .prematureTermination, .receiveTimedOut:
            false
        }
    }

    public var description: String {
        switch self {
        case .setupFailed(let step, let reason):
            return "TLS setup failed at \(step): \(reason)"
        case .invalidPin(let pin):
            return "invalid SPKI pin '\(pin)': expected 64 hex digits (SHA-256)"
        case .caFileUnreadable(let path, let reason):
            return "cannot load CA file '\(path)': \(reason)"
        case .handshakeFailed(let reason):
            return "TLS handshake failed: \(reason)"
        case .handshakeTimedOut:
            return "TLS handshake timed out"
        case .noPeerCertificate:
            return "server sent no certificate"
        case .verificationFailed(let serverName, let reason, let spki):
            // The caller adds how to pin it: the right command depends on whether the account is stored yet.
            return "certificate for '\(serverName)' not trusted (\(reason)); server key SPKI SHA-256: \(spki)"
        case .pinMismatch(let expected, let actual):
            return "server key changed: pinned SPKI SHA-256 \(expected), server presented \(actual); refusing to connect"
        case .notVerified:
            return "TLS session used before the handshake and verification succeeded"
        case .sendFailed(let reason):
            return "TLS send failed: \(reason)"
        case .receiveFailed(let reason):
            return "TLS receive failed: \(reason)"
        case .prematureTermination:
            return "server closed the connection without ending TLS"
        case .receiveTimedOut:
            return "timed out in the middle of a TLS record"
        }
    }
}

/// A client TLS session on an already connected socket. Does not own the fd.
public final class TLSSession {
    /// How long `receive` waits for the rest of a record it has started reading.
    static let recordTimeout: Duration = .seconds(1)

    /// TLS 1.2 and 1.3 only (DESIGN §6); safe renegotiation required.
    static let priority = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SAFE_RENEGOTIATION"

    /// Channel-binding types in order of preference (XEP-0440).
    static let channelBindingTypes = ["tls-exporter", "tls-server-end-point", "tls-unique"]

    public let serverName: String
    /// The socket, to wait on when GnuTLS could not write (the push never blocks).
    private let fd: Int32
    private let pin: String?
    private let session: OpaquePointer
    private let credentials: OpaquePointer
    private var verified = false

    /// Set once the handshake completes, even if verification then fails.
    public private(set) var peerCertificate: PeerCertificate?

    /// - Parameter serverName: the JID's domain, used for SNI and verification.
    /// - Parameter alpn: ALPN protocols to offer; direct TLS offers `xmpp-client` (XEP-0368 §3),
    ///   so the connection cannot be mistaken for another protocol on a shared port.
    public init(fd: Int32, serverName: String, trust: TLSTrust, alpn: [String] = []) throws(TLSError) {
        var pin: String?
        if let raw = trust.pinnedSPKISHA256 {
            guard let normalized = TLSTrust.normalizedPin(raw) else { throw .invalidPin(raw) }
            pin = normalized
        }

        var cred: gnutls_certificate_credentials_t?
        var rc = gnutls_certificate_allocate_credentials(&cred)
        guard rc == GNUTLS_E_SUCCESS, let cred else {
            throw .setupFailed(step: "allocating credentials", reason: Self.text(rc))
        }
        var ses: gnutls_session_t?
        rc = gnutls_init(&ses, tern_gnutls_client_flags())
        guard rc == GNUTLS_E_SUCCESS, let ses else {
            gnutls_certificate_free_credentials(cred)
            throw .setupFailed(step: "gnutls_init", reason: Self.text(rc))
        }
        do {
            try Self.configure(session: ses, credentials: cred, fd: fd, serverName: serverName, trust: trust)
            try Self.offerALPN(alpn, session: ses)
        } catch {
            gnutls_deinit(ses)
            gnutls_certificate_free_credentials(cred)
            throw error
        }
        self.serverName = serverName
        self.fd = fd
        self.pin = pin
        self.session = ses
        self.credentials = cred
    }

    deinit {
        // The session references the credentials: free it first.
        gnutls_deinit(session)
        gnutls_certificate_free_credentials(credentials)
    }

    private static func offerALPN(_ protocols: [String], session: OpaquePointer) throws(TLSError) {
        guard !protocols.isEmpty else { return }
        let names = protocols.map { Array($0.utf8) }
        let rc = names.withUnsafeBufferPointers { pointers in
            var data = pointers.map { gnutls_datum_t(data: UnsafeMutablePointer(mutating: $0.baseAddress), size: UInt32($0.count)) }
            return gnutls_alpn_set_protocols(session, &data, UInt32(data.count), 0)
        }
        if rc != GNUTLS_E_SUCCESS { throw .setupFailed(step: "setting ALPN", reason: text(rc)) }
    }

    /// The ALPN protocol the server selected, if any.
    public var negotiatedALPN: String? {
        var datum = gnutls_datum_t()
        guard gnutls_alpn_get_selected_protocol(session, &datum) == GNUTLS_E_SUCCESS, let data = datum.data else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(datum.size)), as: UTF8.self)
    }

    private static func configure(
        session: OpaquePointer, credentials: OpaquePointer, fd: Int32, serverName: String, trust: TLSTrust
    ) throws(TLSError) {
        // A missing system store is not fatal here: with no anchor the check
        // fails later and the user is offered the pin.
        _ = gnutls_certificate_set_x509_system_trust(credentials)

        if let caFile = trust.caFile {
            let count = gnutls_certificate_set_x509_trust_file(credentials, caFile, GNUTLS_X509_FMT_PEM)
            if count < 0 { throw .caFileUnreadable(path: caFile, reason: text(count)) }
            if count == 0 { throw .caFileUnreadable(path: caFile, reason: "no PEM certificate found") }
        }

        var errorPosition: UnsafePointer<CChar>?
        var rc = gnutls_priority_set_direct(session, priority, &errorPosition)
        if rc != GNUTLS_E_SUCCESS {
            let at = errorPosition.map { String(cString: $0) } ?? ""
            throw .setupFailed(step: "priority string near '\(at)'", reason: text(rc))
        }
        rc = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials))
        if rc != GNUTLS_E_SUCCESS { throw .setupFailed(step: "setting credentials", reason: text(rc)) }

        // RFC 6066 §3: SNI carries host names only, never address literals.
        if !isAddressLiteral(serverName) {
            let bytes = Array(serverName.utf8)
            rc = gnutls_server_name_set(session, GNUTLS_NAME_DNS, bytes, bytes.count)
            if rc != GNUTLS_E_SUCCESS { throw .setupFailed(step: "setting SNI", reason: text(rc)) }
        }
        tern_gnutls_transport_set_fd(session, fd)
    }

    // MARK: handshake and verification

    /// Runs the handshake, then verifies the peer; throws unless trusted.
    public func handshake(timeout: Duration) throws(TLSError) {
        let ms = max(TCPSocket.milliseconds(timeout), 1)
        gnutls_handshake_set_timeout(session, UInt32(ms))
        let deadline = ContinuousClock.now + timeout
        var rc: Int32
        repeat {
            rc = gnutls_handshake(session)
            // The handshake timeout covers reads; a write waits for room here, within the same time.
            if rc == GNUTLS_E_AGAIN, !waitUntilWritable(deadline - ContinuousClock.now) { throw .handshakeTimedOut }
        } while rc < 0 && rc != GNUTLS_E_TIMEDOUT && gnutls_error_is_fatal(rc) == 0
        if rc == GNUTLS_E_TIMEDOUT { throw .handshakeTimedOut }
        if rc < 0 {
            var reason = Self.text(rc)
            if rc == GNUTLS_E_FATAL_ALERT_RECEIVED, let name = gnutls_alert_get_name(gnutls_alert_get(session)) {
                reason += " (\(String(cString: name)))"
            }
            throw .handshakeFailed(reason: reason)
        }
        // A server that sends half a record and goes quiet must not hang the reading thread:
        // after this long `receive` gives back control (`.receiveTimedOut`) and can be called again.
        gnutls_record_set_timeout(session, UInt32(max(TCPSocket.milliseconds(Self.recordTimeout), 1)))
        try verifyPeer()
    }

    private func verifyPeer() throws(TLSError) {
        var count: UInt32 = 0
        guard let chain = gnutls_certificate_get_peers(session, &count), count > 0 else {
            throw .noPeerCertificate
        }
        let leaf = try Self.describe(chain)
        peerCertificate = leaf

        // A pin replaces CA and hostname trust; a different key is never accepted.
        if let pin {
            guard leaf.spkiSHA256 == pin else { throw .pinMismatch(expected: pin, actual: leaf.spkiSHA256) }
            verified = true
            return
        }

        // verify_peers3 checks the hostname too (verify_peers2 would not).
        var status: UInt32 = 0
        let rc = gnutls_certificate_verify_peers3(session, serverName, &status)
        if rc < 0 {
            throw .verificationFailed(serverName: serverName, reason: Self.text(rc), spkiSHA256: leaf.spkiSHA256)
        }
        if status != 0 {
            throw .verificationFailed(
                serverName: serverName, reason: statusText(status), spkiSHA256: leaf.spkiSHA256)
        }
        verified = true
    }

    private func statusText(_ status: UInt32) -> String {
        var out = gnutls_datum_t()
        let rc = gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0)
        guard rc == GNUTLS_E_SUCCESS, let data = out.data else { return "status 0x\(String(status, radix: 16))" }
        defer { tern_gnutls_free(data) }
        let text = String(decoding: UnsafeBufferPointer(start: data, count: Int(out.size)), as: UTF8.self)
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: application data

    /// Writes what the socket takes now, without blocking: the number of bytes of `bytes`
    /// written (at most one record), or 0 when the send buffer is full. After a 0, call again
    /// with the very same `bytes` once the socket is writable: GnuTLS has already sealed a
    /// record from them and must finish it before anything else (gnutls_record_send(3)).
    public func sendAvailable(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        guard verified else { throw .notVerified }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        while true {
            let n = gnutls_record_send(session, base, bytes.count)
            if n >= 0 { return n }
            let code = Int32(truncatingIfNeeded: n)
            if code == GNUTLS_E_INTERRUPTED { continue }
            if code == GNUTLS_E_AGAIN { return 0 }
            throw .sendFailed(reason: Self.text(code))
        }
    }

    /// Receives decrypted bytes, blocking until a whole record arrives.
    /// Returns 0 when the server closed TLS cleanly (close_notify).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        guard verified else { throw .notVerified }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = gnutls_record_recv(session, base, buffer.count)
            if n >= 0 { return n }
            let code = Int32(truncatingIfNeeded: n)
            if code == GNUTLS_E_PREMATURE_TERMINATION { throw .prematureTermination }
            if code == GNUTLS_E_TIMEDOUT { throw .receiveTimedOut }
            // Reading can make GnuTLS write (a TLS 1.3 key update answer): if the peer takes
            // nothing, give control back rather than spin.
            if code == GNUTLS_E_AGAIN, !waitUntilWritable(Self.recordTimeout) { throw .receiveTimedOut }
            // AGAIN, INTERRUPTED, warning alerts, a refused rehandshake: keep reading.
            if gnutls_error_is_fatal(code) == 0 { continue }
            throw .receiveFailed(reason: Self.text(code))
        }
    }

    /// Bytes already decrypted and buffered: poll() on the fd cannot see
    /// them, so read these before waiting.
    public var pendingBytes: Int {
        Int(gnutls_record_check_pending(session))
    }

    /// Waits up to `timeout` for room in the socket's send buffer.
    private func waitUntilWritable(_ timeout: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&entry, 1, max(TCPSocket.milliseconds(timeout), 0))
            if ready < 0 && errno == EINTR { continue }
            // An error or hang-up counts as writable: the next write reports it.
            return ready > 0
        }
    }

    /// Sends close_notify; errors are irrelevant as the socket closes next.
    public func bye() {
        var attempts = 0
        while attempts < 8 {
            let rc = gnutls_bye(session, GNUTLS_SHUT_WR)
            if rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED { return }
            attempts += 1
        }
    }

    // MARK: channel binding

    public var isTLS13: Bool {
        gnutls_protocol_get_version(session) == GNUTLS_TLS1_3
    }

    /// RFC 9266 / RFC 5929 channel-binding data, or nil when this session
    /// cannot provide that type securely.
    public func channelBinding(_ type: String) -> [UInt8]? {
        guard verified else { return nil }
        let kind: gnutls_channel_binding_t
        switch type {
        case "tls-exporter":
            // RFC 9266 §2: on TLS 1.2 only safe with extended master secret.
            guard isTLS13 || gnutls_session_ext_master_secret_status(session) != 0 else { return nil }
            kind = GNUTLS_CB_TLS_EXPORTER
        case "tls-server-end-point":
            kind = GNUTLS_CB_TLS_SERVER_END_POINT
        case "tls-unique":
            // Undefined for TLS 1.3 (RFC 8446 §C.5).
            guard !isTLS13 else { return nil }
            kind = GNUTLS_CB_TLS_UNIQUE
        default:
            return nil
        }
        var datum = gnutls_datum_t()
        guard gnutls_session_channel_binding(session, kind, &datum) == GNUTLS_E_SUCCESS, let data = datum.data else {
            return nil
        }
        defer { tern_gnutls_free(data) }
        let bytes = Array(UnsafeBufferPointer(start: data, count: Int(datum.size)))
        return bytes.isEmpty ? nil : bytes
    }

    /// Channel-binding types this session supports, preferred first.
    public var availableChannelBindings: [String] {
        Self.channelBindingTypes.filter { channelBinding($0) != nil }
    }

    // MARK: certificate details

    private static func describe(_ der: UnsafePointer<gnutls_datum_t>) throws(TLSError) -> PeerCertificate {
        var crtOut: gnutls_x509_crt_t?
        var rc = gnutls_x509_crt_init(&crtOut)
        guard rc == GNUTLS_E_SUCCESS, let crt = crtOut else {
            throw .setupFailed(step: "certificate init", reason: text(rc))
        }
        defer { gnutls_x509_crt_deinit(crt) }
        rc = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER)
        if rc != GNUTLS_E_SUCCESS { throw .handshakeFailed(reason: "unreadable server certificate: \(text(rc))") }

        let subject = distinguishedName { gnutls_x509_crt_get_dn3(crt, $0, 0) }
        let issuer = distinguishedName { gnutls_x509_crt_get_issuer_dn3(crt, $0, 0) }
        let notBefore = Date(timeIntervalSince1970: TimeInterval(gnutls_x509_crt_get_activation_time(crt)))
        let notAfter = Date(timeIntervalSince1970: TimeInterval(gnutls_x509_crt_get_expiration_time(crt)))
        return PeerCertificate(
            subject: subject,
            issuer: issuer,
            subjectAltNames: subjectAltNames(crt),
            notBefore: notBefore,
            notAfter: notAfter,
            spkiSHA256: try spkiSHA256(crt)
        )
    }

    private static func distinguishedName(_ get: (UnsafeMutablePointer<gnutls_datum_t>) -> Int32) -> String {
        var datum = gnutls_datum_t()
        guard get(&datum) == GNUTLS_E_SUCCESS, let data = datum.data else { return "" }
        defer { tern_gnutls_free(data) }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(datum.size)), as: UTF8.self)
    }

    private static func subjectAltNames(_ crt: gnutls_x509_crt_t) -> [String] {
        var names: [String] = []
        var sequence: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 512)
        while sequence < 1024 {
            var size = buffer.count
            var critical: UInt32 = 0
            var type = gnutls_x509_crt_get_subject_alt_name(crt, sequence, &buffer, &size, &critical)
            if type == GNUTLS_E_SHORT_MEMORY_BUFFER {
                buffer = [UInt8](repeating: 0, count: size + 1)
                size = buffer.count
                type = gnutls_x509_crt_get_subject_alt_name(crt, sequence, &buffer, &size, &critical)
            }
            if type < 0 { break }  // REQUESTED_DATA_NOT_AVAILABLE ends the list
            let value = buffer.prefix(min(size, buffer.count))
            switch UInt32(type) {
            case GNUTLS_SAN_DNSNAME.rawValue:
                names.append("DNS:" + String(decoding: value, as: UTF8.self))
            case GNUTLS_SAN_IPADDRESS.rawValue:
                if let address = addressText(Array(value)) { names.append("IP:" + address) }
            case GNUTLS_SAN_URI.rawValue:
                names.append("URI:" + String(decoding: value, as: UTF8.self))
            case GNUTLS_SAN_RFC822NAME.rawValue:
                names.append("email:" + String(decoding: value, as: UTF8.self))
            default:
                break
            }
            sequence += 1
        }
        return names
    }

    /// SHA-256 over the DER SubjectPublicKeyInfo, the same value as
    /// `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`.
    private static func spkiSHA256(_ crt: gnutls_x509_crt_t) throws(TLSError) -> String {
        var keyOut: gnutls_pubkey_t?
        var rc = gnutls_pubkey_init(&keyOut)
        guard rc == GNUTLS_E_SUCCESS, let key = keyOut else {
            throw .setupFailed(step: "public key init", reason: text(rc))
        }
        defer { gnutls_pubkey_deinit(key) }
        rc = gnutls_pubkey_import_x509(key, crt, 0)
        if rc != GNUTLS_E_SUCCESS { throw .handshakeFailed(reason: "unreadable server key: \(text(rc))") }
        var der = gnutls_datum_t()
        rc = gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &der)
        guard rc == GNUTLS_E_SUCCESS, let data = der.data else {
            throw .handshakeFailed(reason: "cannot export server key: \(text(rc))")
        }
        defer { tern_gnutls_free(data) }
        var digest = [UInt8](repeating: 0, count: 32)
        rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, data, Int(der.size), &digest)
        if rc != GNUTLS_E_SUCCESS { throw .setupFailed(step: "SHA-256", reason: text(rc)) }
        return hex(digest)
    }

    // MARK: helpers

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func text(_ code: Int32) -> String {
        guard let message = gnutls_strerror(code) else { return "GnuTLS error \(code)" }
        return String(cString: message)
    }

    private static func addressText(_ raw: [UInt8]) -> String? {
        let family: Int32
        switch raw.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, raw, &out, socklen_t(out.count)) != nil else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func isAddressLiteral(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with a stable pointer to each element's bytes.
    fileprivate func withUnsafeBufferPointers<R>(_ body: ([UnsafeBufferPointer<UInt8>]) -> R) -> R {
        func step(_ index: Int, _ collected: [UnsafeBufferPointer<UInt8>]) -> R {
            guard index < count else { return body(collected) }
            return self[index].withUnsafeBufferPointer { step(index + 1, collected + [$0]) }
        }
        return step(0, [])
    }
}
