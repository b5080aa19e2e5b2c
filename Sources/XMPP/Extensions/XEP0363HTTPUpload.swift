import Foundation

/// XEP-0363: HTTP File Upload (namespace `urn:xmpp:http:upload:0`, version 1.1).
///
/// §3 discovery (the service's disco#info feature and its `max-file-size` form field), §4
/// the slot request and its answer, §4.1 the only headers a slot may ask for, §4.2 the
/// errors. Pure stanza building and parsing: the session asks, the HTTP client uploads.
public enum HTTPUpload {
    public static let namespace = "urn:xmpp:http:upload:0"

    /// An upload service found by disco (§3).
    public struct Service: Sendable, Equatable {
        public var jid: JID
        /// The largest file it takes, in bytes; nil when it does not say (§3: no limit is announced).
        public var maxFileSize: Int64?

        public init(jid: JID, maxFileSize: Int64?) {
            self.jid = jid
            self.maxFileSize = maxFileSize
        }
    }

    /// The service `jid` answers for, from its disco#info `<query/>`, or nil when it is not one.
    public static func service(_ jid: JID, info query: Element) -> Service? {
        let offers = query.children("feature", namespace: NS.discoInfo).contains { $0["var"] == namespace }
        guard offers else { return nil }
        // §3: the limit is a field of the extended info form whose FORM_TYPE is the namespace.
        let form = query.children("x", namespace: NS.dataForms).compactMap(DataForm.init)
            .first { $0.field("FORM_TYPE")?.values.first == namespace }
        let limit = form?.field("max-file-size")?.values.first.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        return Service(jid: jid, maxFileSize: limit.flatMap { $0 > 0 ? $0 : nil })
    }

    /// §4: asks `service` for a slot for one file.
    public static func slotRequest(id: String, service: JID, filename: String, size: Int64, contentType: String?) -> Element {
        var attributes = ["filename": filename, "size": String(size)]
        attributes["content-type"] = contentType
        return IQ.request(.get, id: id, to: service, payload: Element("request", namespace: namespace, attributes: attributes))
    }

    /// Where to PUT the file and where others GET it (§4).
    public struct Slot: Sendable, Equatable {
        public var putURL: String
        public var getURL: String
        /// The headers the PUT carries: only those §4.1 allows, one line each.
        public var headers: [Header]

        public struct Header: Sendable, Equatable {
            public var name: String
            public var value: String
        }
    }

    /// §4.1: "other headers MUST NOT be included"; a client strips anything else.
    public static let allowedHeaders: Set<String> = ["authorization", "cookie", "expires"]

    /// The slot of a result IQ, or nil when it holds none or its URLs are not absolute.
    public static func slot(in reply: Element) -> Slot? {
        guard let slot = reply.child("slot", namespace: namespace),
            let put = slot.child("put", namespace: namespace), let putURL = put["url"], isAbsolute(putURL),
            let getURL = slot.child("get", namespace: namespace)?["url"], isAbsolute(getURL)
        else { return nil }
        let headers = put.children("header", namespace: namespace).compactMap { header -> Slot.Header? in
            guard let name = header["name"]?.trimmingCharacters(in: .whitespaces),
                allowedHeaders.contains(name.lowercased())
            else { return nil }
            // §4.1: newlines are stripped from values, so a value cannot add a header of its own.
            let value = String(header.text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
            return Slot.Header(name: name, value: value.trimmingCharacters(in: .whitespaces))
        }
        return Slot(putURL: putURL, getURL: getURL, headers: headers)
    }

    /// §4.2 file-too-large: the service's limit, when its error says it.
    public static func maxFileSize(inError error: Element) -> Int64? {
        error.child("file-too-large", namespace: namespace)?.childText("max-file-size", namespace: namespace)
            .flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    private static func isAbsolute(_ url: String) -> Bool {
        let lower = url.lowercased()
        return (lower.hasPrefix("https://") || lower.hasPrefix("http://"))
            && !url.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7F }
    }
}
