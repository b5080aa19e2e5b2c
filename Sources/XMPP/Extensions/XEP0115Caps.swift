/// XEP-0115: Entity Capabilities (`http://jabber.org/protocol/caps`), §5 verification strings.
///
/// We put a `<c/>` on our presence so others can skip a disco#info round trip, and we cache
/// what others advertise by verification string — but only after recomputing the string
/// from their disco#info answer (§5.4), and only an answer that no other could hash like
/// (`Info.isUnambiguous`), so neither a forged hash nor a forged answer poisons the cache.
import Foundation

public enum EntityCapabilities {
    public static let namespace = "http://jabber.org/protocol/caps"
    /// Identifies tern as the software behind the hash (§4: a URI of the application).
    public static let ternNode = "https://tern.invalid/caps"

    /// One disco identity as it enters the verification string.
    public struct Identity: Sendable, Hashable, Codable {
        public var category: String
        public var type: String
        public var lang: String
        public var name: String

        public init(category: String, type: String, lang: String = "", name: String = "") {
            self.category = category
            self.type = type
            self.lang = lang
            self.name = name
        }

        var capsString: String { "\(category)/\(type)/\(lang)/\(name)" }
    }

    /// What a disco#info answer describes: the input of §5.1.
    public struct Info: Sendable, Equatable, Codable {
        public var identities: [Identity]
        public var features: [String]
        /// Extended info forms (XEP-0128), FORM_TYPE first among each form's fields.
        public var forms: [[String: [String]]]

        public init(identities: [Identity], features: [String], forms: [[String: [String]]] = []) {
            self.identities = identities
            self.features = features
            self.forms = forms
        }

        /// Reads a disco#info `<query/>`; nil when §5.4 says the answer is ill-formed: a
        /// duplicate identity or feature, two forms of one FORM_TYPE or a FORM_TYPE with two
        /// values (3.3–3.5), or a '<' in any value that enters the hash. §5.1 ends every value
        /// with '<', so a feature `a<b` would hash like features `a` and `b` (the preimage
        /// note of §5.1 and §8.2). A form without a hidden FORM_TYPE is ignored (3.6).
        public init?(query: Element) {
            identities = query.children("identity", namespace: NS.discoInfo).map {
                Identity(
                    category: $0["category"] ?? "", type: $0["type"] ?? "",
                    lang: $0.attributes["xml:lang"] ?? $0.attributes["lang"] ?? "", name: $0["name"] ?? "")
            }
            features = query.children("feature", namespace: NS.discoInfo).compactMap { $0["var"] }
            guard Set(identities).count == identities.count, Set(features).count == features.count else { return nil }
            var forms: [[String: [String]]] = []
            for x in query.children("x", namespace: NS.dataForms) {
                var form: [String: [String]] = [:]
                let fields = x.children("field", namespace: NS.dataForms)
                guard let formType = fields.first(where: { $0["var"] == "FORM_TYPE" }), formType["type"] == "hidden" else { continue }
                for field in fields {
                    guard let name = field["var"] else { continue }
                    form[name] = field.children("value", namespace: NS.dataForms).map(\.text)
                }
                guard Set(form["FORM_TYPE"] ?? []).count == 1 else { return nil }
                forms.append(form)
            }
            let types = forms.compactMap { $0["FORM_TYPE"]?.first }
            guard Set(types).count == types.count else { return nil }
            self.forms = forms
            let hashed = identities.flatMap { [$0.category, $0.type, $0.lang, $0.name] } + features
                + forms.flatMap { $0.flatMap { [$0.key] + $0.value } }
            guard !hashed.contains(where: { $0.contains("<") }) else { return nil }
        }

        /// Whether S (§5.1) reads back as this answer and no other, so that everyone who
        /// advertises its hash may be shown it (§5.4 3.8: "globally cache").
        ///
        /// S marks where each value ends, not what it is: a feature `client/pc//Pal` hashes
        /// like an identity, and a form whose FORM_TYPE and fields are feature names (fields
        /// with no value) hashes like those features. So only an answer without forms, whose
        /// identities have a category and a type and no '/' before the name, and none of whose
        /// features reads as an identity, is unambiguous: its identities are exactly the
        /// leading values of S that read as identities. (No value holds '<': `init(query:)`.)
        public var isUnambiguous: Bool {
            forms.isEmpty
                && identities.allSatisfy { identity in
                    !identity.category.isEmpty && !identity.type.isEmpty
                        && ![identity.category, identity.type, identity.lang].contains { $0.contains("/") }
                }
                && !features.contains(where: Self.readsAsIdentity)
        }

        /// CATEGORY/TYPE/LANG/NAME with a category and a type (§5.1 step 2).
        static func readsAsIdentity(_ value: String) -> Bool {
            let parts = value.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            return parts.count == 4 && !parts[0].isEmpty && !parts[1].isEmpty
        }
    }

    /// The §5.1 string S; SHA-1 of it, base64, is the verification string.
    public static func verificationInput(_ info: Info) -> String {
        var s = ""
        for identity in info.identities.map(\.capsString).sorted(by: octetOrder) { s += identity + "<" }
        for feature in info.features.sorted(by: octetOrder) { s += feature + "<" }
        let forms = info.forms.sorted { octetOrder($0["FORM_TYPE"]?.first ?? "", $1["FORM_TYPE"]?.first ?? "") }
        for form in forms {
            s += (form["FORM_TYPE"]?.first ?? "") + "<"
            for name in form.keys.filter({ $0 != "FORM_TYPE" }).sorted(by: octetOrder) {
                s += name + "<"
                for value in (form[name] ?? []).sorted(by: octetOrder) { s += value + "<" }
            }
        }
        return s
    }

    public static func verificationString(_ info: Info) throws(CryptoError) -> String {
        Base64.encode(try HashAlgorithm.sha1.hash(Array(verificationInput(info).utf8)))
    }

    /// Whether `ver`, advertised with hash `sha-1`, matches the disco#info answer (§5.4).
    public static func validates(_ ver: String, hash: String, info: Info) -> Bool {
        guard hash == "sha-1", let computed = try? verificationString(info) else { return false }
        return computed == ver
    }

    /// The `<c/>` for our presence, describing exactly what our disco#info answers.
    public static func ourCaps(identity: DiscoIdentity = .tern, features: [String]) throws(CryptoError) -> Element {
        let info = Info(identities: [Identity(category: identity.category, type: identity.type, name: identity.name)], features: Array(Set(features + [NS.discoInfo])))
        return Element("c", namespace: namespace, attributes: [
            "hash": "sha-1", "node": ternNode, "ver": try verificationString(info),
        ])
    }

    /// The `<c/>` of a presence, if it carries one: (node, ver, hash).
    public static func advertised(in presence: Element) -> (node: String, ver: String, hash: String)? {
        guard let c = presence.child("c", namespace: namespace), let node = c["node"], let ver = c["ver"] else { return nil }
        return (node, ver, c["hash"] ?? "")
    }

    /// disco#info asking for what `node#ver` means (§6.2).
    public static func infoRequest(id: String, to: JID, node: String?, ver: String?) -> Element {
        var attributes: [String: String] = [:]
        if let node, let ver { attributes["node"] = "\(node)#\(ver)" }
        return IQ.request(.get, id: id, to: to, payload: Element("query", namespace: NS.discoInfo, attributes: attributes))
    }

    /// i;octet collation (§5.1): compare UTF-8 bytes, not Unicode order or locale.
    static func octetOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
