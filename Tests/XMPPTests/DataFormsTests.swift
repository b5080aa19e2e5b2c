/// XEP-0004 §3: parsing data forms and building submissions.
import Testing
@testable import XMPP



/// The bot configuration form of XEP-0004 §6.1, trimmed, wrapped in a message so it is depth 1.
private let botForm = """
    <message><x xmlns='jabber:x:data' type='form'>
      <title>Bot Configuration</title>
      <instructions>Fill out this form to configure your new bot!</instructions>
      <instructions>Second line.</instructions>
      <field type='hidden' var='FORM_TYPE'><value>jabber:bot</value></field>
      <field type='fixed'><value>Section 1: Bot Info</value></field>
      <field type='text-single' label='The name of your bot' var='botname'/>
      <field type='text-multi' label='Helpful description of your bot' var='description'/>
      <field type='boolean' label='Public bot?' var='public'><required/></field>
      <field type='text-private' label='Password for special access' var='password'/>
      <field type='list-multi' label='What features will the bot support?' var='features'>
        <option label='Contests'><value>contests</value></option>
        <option label='News'><value>news</value></option>
        <option label='Search'><value>search</value></option>
        <value>news</value>
        <value>search</value>
      </field>
      <field type='list-single' label='Maximum number of subscribers' var='maxsubs'>
        <value>20</value>
        <option label='10'><value>10</value></option>
        <option label='20'><value>20</value></option>
        <option><value>none</value></option>
        <option label='broken'/>
      </field>
      <field type='jid-multi' label='People to invite' var='invitelist'>
        <desc>Tell all your friends about your new bot!</desc>
      </field>
      <field type='x-future-type' var='mystery'/>
      <field var='untyped'/>
    </x></message>
    """

@Suite struct DataFormsTests {
    private func botDataForm() throws -> DataForm {
        let message = try parseElement(botForm)
        return try #require(message.child("x", namespace: NS.dataForms).flatMap(DataForm.init))
    }

    @Test func parse__botForm__readsTitleInstructionsAndFieldsInOrder() throws {
        let form = try botDataForm()
        #expect(form.type == .form)
        #expect(form.title == "Bot Configuration")
        #expect(form.instructions == ["Fill out this form to configure your new bot!", "Second line."])
        #expect(form.fields.map(\.variable) == [
            "FORM_TYPE", nil, "botname", "description", "public", "password", "features", "maxsubs", "invitelist",
            "mystery", "untyped",
        ])
        #expect(form.fields.map(\.type) == [
            .hidden, .fixed, .textSingle, .textMulti, .boolean, .textPrivate, .listMulti, .listSingle, .jidMulti,
            .textSingle, .textSingle,
        ])
    }

    @Test func parse__unknownOrMissingFieldType__defaultsToTextSingle() throws {
        let form = try botDataForm()
        #expect(form.field("mystery")?.type == .textSingle)
        #expect(form.field("untyped")?.type == .textSingle)
    }

    @Test func parse__fieldDetails__requiredDescValuesAndOptions() throws {
        let form = try botDataForm()
        #expect(form.field("public")?.isRequired == true)
        #expect(form.field("botname")?.isRequired == false)
        #expect(form.field("botname")?.label == "The name of your bot")
        #expect(form.field("invitelist")?.description == "Tell all your friends about your new bot!")
        #expect(form.field("features")?.values == ["news", "search"])
        #expect(form.field("features")?.options == [
            .init(label: "Contests", value: "contests"), .init(label: "News", value: "news"),
            .init(label: "Search", value: "search"),
        ])
        // An option without a <value/> cannot be chosen and is dropped; a missing label stays nil.
        #expect(form.field("maxsubs")?.options == [
            .init(label: "10", value: "10"), .init(label: "20", value: "20"), .init(label: nil, value: "none"),
        ])
        #expect(form.field("maxsubs")?.values == ["20"])
        #expect(form.fields.allSatisfy { !$0.hasMedia })
    }

    @Test func formType__isTheHiddenFORM_TYPEValue() throws {
        #expect(try botDataForm().formType == "jabber:bot")
    }

    @Test func formType__ignoresAFORM_TYPEThatIsNotHidden() {
        let form = DataForm(type: .form, fields: [.init(variable: "FORM_TYPE", type: .textSingle, values: ["x"])])
        #expect(form.formType == nil)
    }

    @Test func parse__rejectsWrongElementOrMissingOrUnknownType() throws {
        #expect(DataForm(try parseElement("<x xmlns='jabber:x:data'><field var='a'/></x>")) == nil)
        #expect(DataForm(try parseElement("<x xmlns='jabber:x:data' type='bogus'/>")) == nil)
        #expect(DataForm(try parseElement("<x xmlns='jabber:x:oob' type='form'/>")) == nil)
        #expect(DataForm(try parseElement("<x xmlns='jabber:x:data' type='result'/>"))?.type == .result)
    }

    @Test func parse__mediaElement__setsHasMediaAndKeepsURIs() throws {
        let x = try parseElement("""
            <x xmlns='jabber:x:data' type='form'>\
            <field var='ocr' label='Enter the text you see'>\
            <media xmlns='urn:xmpp:media-element' height='80' width='290'>\
            <uri type='image/jpeg'>http://example.org/challenge.jpeg</uri>\
            <uri type='image/jpeg'>cid:sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org</uri>\
            </media><required/></field></x>
            """)
        let field = try #require(DataForm(x)?.field("ocr"))
        #expect(field.hasMedia)
        #expect(field.isRequired)
        #expect(field.mediaURIs == [
            "http://example.org/challenge.jpeg", "cid:sha1+f24030b8d91d233bac14777be5ab531ca3b9f102@bob.xmpp.org",
        ])
    }

    @Test func parse__mediaInAnotherNamespace__isNotMedia() throws {
        let x = try parseElement("<x xmlns='jabber:x:data' type='form'><field var='a'><media xmlns='urn:example'/></field></x>")
        #expect(DataForm(x)?.field("a")?.hasMedia == false)
    }

    @Test func submission__keepsHiddenDropsFixedFillsAnswersAndDefaults() throws {
        let form = try botDataForm()
        let submitted = try #require(DataForm(try wire(form.submission([
            "botname": ["The Jabber Google Bot"],
            "public": ["0"],
            "features": ["contests"],
            "FORM_TYPE": ["attacker:override"],
        ]))))
        #expect(submitted.type == .submit)
        // Hidden fields go back unchanged even if the caller tried to set them.
        #expect(submitted.formType == "jabber:bot")
        #expect(!submitted.fields.contains { $0.type == .fixed })
        #expect(submitted.field("botname")?.values == ["The Jabber Google Bot"])
        #expect(submitted.field("public")?.values == ["0"])
        #expect(submitted.field("features")?.values == ["contests"])
        // Unanswered fields keep the server's default; those without one are not sent.
        #expect(submitted.field("maxsubs")?.values == ["20"])
        #expect(submitted.field("password") == nil)
        #expect(submitted.field("invitelist") == nil)
        // The submission carries no labels or options, only var, type and values.
        #expect(submitted.field("features")?.options == [])
        #expect(submitted.field("botname")?.label == nil)
        #expect(submitted.field("botname")?.type == .textSingle)
    }

    @Test func submission__orderFollowsTheFormThenExtraVariablesSorted() {
        let form = DataForm(type: .form, fields: [
            .init(variable: "b"), .init(variable: "FORM_TYPE", type: .hidden, values: ["urn:x"]), .init(variable: "a"),
        ])
        let x = form.submission(["a": ["1"], "b": ["2"], "zz": ["3"], "extra": ["4"]])
        #expect(x.children("field", namespace: NS.dataForms).compactMap { $0["var"] } == ["b", "FORM_TYPE", "a", "extra", "zz"])
        #expect(x["type"] == "submit")
    }

    @Test func submission__multipleValues__eachInItsOwnValueElement() throws {
        let form = DataForm(type: .form, fields: [.init(variable: "invite", type: .jidMulti)])
        let x = try wire(form.submission(["invite": ["juliet@capulet.com", "benvolio@montague.net"]]))
        let values = x.child("field", namespace: NS.dataForms)?.children("value", namespace: NS.dataForms).map(\.text)
        #expect(values == ["juliet@capulet.com", "benvolio@montague.net"])
    }

    @Test func element__roundTripsThroughSerializerAndParser() throws {
        let form = try botDataForm()
        #expect(DataForm(try wire(form.element)) == form)
    }
}
