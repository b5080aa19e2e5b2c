import Foundation
import Store
import XMPP

/// Gathers what a contact and its server offer about it — vCard (XEP-0054, or XEP-0292 when our
/// server does PEP), per resource the client software (XEP-0092), idle time (XEP-0012) and
/// capabilities (XEP-0030, cached by XEP-0115 verification string) — and stores it with the
/// time it was fetched, so `tern info` can show it offline later.
enum ContactDetails {
    /// Each request gets this long: a resource that went away must not hold up the rest.
    static let requestTimeout: Duration = .seconds(8)

    static func refresh(_ jid: JID, _ context: FeatureContext) async {
        let bare = jid.bare
        let accountID = context.account.rowID
        let key = bare.description
        if let (card, source) = await fetchVCard(bare, context) {
            try? context.store.saveVCard(accountID: accountID, jid: key, fields: card.fields, source: source)
        }
        var resources = (try? context.store.knownResources(accountID: accountID, jid: key)) ?? []
        if let resource = jid.resource, !resources.contains(resource) { resources.insert(resource, at: 0) }
        // XEP-0115 caps each resource advertised in its presence: claims, checked against the cache.
        var advertised: [String: (node: String, ver: String)] = [:]
        for row in (try? context.store.presence(accountID: accountID, jid: key)) ?? [] where row.available {
            if let node = row.capsNode, let ver = row.capsVer { advertised[row.resource] = (node, ver) }
        }
        var details: [Store.ResourceDetails] = []
        for resource in resources {
            guard let full = try? bare.withResource(resource) else { continue }
            let lookup = capsLookup(advertised: advertised[resource]) { (try? context.store.cachedCaps(ver: $0)) != nil }
            details.append(await fetchResource(full, caps: lookup, context))
        }
        try? context.store.saveResourceDetails(accountID: accountID, jid: key, details)
        // On the bare JID the answer is the time since the last logout (XEP-0012 §4), asked of the server.
        let online = details.contains { $0.error == nil }
        if !online {
            do {
                let result = try await context.request(LastActivity.request(id: context.nextID(), to: bare), timeout: requestTimeout)
                let last = LastActivity(result: result)
                try? context.store.saveLastActivity(accountID: accountID, jid: key, seconds: last?.seconds, status: last?.status)
            } catch is StanzaError {
                try? context.store.saveLastActivity(accountID: accountID, jid: key, seconds: nil, status: nil)
            } catch {}
        }
    }

    /// vCard4 from the contact's PEP node when our server does PEP, else vcard-temp.
    /// nil when neither could be asked (the link failed): the cache keeps what it had.
    static func fetchVCard(_ bare: JID, _ context: FeatureContext) async -> (VCard, String)? {
        if await accountOffersPEP(context) {
            if let result = try? await context.request(VCard4.itemsRequest(id: context.nextID(), to: bare), timeout: requestTimeout),
                let vcard = VCard4.vCardElement(inResult: result)
            {
                let card = VCard4.parse(vcard)
                if !card.isEmpty { return (card, "vcard4") }
            }
        }
        do {
            let result = try await context.request(VCardTemp.getRequest(id: context.nextID(), to: bare), timeout: requestTimeout)
            return (VCardTemp.parse(VCardTemp.vCardElement(inResult: result)), "vcard-temp")
        } catch is StanzaError {
            return (VCard(), "none")
        } catch {
            return nil
        }
    }

    /// Whether our own account (bare JID) shows the PEP identity in disco#info (XEP-0163 §4).
    static func accountOffersPEP(_ context: FeatureContext) async -> Bool {
        guard let query = try? await context.discoInfo(of: context.boundJID.bare, timeout: requestTimeout) else { return false }
        return VCard4.isOffered(byAccountInfo: query)
    }

    /// How to learn one resource's capabilities (XEP-0115 §6.2–6.3).
    enum CapsLookup: Equatable, Sendable {
        /// It advertised a `ver` we verified before: the cache answers, no round trip.
        case cached(ver: String)
        /// Ask disco#info (for `node#ver` when it advertised one) and verify the answer.
        case query(node: String?, ver: String?)
    }

    /// Skips disco#info only for an advertised `ver` already in the shared cache, which holds
    /// only hashes we computed ourselves (`CapsStorage`); an advertised `ver` alone is never trusted.
    static func capsLookup(advertised: (node: String, ver: String)?, isCached: (String) -> Bool) -> CapsLookup {
        guard let advertised else { return .query(node: nil, ver: nil) }
        return isCached(advertised.ver) ? .cached(ver: advertised.ver) : .query(node: advertised.node, ver: advertised.ver)
    }

    /// Version, idle time and capabilities of one resource, asked at once.
    static func fetchResource(_ full: JID, caps: CapsLookup, _ context: FeatureContext) async -> Store.ResourceDetails {
        var details = Store.ResourceDetails(resource: full.resource ?? "")
        async let version = outcome { try await context.request(SoftwareVersion.request(id: context.nextID(), to: full), timeout: requestTimeout) }
        async let last = outcome { try await context.request(LastActivity.request(id: context.nextID(), to: full), timeout: requestTimeout) }
        async let info = fetchInfo(full, caps, context)
        let (versionResult, lastResult, infoResult) = await (version, last, info)
        switch versionResult {
        case .success(let result):
            let software = SoftwareVersion(result: result)
            details.clientName = software?.name
            details.clientVersion = software?.version
            details.clientOS = software?.os
        case .failure(let error):
            details.error = "\(error)"
        }
        if case .success(let result) = lastResult { details.idleSeconds = LastActivity(result: result)?.seconds }
        switch caps {
        case .cached(let ver):
            details.capsVer = ver
        case .query(_, let advertised):
            if case .success(let result)? = infoResult, let query = result.child("query", namespace: NS.discoInfo),
                let storage = capsStorage(for: query, advertised: advertised)
            {
                keep(storage, in: &details, context)
                details.error = nil  // it answered: it is there
            }
        }
        return details
    }

    /// disco#info for the resource, unless the caps cache already answers.
    private static func fetchInfo(_ full: JID, _ caps: CapsLookup, _ context: FeatureContext) async -> Result<Element, any Error>? {
        guard case .query(let node, let ver) = caps else { return nil }
        return await outcome {
            try await context.request(
                EntityCapabilities.infoRequest(id: context.nextID(), to: full, node: node, ver: ver), timeout: requestTimeout)
        }
    }

    /// Where a resource's disco#info answer may be kept (XEP-0115 §5.4), always under the
    /// verification string we compute from it, never under one it merely advertised.
    enum CapsStorage: Equatable, Sendable {
        /// In the caps cache, for everyone who advertises `ver` (§5.4 3.8): it hashed to what
        /// was advertised (or nothing was), and S reads back as this answer only.
        case shared(ver: String, info: EntityCapabilities.Info)
        /// With the resource that gave it only: it did not hash to the advertised `ver` (3.9),
        /// or another answer could hash alike (`Info.isUnambiguous`), so sharing it could
        /// show another contact's client wrongly.
        case own(ver: String, features: [String])

        var ver: String {
            switch self {
            case .shared(let ver, _), .own(let ver, _): ver
            }
        }
    }

    /// nil for an ill-formed answer (§5.4 3.3–3.5, or a '<' inside a value): nothing is kept.
    static func capsStorage(for query: Element, advertised: String?) -> CapsStorage? {
        guard let info = EntityCapabilities.Info(query: query), let ver = try? EntityCapabilities.verificationString(info) else {
            return nil
        }
        if info.isUnambiguous, advertised == nil || advertised == ver { return .shared(ver: ver, info: info) }
        return .own(ver: ver, features: info.features.sorted())
    }

    private static func keep(_ storage: CapsStorage, in details: inout Store.ResourceDetails, _ context: FeatureContext) {
        details.capsVer = storage.ver
        switch storage {
        case .shared(let ver, let info):
            guard (try? context.store.cachedCaps(ver: ver)) == nil else { return }
            let identities = (try? JSONEncoder().encode(info.identities)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
            try? context.store.cacheCaps(ver: ver, identitiesJSON: identities, features: info.features.sorted())
        case .own(_, let features):
            details.features = features
        }
    }

    private static func outcome(_ body: () async throws -> Element) async -> Result<Element, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// Sets one field of our own vCard: fetch, change that field, store the whole vCard back.
    static func setOwnVCard(_ field: VCard.Field, to value: String?, _ context: FeatureContext) async throws -> VCard {
        let current: Element
        do {
            let result = try await context.request(VCardTemp.getRequest(id: context.nextID(), to: nil), timeout: requestTimeout)
            current = VCardTemp.vCardElement(inResult: result)
        } catch let error as StanzaError where error.condition == "item-not-found" {
            current = Element("vCard", namespace: VCardTemp.namespace)
        }
        let updated = VCardTemp.updating(current, field, to: value)
        _ = try await context.request(VCardTemp.setRequest(id: context.nextID(), vCard: updated), timeout: requestTimeout)
        let card = VCardTemp.parse(updated)
        try? context.store.saveVCard(
            accountID: context.account.rowID, jid: context.boundJID.bare.description, fields: card.fields, source: "vcard-temp")
        return card
    }
}

extension SyncEngine {
    /// Refreshes a contact's details over the live session and stores them (`tern info`, `/info`).
    public func refreshDetails(of jid: JID) async throws {
        guard let context = featureContext() else { throw ConnectionError.closed }
        await ContactDetails.refresh(jid, context)
    }
}
