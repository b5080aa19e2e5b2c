/// XEP-0077: registration forms, submissions, password change, removal and error mapping.
import Testing
@testable import XMPP



private func form(_ xml: String) throws(Registration.RegistrationError) -> Registration.Form {
    guard let element = try? parseElement(xml) else { throw .malformedForm("test XML did not parse") }
    return try Registration.parseForm(element)
}

/// Example 2 of XEP-0077 §3.1.
private let legacyForm = """
    <iq type='result' id='reg1'>
      <query xmlns='jabber:iq:register'>
        <instructions>
          Choose a username and password for use with this service.
          Please also provide your email address.
        </instructions>
        <username/>
        <password/>
        <email/>
      </query>
    </iq>
    """

/// Example 7 of XEP-0077 §3.1 (data form with legacy instructions), plus a text-private field.
private let dataFormReply = """
    <iq type='result' id='reg3'>
      <query xmlns='jabber:iq:register'>
        <instructions>If your client does not support Data Forms, visit http://www.shakespeare.lit/contests.php</instructions>
        <username/>
        <x xmlns='jabber:x:data' type='form'>
          <title>Contest Registration</title>
          <instructions>Please provide the following information</instructions>
          <field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>
          <field type='fixed'><value>Passwords are case sensitive.</value></field>
          <field type='text-single' label='Given Name' var='first'><required/></field>
          <field type='text-private' label='Password' var='password'><required/></field>
          <field type='text-single' var='email'/>
          <field type='list-single' label='Gender' var='x-gender'>
            <option label='Male'><value>M</value></option>
            <option label='Female'><value>F</value></option>
          </field>
          <field type='boolean' label='Accept the rules' var='x-rules'><required/></field>
          <field type='text-multi' label='About you' var='x-about'><desc>A few lines</desc></field>
        </x>
      </query>
    </iq>
    """

@Suite struct RegistrationTests {
    // MARK: Stream feature and form request

    @Test func isOffered__registerFeature__inFeaturesOnly() throws {
        let offered = try parseElement("<stream:features><register xmlns='http://jabber.org/features/iq-register'/></stream:features>")
        let absent = try parseElement("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
        let wrongNamespace = try parseElement("<stream:features><register xmlns='jabber:iq:register'/></stream:features>")
        #expect(Registration.isOffered(in: offered))
        #expect(!Registration.isOffered(in: absent))
        #expect(!Registration.isOffered(in: wrongNamespace))
    }

    @Test func formRequest__isAnIqGetWithEmptyQueryAndNoTo() throws {
        let iq = try wire(Registration.formRequest(id: "reg1"))
        #expect(iq.matches("iq", NS.client))
        #expect(iq.attributes == ["type": "get", "id": "reg1"])
        #expect(iq.elements.count == 1)
        #expect(iq.child("query", namespace: NS.register)?.children.isEmpty == true)
    }

    // MARK: Legacy forms

    @Test func parseForm__legacyFields__inOrderRequiredWithFriendlyLabels() throws {
        let parsed = try form(legacyForm)
        #expect(parsed.dataForm == nil)
        #expect(!parsed.isRegistered)
        #expect(parsed.fields.map(\.key) == ["username", "password", "email"])
        #expect(parsed.fields.map(\.label) == ["Username", "Password", "Email"])
        #expect(parsed.fields.map(\.isSecret) == [false, true, false])
        #expect(parsed.fields.allSatisfy { $0.isRequired && $0.kind == .text && $0.defaultValue == nil })
        // Pretty-printing indentation is gone, the two lines remain.
        #expect(parsed.instructions == """
            Choose a username and password for use with this service.
            Please also provide your email address.
            """)
        #expect(parsed.obstacle == nil)
    }

    @Test func parseForm__alreadyRegistered__flagsItAndKeepsValuesOnFileAsDefaults() throws {
        let parsed = try form("""
            <iq type='result' id='reg1'><query xmlns='jabber:iq:register'>\
            <registered/><username>juliet</username><password></password><email>juliet@capulet.com</email>\
            </query></iq>
            """)
        #expect(parsed.isRegistered)
        #expect(parsed.fields.map(\.key) == ["username", "password", "email"])
        #expect(parsed.fields.map(\.defaultValue) == ["juliet", nil, "juliet@capulet.com"])
        #expect(parsed.instructions == nil)
    }

    @Test func parseForm__legacy__skipsMarkersForeignElementsAndDuplicates() throws {
        let parsed = try form("""
            <iq type='result' id='r'><query xmlns='jabber:iq:register'>\
            <key>abc123</key><nick/><remove/><x/><username/><nick/><foo xmlns='urn:example:other'/><first/>\
            </query></iq>
            """)
        #expect(parsed.fields.map(\.key) == ["nick", "username", "first"])
        #expect(parsed.fields.map(\.label) == ["Nickname", "Username", "Given name"])
        #expect(parsed.transactionKey == "abc123")
    }

    @Test func submission__legacy__sendsEveryFieldInOrderWithNoTo() throws {
        let parsed = try form(legacyForm)
        let iq = try wire(Registration.submission(
            parsed, values: ["password": "Calliope", "username": "bill", "ignored": "x"], id: "reg2"))
        #expect(iq.attributes == ["type": "set", "id": "reg2"])
        let query = try #require(iq.child("query", namespace: NS.register))
        #expect(query.elements.map(\.name) == ["username", "password", "email"])
        #expect(query.elements.map(\.text) == ["bill", "Calliope", ""])
        #expect(query.child("x", namespace: NS.dataForms) == nil)
    }

    @Test func submission__legacy__echoesTheTransactionKeyAndUsesDefaults() throws {
        let parsed = try form("""
            <iq type='result' id='r'><query xmlns='jabber:iq:register'>\
            <username>juliet</username><key>abc123</key><password/></query></iq>
            """)
        let query = try #require(try wire(Registration.submission(parsed, values: ["password": "pw"], id: "s"))
            .child("query", namespace: NS.register))
        #expect(query.elements.map(\.name) == ["username", "password", "key"])
        #expect(query.elements.map(\.text) == ["juliet", "pw", "abc123"])
    }

    // MARK: Data forms

    @Test func parseForm__dataForm__takesPrecedenceOverLegacyFields() throws {
        let parsed = try form(dataFormReply)
        #expect(parsed.dataForm?.formType == "jabber:iq:register")
        // Hidden and fixed fields are not questions; the legacy <username/> is ignored.
        #expect(parsed.fields.map(\.key) == ["first", "password", "email", "x-gender", "x-rules", "x-about"])
        #expect(parsed.fields.map(\.isRequired) == [true, true, false, false, true, false])
        #expect(parsed.fields.map(\.isSecret) == [false, true, false, false, false, false])
        #expect(parsed.fields.map(\.label) == ["Given Name", "Password", "Email", "Gender", "Accept the rules", "About you"])
        #expect(parsed.fields[3].kind == .choice([.init(label: "Male", value: "M"), .init(label: "Female", value: "F")]))
        #expect(parsed.fields[4].kind == .boolean)
        #expect(parsed.fields[5].kind == .multiText)
        #expect(parsed.fields[5].allowsMultiple)
        #expect(parsed.fields[5].hint == "A few lines")
        #expect(!parsed.needsUnsupportedChallenge)
    }

    @Test func parseForm__dataForm__instructionsComeFromTheFormAndItsFixedFields() throws {
        let parsed = try form(dataFormReply)
        #expect(parsed.instructions == "Please provide the following information\nPasswords are case sensitive.")
    }

    @Test func submission__dataForm__sendsOnlyTheFormWithFORM_TYPEAndNormalisedValues() throws {
        let parsed = try form(dataFormReply)
        let iq = try wire(Registration.submission(parsed, values: [
            "first": "Juliet", "password": "R0m30", "x-gender": "F", "x-rules": "Yes", "x-about": "line one\nline two",
        ], id: "reg4"))
        #expect(iq.attributes == ["type": "set", "id": "reg4"])
        let query = try #require(iq.child("query", namespace: NS.register))
        // Never both (XEP-0077 §6): only the x:data child, no legacy <username/>.
        #expect(query.elements.count == 1)
        let submitted = try #require(query.child("x", namespace: NS.dataForms).flatMap(DataForm.init))
        #expect(submitted.type == .submit)
        #expect(submitted.formType == "jabber:iq:register")
        #expect(submitted.field("first")?.values == ["Juliet"])
        #expect(submitted.field("password")?.values == ["R0m30"])
        #expect(submitted.field("x-gender")?.values == ["F"])
        #expect(submitted.field("x-rules")?.values == ["1"])
        #expect(submitted.field("x-about")?.values == ["line one", "line two"])
        #expect(submitted.field("email") == nil)
        #expect(!submitted.fields.contains { $0.type == .fixed })
    }

    @Test func parseForm__unreadableDataForm__fallsBackToLegacyFields() throws {
        let parsed = try form("""
            <iq type='result' id='r'><query xmlns='jabber:iq:register'><username/><password/>\
            <x xmlns='jabber:x:data'><field var='first'/></x></query></iq>
            """)
        #expect(parsed.dataForm == nil)
        #expect(parsed.fields.map(\.key) == ["username", "password"])
    }

    // MARK: Out-of-band and challenges

    @Test func parseForm__oobOnly__throwsNeedsWebRegistrationWithTheURL() {
        #expect(throws: Registration.RegistrationError.needsWebRegistration("http://www.shakespeare.lit/contests.php")) {
            try form("""
                <iq type='result' id='reg3'><query xmlns='jabber:iq:register'>\
                <instructions>To register, visit http://www.shakespeare.lit/contests.php</instructions>\
                <x xmlns='jabber:x:oob'><url> http://www.shakespeare.lit/contests.php </url></x></query></iq>
                """)
        }
    }

    @Test func parseForm__instructionsOnly__throwsNeedsWebRegistrationWithTheInstructions() {
        #expect(throws: Registration.RegistrationError.needsWebRegistration("Register at the front desk.")) {
            try form("<iq type='result' id='r'><query xmlns='jabber:iq:register'><instructions>Register at the front desk.</instructions></query></iq>")
        }
    }

    @Test func parseForm__fieldsPlusOOB__keepsTheURLAsAnAlternative() throws {
        let parsed = try form("""
            <iq type='result' id='r'><query xmlns='jabber:iq:register'><username/><password/>\
            <x xmlns='jabber:x:oob'><url>https://example.org/signup</url></x></query></iq>
            """)
        #expect(parsed.outOfBandURL == "https://example.org/signup")
        #expect(parsed.fields.count == 2)
        #expect(parsed.obstacle == nil)
    }

    @Test func parseForm__mediaField__flagsAnUnsupportedChallenge() throws {
        let parsed = try form("""
            <iq type='result' id='r'><query xmlns='jabber:iq:register'>\
            <instructions>You need a client that supports x:data and CAPTCHA to register</instructions>\
            <x xmlns='jabber:x:data' type='form'>\
            <instructions>Choose a username and password to register with this server</instructions>\
            <field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>\
            <field type='text-single' var='username' label='User'><required/></field>\
            <field type='text-private' var='password' label='Password'><required/></field>\
            <field var='ocr' label='Enter the text you see'><required/>\
            <media xmlns='urn:xmpp:media-element'><uri type='image/png'>cid:sha1+abc@bob.xmpp.org</uri></media>\
            </field></x></query></iq>
            """)
        #expect(parsed.needsUnsupportedChallenge)
        #expect(parsed.obstacle == .unsupportedChallenge)
        #expect(parsed.instructions == "Choose a username and password to register with this server")
    }

    @Test func parseForm__captchaFormType__flagsAChallengeEvenWithoutMedia() throws {
        let parsed = try form("""
            <iq type='result' id='r'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'>\
            <field type='hidden' var='FORM_TYPE'><value>urn:xmpp:captcha</value></field>\
            <field var='qa' label='What is 2+2?'/></x></query></iq>
            """)
        #expect(parsed.needsUnsupportedChallenge)
    }

    // MARK: Malformed replies and errors on the form request

    @Test func parseForm__malformedReplies__throwMalformedForm() {
        let replies = [
            "<message type='chat' id='r'/>",
            "<iq type='result' id='r'/>",
            "<iq type='result' id='r'><query xmlns='jabber:iq:roster'/></iq>",
            "<iq type='set' id='r'><query xmlns='jabber:iq:register'><username/></query></iq>",
            "<iq type='result' id='r'><query xmlns='jabber:iq:register'/></iq>",
        ]
        for reply in replies {
            let error = #expect(throws: Registration.RegistrationError.self) { try form(reply) }
            guard case .malformedForm? = error else {
                Issue.record("\(reply) gave \(String(describing: error))")
                continue
            }
        }
    }

    @Test func parseForm__errorReply__mapsForTheFormStep() {
        #expect(throws: Registration.RegistrationError.registrationDisabled) {
            try form("""
                <iq type='error' id='reg1'><error type='cancel'>\
                <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
                """)
        }
        let encryption = StanzaError(type: "modify", condition: "policy-violation", text: "Encryption is required")
        #expect(throws: Registration.RegistrationError.other(encryption)) {
            try form("""
                <iq type='error' id='reg1'><error type='modify'>\
                <policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
                <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Encryption is required</text></error></iq>
                """)
        }
    }

    // MARK: Password change and removal

    @Test func passwordChange__isAnIqSetWithUsernameAndPasswordAndNoTo() throws {
        let iq = try wire(Registration.passwordChange(username: "bill", newPassword: "new & <pass>", id: "change1"))
        #expect(iq.attributes == ["type": "set", "id": "change1"])
        let query = try #require(iq.child("query", namespace: NS.register))
        #expect(query.elements.map(\.name) == ["username", "password"])
        #expect(query.elements.map(\.text) == ["bill", "new & <pass>"])
    }

    @Test func removal__isRemoveAloneWithNoToOrFrom() throws {
        let iq = try wire(Registration.removal(id: "unreg1"))
        #expect(iq.attributes == ["type": "set", "id": "unreg1"])
        #expect(iq["to"] == nil)
        let query = try #require(iq.child("query", namespace: NS.register))
        // §3.2: <remove/> must be the only child, or the server answers bad-request.
        #expect(query.elements == [Element("remove", namespace: NS.register)])
    }

    @Test func checkReply__resultPassesErrorsMapByStep() throws {
        try Registration.checkReply(try parseElement("<iq type='result' id='unreg1'/>"), during: .removal)
        let forbidden = try parseElement("""
            <iq type='error' id='unreg1'><error type='auth'>\
            <forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
            """)
        #expect(throws: Registration.RegistrationError.notAuthorized) {
            try Registration.checkReply(forbidden, during: .removal)
        }
        #expect(throws: Registration.RegistrationError.registrationDisabled) {
            try Registration.checkReply(forbidden, during: .form)
        }
    }

    // MARK: Error mapping

    private func mapped(_ condition: String, _ step: Registration.Step, text: String? = nil) -> Registration.RegistrationError {
        Registration.RegistrationError(StanzaError(type: "cancel", condition: condition, text: text), during: step)
    }

    @Test func errorMapping__conflict__isNameTakenOnlyOnSubmit() {
        #expect(mapped("conflict", .submit) == .nameTaken)
        #expect(mapped("conflict", .passwordChange) == .other(StanzaError(type: "cancel", condition: "conflict")))
    }

    @Test func errorMapping__notAcceptableAndBadRequest__carryTheServerText() {
        #expect(mapped("not-acceptable", .submit, text: "The password is too weak") == .fieldRefused("The password is too weak"))
        #expect(mapped("bad-request", .submit) == .fieldRefused(nil))
        #expect(mapped("jid-malformed", .submit, text: "Malformed username") == .fieldRefused("Malformed username"))
        #expect(mapped("not-acceptable", .passwordChange, text: "weak") == .fieldRefused("weak"))
    }

    @Test func errorMapping__notAllowed__meansDifferentThingsPerStep() {
        #expect(mapped("not-allowed", .form) == .registrationDisabled)
        #expect(mapped("not-allowed", .submit, text: "The CAPTCHA verification has failed")
            == .fieldRefused("The CAPTCHA verification has failed"))
        #expect(mapped("not-allowed", .passwordChange) == .notAuthorized)
        #expect(mapped("not-allowed", .removal) == .notAuthorized)
    }

    @Test func errorMapping__disabledConditionsOnTheFormRequest() {
        for condition in ["not-allowed", "forbidden", "service-unavailable", "feature-not-implemented"] {
            #expect(mapped(condition, .form) == .registrationDisabled, "\(condition)")
        }
        #expect(mapped("service-unavailable", .submit) == .registrationDisabled)
    }

    @Test func errorMapping__notAuthorizedOnPasswordChange() {
        #expect(mapped("not-authorized", .passwordChange) == .notAuthorized)
        #expect(mapped("forbidden", .removal) == .notAuthorized)
    }

    @Test func errorMapping__otherConditions__keepTheWholeError() {
        let throttled = StanzaError(type: "wait", condition: "resource-constraint", text: "not so quickly")
        #expect(Registration.RegistrationError(throttled, during: .submit) == .other(throttled))
        #expect(mapped("forbidden", .submit, text: "Your IP is blocked")
            == .other(StanzaError(type: "cancel", condition: "forbidden", text: "Your IP is blocked")))
        #expect(mapped("registration-required", .removal)
            == .other(StanzaError(type: "cancel", condition: "registration-required")))
    }

    @Test func description__isOneUserFacingLineWithServerTextVerbatim() {
        #expect(Registration.RegistrationError.nameTaken.description == "that name is already taken on this server")
        #expect(Registration.RegistrationError.fieldRefused("Username: \u{1B}[31mbad").description
            == "the server refused a field: Username: \u{1B}[31mbad")
        #expect(Registration.RegistrationError.registrationDisabled.description
            == "this server does not allow in-band registration")
        #expect(Registration.RegistrationError.notOfferedOnThisConnection.description
            == "this server offers no in-band registration on this connection")
        #expect(Registration.RegistrationError.needsWebRegistration("https://example.org/r").description
            .hasSuffix("https://example.org/r"))
        let all: [Registration.RegistrationError] = [
            .nameTaken, .fieldRefused(nil), .fieldRefused("x"), .registrationDisabled, .notOfferedOnThisConnection,
            .notAuthorized, .needsWebRegistration("u"), .unsupportedChallenge, .malformedForm("m"),
            .other(StanzaError(type: "wait", condition: "resource-constraint", text: "later")),
        ]
        for error in all {
            #expect(!error.description.isEmpty && !error.description.contains("\n"), "\(error)")
        }
        #expect(Set(all.map(\.description)).count == all.count)
    }
}
