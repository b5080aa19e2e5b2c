import Foundation
import XMPP

/// Finding the server's upload service and asking it for a slot (XEP-0363 §3, §4) on a live
/// session; the bytes then go through `HTTPTransfer`.
public enum FileUpload {
    /// Why a file cannot be uploaded, in one line.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case noService(String)
        case tooLarge(size: Int64, limit: Int64)
        case refused(String)

        public var description: String {
            switch self {
            case .noService(let domain): "\(domain) offers no HTTP upload service (XEP-0363)"
            case .tooLarge(let size, let limit): "the file is \(size) bytes; the server takes at most \(limit)"
            case .refused(let reason): "the upload service refused a slot: \(reason)"
            }
        }
    }

    /// How many of the server's disco#items are asked whether they are the upload service.
    static let maxCandidates = 16

    /// The first item of the server's disco#items that is an upload service (§3).
    public static func findService(on engine: SyncEngine, domain: JID) async throws -> HTTPUpload.Service {
        // The server itself may be the service; its components are the usual place.
        var candidates = [domain]
        let items = try await engine.request(
            IQ.request(.get, id: UUID().uuidString.lowercased(), to: domain, payload: Element("query", namespace: NS.discoItems)))
        let listed = items.child("query", namespace: NS.discoItems)?.children("item", namespace: NS.discoItems) ?? []
        // Each is asked in turn (up to 15 s each): a long list is cut, not waited through.
        for item in listed.prefix(maxCandidates) {
            if let jid = item["jid"].flatMap({ try? JID($0) }) { candidates.append(jid) }
        }
        for candidate in candidates {
            let request = IQ.request(
                .get, id: UUID().uuidString.lowercased(), to: candidate, payload: Element("query", namespace: NS.discoInfo))
            guard let reply = try? await engine.request(request, timeout: .seconds(15)),
                let query = reply.child("query", namespace: NS.discoInfo),
                let service = HTTPUpload.service(candidate, info: query)
            else { continue }
            return service
        }
        throw Failure.noService(domain.description)
    }

    /// A slot for `size` bytes named `filename`, refused before asking when over the limit.
    public static func requestSlot(
        on engine: SyncEngine, service: HTTPUpload.Service, filename: String, size: Int64, contentType: String?
    ) async throws -> HTTPUpload.Slot {
        if let limit = service.maxFileSize, size > limit { throw Failure.tooLarge(size: size, limit: limit) }
        let request = HTTPUpload.slotRequest(
            id: UUID().uuidString.lowercased(), service: service.jid, filename: filename, size: size, contentType: contentType)
        let reply: Element
        do {
            reply = try await engine.request(request)
        } catch let error as StanzaError {
            throw Failure.refused(error.description)
        }
        guard let slot = HTTPUpload.slot(in: reply) else { throw Failure.refused("its answer holds no usable slot") }
        return slot
    }
}
