/// XEP-0363 discovery, slots and errors, and XEP-0066 OOB, from the XEPs' own examples.
import Testing
@testable import XMPP

@Suite struct HTTPUploadTests {
    private let service = try! JID("upload.montague.tld")

    @Test func service__reads_the_limit_from_the_extended_form() throws {
        let query = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'>
              <identity category='store' type='file' name='HTTP File Upload'/>
              <feature var='urn:xmpp:http:upload:0'/>
              <x type='result' xmlns='jabber:x:data'>
                <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:http:upload:0</value></field>
                <field var='max-file-size'><value>5242880</value></field>
              </x>
            </query>
            """)
        #expect(HTTPUpload.service(service, info: query) == HTTPUpload.Service(jid: service, maxFileSize: 5_242_880))
    }

    @Test func service__without_the_feature_is_none_and_a_limit_elsewhere_is_ignored() throws {
        let notUpload = try parseElement("<query xmlns='http://jabber.org/protocol/disco#info'><feature var='jabber:iq:version'/></query>")
        #expect(HTTPUpload.service(service, info: notUpload) == nil)
        let otherForm = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:http:upload:0'/>
              <x type='result' xmlns='jabber:x:data'>
                <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:other</value></field>
                <field var='max-file-size'><value>12</value></field>
              </x></query>
            """)
        #expect(HTTPUpload.service(service, info: otherForm)?.maxFileSize == nil)
    }

    @Test func slot_request__names_the_file_size_and_type() throws {
        let request = try wire(HTTPUpload.slotRequest(id: "step_03", service: service, filename: "très cool.jpg", size: 23456, contentType: "image/jpeg"))
        #expect(request["to"] == "upload.montague.tld")
        #expect(request["type"] == "get")
        let payload = try #require(request.child("request", namespace: HTTPUpload.namespace))
        #expect(payload["filename"] == "très cool.jpg")
        #expect(payload["size"] == "23456")
        #expect(payload["content-type"] == "image/jpeg")
    }

    @Test func slot__keeps_only_the_allowed_headers_on_one_line_each() throws {
        let reply = try parseElement("""
            <iq from='upload.montague.tld' id='step_03' to='romeo@montague.tld/garden' type='result'>
              <slot xmlns='urn:xmpp:http:upload:0'>
                <put url='https://upload.montague.tld/4a771ac1/tr%C3%A8s%20cool.jpg'>
                  <header name='Authorization'>Basic Base64String==&#13;&#10;X-Injected: yes</header>
                  <header name='Cookie'>foo=bar; user=romeo</header>
                  <header name='Host'>evil.example</header>
                  <header name='X-Other'>nope</header>
                  <header name='expires'>Tue, 01 Dec 2026 10:00:00 GMT</header>
                </put>
                <get url='https://download.montague.tld/4a771ac1/tr%C3%A8s%20cool.jpg'/>
              </slot>
            </iq>
            """)
        let slot = try #require(HTTPUpload.slot(in: reply))
        #expect(slot.putURL == "https://upload.montague.tld/4a771ac1/tr%C3%A8s%20cool.jpg")
        #expect(slot.getURL == "https://download.montague.tld/4a771ac1/tr%C3%A8s%20cool.jpg")
        #expect(slot.headers.map(\.name) == ["Authorization", "Cookie", "expires"])
        #expect(slot.headers[0].value == "Basic Base64String==X-Injected: yes")
        #expect(slot.headers.allSatisfy { !$0.value.contains("\r") && !$0.value.contains("\n") })
    }

    @Test func slot__with_a_relative_or_spaced_url_is_refused() throws {
        for url in ["/relative/path", "ftp://upload.montague.tld/x", "https://upload.montague.tld/a b"] {
            let reply = try parseElement("""
                <iq type='result' id='x'><slot xmlns='urn:xmpp:http:upload:0'>
                  <put url='\(url)'/><get url='https://upload.montague.tld/x'/></slot></iq>
                """)
            #expect(HTTPUpload.slot(in: reply) == nil, "\(url)")
        }
    }

    @Test func file_too_large_error__gives_the_limit() throws {
        let error = try parseElement("""
            <error type='modify'>
              <not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
              <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>File too large. The maximum file size is 20000 bytes</text>
              <file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>20000</max-file-size></file-too-large>
            </error>
            """)
        #expect(HTTPUpload.maxFileSize(inError: error) == 20000)
    }

    @Test func oob__round_trips_and_ignores_blank_urls() throws {
        let message = Element("message", namespace: NS.client, elements: [OutOfBand.element(url: "https://x.example/f.png")])
        #expect(OutOfBand.url(in: try wire(message)) == "https://x.example/f.png")
        let blank = try parseElement("<message><x xmlns='jabber:x:oob'><url>  </url></x></message>")
        #expect(OutOfBand.url(in: blank) == nil)
    }
}
