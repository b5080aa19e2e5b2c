import Testing
@testable import XMPP

/// XEP-0352: discovery from the stream features and the two nonzas.
@Suite struct ClientStateTests {
    @Test func offered__onlyWithTheCSIFeature() throws {
        #expect(ClientState.isOffered(in: try parseElement(
            "<stream:features><csi xmlns='urn:xmpp:csi:0'/><sm xmlns='urn:xmpp:sm:3'/></stream:features>")))
        #expect(!ClientState.isOffered(in: try parseElement("<stream:features><sm xmlns='urn:xmpp:sm:3'/></stream:features>")))
        #expect(!ClientState.isOffered(in: try parseElement("<stream:features><csi xmlns='urn:xmpp:csi:1'/></stream:features>")))
    }

    @Test func nonzas__areUncountedCSIElements() throws {
        #expect(try XMLSerializer.serialize(ClientState.inactive.element) == "<inactive xmlns='urn:xmpp:csi:0'/>")
        #expect(try XMLSerializer.serialize(ClientState.active.element) == "<active xmlns='urn:xmpp:csi:0'/>")
        #expect(!Stanza.isCountable(ClientState.inactive.element), "XEP-0198 counts stanzas, not nonzas")
    }
}
