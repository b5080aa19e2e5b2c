import Testing
@testable import XMPP

private func message(_ children: [Element]) -> Element {
    Element("message", namespace: NS.client, attributes: ["type": "chat", "id": "new1"], elements: children)
}

@Suite struct CorrectionTests {
    @Test func replaced_id__is_the_replace_elements_id() {
        #expect(Correction.replacedID(in: message([Correction.replace("bad1")])) == "bad1")
    }

    @Test func replaced_id__ignores_other_namespaces_and_empty_ids() {
        let wrongNamespace = Element("replace", namespace: "urn:xmpp:message-correct:1", attributes: ["id": "bad1"])
        #expect(Correction.replacedID(in: message([wrongNamespace])) == nil)
        #expect(Correction.replacedID(in: message([Correction.replace("")])) == nil)
        #expect(Correction.replacedID(in: message([])) == nil)
    }
}

@Suite struct RetractionTests {
    @Test func elements__carry_the_request_the_fallback_marker_and_the_store_hint() throws {
        let stanza = message(Retraction.elements(retracting: "origin-1"))
        #expect(Retraction.retractedID(in: stanza) == "origin-1")
        let fallback = try #require(stanza.child("fallback", namespace: "urn:xmpp:fallback:0"))
        #expect(fallback["for"] == Retraction.namespace)
        #expect(stanza.child("store", namespace: "urn:xmpp:hints") != nil)
    }

    @Test func retracted_id__ignores_the_older_namespace() {
        let old = Element("retract", namespace: "urn:xmpp:message-retract:0", attributes: ["id": "x"])
        #expect(Retraction.retractedID(in: message([old])) == nil)
    }
}

@Suite struct MeCommandTests {
    @Test func action__only_for_a_body_starting_with_slash_me_and_a_space() {
        #expect(MeCommand.action(in: "/me waves") == "waves")
        #expect(MeCommand.action(in: "/me") == nil)
        #expect(MeCommand.action(in: "/meow") == nil)
        #expect(MeCommand.action(in: " /me waves") == nil)
        #expect(MeCommand.action(in: "/ME waves") == nil)
    }
}
