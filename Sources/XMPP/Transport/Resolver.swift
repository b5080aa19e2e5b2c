/// XEP-0368 §3 and RFC 6120 §3.2: where to connect for a domain, via `_xmpps-client` and `_xmpp-client` SRV records.
///
/// Both services are merged into one RFC 2782 ordering (XEP-0368 rule 1), so the
/// operator's priorities and weights decide between direct TLS and STARTTLS.
/// The connection endpoint's host is the SRV target, but TLS must still be
/// verified against the JID's domain (RFC 6120 §13.7.2.1), never the target.
import CDNS

/// One place to try to connect to.
public struct Endpoint: Sendable, Hashable {
    public var host: String
    public var port: UInt16
    /// TLS right after the TCP connect (`xmpps-client`) rather than STARTTLS.
    public var directTLS: Bool

    public init(host: String, port: UInt16, directTLS: Bool) {
        self.host = host
        self.port = port
        self.directTLS = directTLS
    }
}

/// One SRV answer, tagged with the service it came from.
public struct SRVRecord: Sendable, Hashable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// Without the trailing dot; the root name is ".".
    public var target: String
    public var directTLS: Bool

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String, directTLS: Bool) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
        self.directTLS = directTLS
    }

    var isRoot: Bool { target == "." || target.isEmpty }
}

/// What one SRV query told us.
public enum SRVLookup: Sendable, Hashable {
    case records([SRVRecord])
    /// NXDOMAIN or no SRV records at that name.
    case noRecords
    /// The query itself failed (no network, SERVFAIL, ...): treated like `noRecords`.
    case failed

    /// RFC 2782: a lone "." target means the service is decidedly not available.
    var isDecidedlyNotAvailable: Bool {
        if case .records(let list) = self, list.count == 1, list[0].isRoot { return true }
        return false
    }

    var usable: [SRVRecord] {
        if case .records(let list) = self { return list.filter { !$0.isRoot } }
        return []
    }
}

public enum Resolver {
    /// The XMPP client port used when there are no SRV records (RFC 6120 §3.2.2).
    public static let defaultPort: UInt16 = 5222

    /// Endpoints to try, in order. Performs blocking DNS queries: call it off the
    /// cooperative thread pool. An empty result means the domain has said, with a
    /// "." SRV target, that it offers no XMPP client service.
    public static func endpoints(domain: String, override: Endpoint?) -> [Endpoint] {
        // RFC 6120 §3.2.3: a configured host and port bypass SRV entirely.
        if let override { return [override] }
        var rng = SystemRandomNumberGenerator()
        return order(
            domain: domain,
            directTLS: lookup("_xmpps-client._tcp.\(domain)", directTLS: true),
            startTLS: lookup("_xmpp-client._tcp.\(domain)", directTLS: false),
            using: &rng
        )
    }

    /// Merges both lookups into a connection order. Pure apart from `generator`.
    ///
    /// - A lone "." in one service removes only that service (XEP-0368 §5).
    /// - Any "." also forbids the A/AAAA fallback: the operator has said SRV is
    ///   in use (XEP-0368 §5, RFC 6120 §3.2.1).
    /// - With no usable records and no ".", fall back to domain:5222 with STARTTLS.
    public static func order<G: RandomNumberGenerator>(
        domain: String,
        directTLS: SRVLookup,
        startTLS: SRVLookup,
        using generator: inout G
    ) -> [Endpoint] {
        let records = directTLS.usable + startTLS.usable
        if records.isEmpty {
            if directTLS.isDecidedlyNotAvailable || startTLS.isDecidedlyNotAvailable { return [] }
            return [Endpoint(host: domain, port: defaultPort, directTLS: false)]
        }
        return rfc2782Order(records, using: &generator).map {
            Endpoint(host: $0.target, port: $0.port, directTLS: $0.directTLS)
        }
    }

    /// RFC 2782 "Usage rules": ascending priority; inside a priority, repeated
    /// weighted random selection where zero-weight records sit first in the
    /// running sum, so they are picked only when the draw is 0 or they are last.
    public static func rfc2782Order<G: RandomNumberGenerator>(
        _ records: [SRVRecord],
        using generator: inout G
    ) -> [SRVRecord] {
        let priorities = Set(records.map(\.priority)).sorted()
        var result: [SRVRecord] = []
        result.reserveCapacity(records.count)
        for priority in priorities {
            let group = records.filter { $0.priority == priority }
            var pending = group.filter { $0.weight == 0 } + group.filter { $0.weight != 0 }
            while !pending.isEmpty {
                let total = pending.reduce(UInt64(0)) { $0 + UInt64($1.weight) }
                let draw = total == 0 ? 0 : generator.next(upperBound: total + 1)
                var running: UInt64 = 0
                var chosen = pending.count - 1
                for (index, record) in pending.enumerated() {
                    running += UInt64(record.weight)
                    if running >= draw {
                        chosen = index
                        break
                    }
                }
                result.append(pending.remove(at: chosen))
            }
        }
        return result
    }

    /// One SRV query through libresolv.
    static func lookup(_ name: String, directTLS: Bool) -> SRVLookup {
        let capacity = 64
        var buffer = [cdns_srv_record](repeating: cdns_srv_record(), count: capacity)
        let count = buffer.withUnsafeMutableBufferPointer {
            cdns_srv_query(name, $0.baseAddress, Int32(capacity))
        }
        if count < 0 { return .failed }
        if count == 0 { return .noRecords }
        let records = buffer.prefix(Int(count)).map { raw in
            SRVRecord(
                priority: raw.priority,
                weight: raw.weight,
                port: raw.port,
                target: targetString(raw),
                directTLS: directTLS
            )
        }
        return .records(records)
    }

    private static func targetString(_ raw: cdns_srv_record) -> String {
        withUnsafeBytes(of: raw.target) { bytes in
            let text = bytes.prefix { $0 != 0 }
            return String(decoding: text, as: UTF8.self)
        }
    }
}
