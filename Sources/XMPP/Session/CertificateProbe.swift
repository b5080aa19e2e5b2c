/// Fetches a server's certificate for `tern trust --show` over the same path as a login:
/// STARTTLS (RFC 6120 §5) through `StreamNegotiator`, or direct TLS (XEP-0368), then the
/// handshake, and the leaf with whether it verified. Nothing is sent over the TLS session.
public enum CertificateProbe {
    public struct Result: Sendable {
        public var certificate: PeerCertificate
        /// nil when trusted; otherwise why not.
        public var verificationError: TLSError?
    }

    /// `configuration` as for a login to the account; its credential is never used.
    public static func fetch(_ configuration: ConnectionConfiguration) async throws(ConnectionError) -> Result {
        var probe = configuration
        probe.purpose = .certificate
        probe.streamManagement = nil
        return try await Connection(configuration: probe).fetchCertificate()
    }
}
