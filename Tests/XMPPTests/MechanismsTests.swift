import Testing
@testable import XMPP

private let everything = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"]
private let bothTLS13Bindings = ["tls-exporter", "tls-server-end-point"]

private func choose(
    _ offered: [String],
    tls: Bool = true,
    tls13: Bool = true,
    announced: [String]? = nil,
    available: [String] = bothTLS13Bindings,
    credential: SASLCredentialKind = .password
) throws(SASLError) -> SASLMechanism.Choice {
    try SASLMechanism.choose(
        offered: offered, tlsActive: tls, tlsVersion13: tls13,
        channelBindingsOffered: announced, availableBindings: available, credential: credential)
}

@Suite struct MechanismsTests {
    // MARK: - Preference and channel binding

    @Test func choose__everythingOnTLS13WithXEP0440__picksSHA256PlusWithTLSExporter() throws {
        let choice = try choose(everything, announced: ["tls-exporter"])
        #expect(choice == .init(mechanism: .scramSHA256Plus, channelBinding: .bind(type: "tls-exporter")))
    }

    // ejabberd 23.01 offers SCRAM-SHA-1-PLUS without XEP-0440 and computes tls-unique even on TLS 1.3,
    // so any binding we guess there fails ("Invalid channel binding"): without a list, TLS 1.3 does not bind.
    @Test func choose__ejabberdOfferOnTLS13__picksSCRAMSHA1WithN() throws {
        let choice = try choose(["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"])
        #expect(choice == .init(mechanism: .scramSHA1, channelBinding: .none))
    }

    @Test func choose__ejabberdOfferOnTLS12__picksSCRAMSHA1PlusWithTLSUnique() throws {
        let choice = try choose(
            ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"], tls13: false,
            available: ["tls-exporter", "tls-unique", "tls-server-end-point"])
        #expect(choice == .init(mechanism: .scramSHA1Plus, channelBinding: .bind(type: "tls-unique")))
    }

    @Test func choose__noXEP0440OnTLS13__neverBindsAndNeverSendsY() throws {
        // With -PLUS offered, "y" would tell an honest server we suspect a downgrade.
        let choice = try choose(everything)
        #expect(choice == .init(mechanism: .scramSHA256, channelBinding: .none))
    }

    @Test func choose__noXEP0440OnTLS12__defaultsToTLSUnique() throws {
        let choice = try choose(everything, tls13: false, available: ["tls-unique", "tls-server-end-point"])
        #expect(choice == .init(mechanism: .scramSHA256Plus, channelBinding: .bind(type: "tls-unique")))
    }

    @Test func choose__noXEP0440AndDefaultTypeUnavailable__usesPlainSCRAMWithN() throws {
        // PLUS offered, so "y" would make an honest server abort; without a known common type we send "n".
        let choice = try choose(everything, tls13: false, available: ["tls-server-end-point"])
        #expect(choice == .init(mechanism: .scramSHA256, channelBinding: .none))
    }

    @Test func choose__xep0440Announced__usesACommonTypeFromTheServerList() throws {
        let choice = try choose(everything, announced: ["tls-server-end-point"])
        #expect(choice == .init(mechanism: .scramSHA256Plus, channelBinding: .bind(type: "tls-server-end-point")))
    }

    @Test func choose__xep0440AnnouncesSeveral__prefersTLSExporter() throws {
        let choice = try choose(everything, announced: ["tls-server-end-point", "tls-exporter"])
        #expect(choice.channelBinding == .bind(type: "tls-exporter"))
    }

    @Test func choose__xep0440WithNoCommonType__fallsBackToSCRAMWithN() throws {
        // tls-unique does not exist on TLS 1.3 even if the caller listed it.
        let choice = try choose(everything, announced: ["tls-unique"], available: ["tls-unique", "tls-exporter"])
        #expect(choice == .init(mechanism: .scramSHA256, channelBinding: .none))
    }

    @Test func choose__onlySHA1PlusBindable__bindingBeatsHashStrength() throws {
        let choice = try choose(["SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"], announced: ["tls-exporter"])
        #expect(choice == .init(mechanism: .scramSHA1Plus, channelBinding: .bind(type: "tls-exporter")))
    }

    @Test func choose__noPlusOfferedButWeCanBind__sendsYForDowngradeProtection() throws {
        let choice = try choose(["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"])
        #expect(choice == .init(mechanism: .scramSHA256, channelBinding: .notAdvertised))
    }

    @Test func choose__noPlusOfferedAndNothingToBindWith__sendsN() throws {
        let choice = try choose(["SCRAM-SHA-1"], available: [])
        #expect(choice == .init(mechanism: .scramSHA1, channelBinding: .none))
    }

    @Test func choose__xep0440AnnouncedButPlusStripped__isADowngrade() {
        #expect(throws: SASLError.channelBindingDowngrade) {
            _ = try choose(["SCRAM-SHA-256", "SCRAM-SHA-1"], announced: ["tls-exporter"])
        }
    }

    @Test func choose__withoutTLS__neverBindsNorSendsY() throws {
        let choice = try choose(everything, tls: false)
        #expect(choice == .init(mechanism: .scramSHA256, channelBinding: .none))
        let noPlus = try choose(["SCRAM-SHA-1"], tls: false)
        #expect(noPlus.channelBinding == .none)
    }

    @Test func choose__mechanismNames__areMatchedCaseInsensitively() throws {
        #expect(try choose(["scram-sha-1"], available: []).mechanism == .scramSHA1)
    }

    // MARK: - PLAIN

    @Test func choose__plainOnlyWithoutTLS__isRefused() {
        #expect(throws: SASLError.noAcceptableMechanism(offered: ["PLAIN"])) {
            _ = try choose(["PLAIN"], tls: false)
        }
    }

    @Test func choose__plainOnlyOverTLSWithPassword__isAccepted() throws {
        #expect(try choose(["PLAIN"]) == .init(mechanism: .plain, channelBinding: .none))
    }

    @Test func choose__plainOnlyWithStoredKeys__isRefused() {
        #expect(throws: SASLError.self) { _ = try choose(["PLAIN"], credential: .scramKeys(.sha256)) }
    }

    @Test func choose__scramOffered__isPreferredOverPlain() throws {
        #expect(try choose(["PLAIN", "SCRAM-SHA-1"], available: []).mechanism == .scramSHA1)
    }

    // MARK: - Stored keys restrict the hash

    @Test func choose__sha1Keys__pickSHA1PlusNotSHA256() throws {
        let choice = try choose(everything, announced: ["tls-exporter"], credential: .scramKeys(.sha1))
        #expect(choice == .init(mechanism: .scramSHA1Plus, channelBinding: .bind(type: "tls-exporter")))
    }

    @Test func choose__sha256KeysButServerOnlyHasSHA1__noAcceptableMechanism() {
        #expect(throws: SASLError.self) {
            _ = try choose(["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "PLAIN"], credential: .scramKeys(.sha256))
        }
    }

    @Test func choose__sha256KeysWhileServerOffersOnlySHA1Plus__sendsNNotY() throws {
        let choice = try choose(["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256"], credential: .scramKeys(.sha256))
        #expect(choice == .init(mechanism: .scramSHA256, channelBinding: .none))
    }

    @Test func choose__nothingOffered__noAcceptableMechanism() {
        #expect(throws: SASLError.noAcceptableMechanism(offered: [])) { _ = try choose([]) }
    }

    // MARK: - Plans, features and failures

    @Test func plan__resolvedWithData__becomesTheSCRAMInput() {
        #expect(SASLMechanism.ChannelBindingPlan.bind(type: "tls-exporter").choice(data: [7])
            == .binding(type: "tls-exporter", data: [7]))
        #expect(SASLMechanism.ChannelBindingPlan.notAdvertised.choice(data: []) == .notAdvertised)
    }

    @Test func features__mechanismsAndChannelBindings__areRead() {
        let features = Element("features", namespace: NS.stream, elements: [
            Element("mechanisms", namespace: NS.sasl, elements: [
                Element("mechanism", namespace: NS.sasl, elements: [], text: "SCRAM-SHA-1"),
                Element("mechanism", namespace: NS.sasl, elements: [], text: " PLAIN\n"),
            ]),
            Element("sasl-channel-binding", namespace: NS.saslChannelBinding, elements: [
                Element("channel-binding", namespace: NS.saslChannelBinding, attributes: ["type": "tls-exporter"]),
            ]),
        ])
        #expect(SASLMechanism.offeredNames(in: features) == ["SCRAM-SHA-1", "PLAIN"])
        #expect(SASLMechanism.channelBindingTypes(in: features) == ["tls-exporter"])
        #expect(SASLMechanism.channelBindingTypes(in: Element("features", namespace: NS.stream)) == nil)
    }

    @Test func failure__notAuthorized__saysWrongPassword() {
        let element = Element("failure", namespace: NS.sasl, elements: [
            Element("not-authorized", namespace: NS.sasl),
            Element("text", namespace: NS.sasl, elements: [], text: "Bad credentials"),
        ])
        let error = SASLError(failure: element)
        #expect(error == .failure(condition: "not-authorized", text: "Bad credentials"))
        #expect(error.description.contains("wrong username or password"))
        #expect(error.needsNewPassword)
    }

    @Test func failure__temporary__doesNotAskForPassword() {
        let error = SASLError(failure: Element("failure", namespace: NS.sasl, elements: [
            Element("temporary-auth-failure", namespace: NS.sasl),
        ]))
        #expect(error == .failure(condition: "temporary-auth-failure", text: nil))
        #expect(!error.needsNewPassword)
    }
}
