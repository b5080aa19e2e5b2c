import Testing
@testable import XMPP

/// RFC 6120 §10.3.3 / §8.2.3: an IQ reply is ours only when it comes from whom we asked.
@Suite struct IQReplyMatchingTests {
    let bound = try! JID("alice@example.org/tern")

    func accepted(_ from: String?, to: String?) -> Bool {
        Connection.isExpectedReplier(from, for: to, boundJID: bound, domain: "example.org")
    }

    @Test func reply__to_a_request_to_our_server__comes_from_it_or_our_account() {
        #expect(accepted(nil, to: nil))
        #expect(accepted("example.org", to: nil))
        #expect(accepted("alice@example.org", to: nil))
        #expect(accepted("alice@example.org/tern", to: nil))
        #expect(!accepted("bob@example.org", to: nil))
        #expect(!accepted("evil.example", to: nil))
    }

    @Test func reply__with_a_from_that_is_no_jid__is_not_taken_for_one_without_from() {
        // A malformed `from` must not pass for the server's implicit address.
        #expect(!accepted("@@not a jid", to: nil))
        #expect(!accepted("@@not a jid", to: "alice@example.org"))
    }

    @Test func reply__to_a_request_to_a_peer__comes_from_that_peer_only() {
        #expect(accepted("bob@example.net/phone", to: "bob@example.net/phone"))
        #expect(!accepted("bob@example.net/laptop", to: "bob@example.net/phone"))
        #expect(!accepted(nil, to: "bob@example.net/phone"), "no from means our server, not bob")
        #expect(!accepted("example.org", to: "bob@example.net/phone"))
    }

    @Test func reply__before_authentication__only_from_the_server() {
        #expect(Connection.isExpectedReplier(nil, for: nil, boundJID: nil, domain: "example.org"))
        #expect(Connection.isExpectedReplier("example.org", for: nil, boundJID: nil, domain: "example.org"))
        #expect(!Connection.isExpectedReplier("bob@example.org", for: nil, boundJID: nil, domain: "example.org"))
    }
}
