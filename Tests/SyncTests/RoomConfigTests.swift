import Testing
import XMPP
@testable import Sync

/// What `tern config ROOM FIELD VALUE` makes of its words, against a room's form (XEP-0045 §10.2).
@Suite struct RoomConfigTests {
    private let form = DataForm(type: .form, fields: [
        DataForm.Field(variable: "FORM_TYPE", type: .hidden, values: ["http://jabber.org/protocol/muc#roomconfig"]),
        DataForm.Field(variable: "muc#roomconfig_roomname", type: .textSingle, values: ["Old"]),
        DataForm.Field(variable: "muc#roomconfig_persistentroom", type: .boolean, values: ["0"]),
        DataForm.Field(
            variable: "muc#roomconfig_whois", type: .listSingle, values: ["moderators"],
            options: [DataForm.Option(value: "moderators"), DataForm.Option(value: "anyone")]),
        DataForm.Field(variable: "muc#roomconfig_roomadmins", type: .jidMulti),
    ])

    @Test func fields_by_short_or_full_name_and_hidden_ones_never() throws {
        #expect(try RoomActions.configurationField("roomname", in: form).variable == "muc#roomconfig_roomname")
        #expect(try RoomActions.configurationField("muc#roomconfig_whois", in: form).variable == "muc#roomconfig_whois")
        #expect(throws: RoomActionError.refused("the room has no setting FORM_TYPE; it has: roomname, persistentroom, whois, roomadmins")) {
            try RoomActions.configurationField("FORM_TYPE", in: form)
        }
    }

    @Test func values_follow_the_field_type() throws {
        let field = { (name: String) in try RoomActions.configurationField(name, in: self.form) }
        #expect(try RoomActions.configurationValues("yes", for: field("persistentroom")) == ["1"])
        #expect(try RoomActions.configurationValues("Off", for: field("persistentroom")) == ["0"])
        #expect(throws: RoomActionError.self) { try RoomActions.configurationValues("maybe", for: field("persistentroom")) }
        #expect(try RoomActions.configurationValues("anyone", for: field("whois")) == ["anyone"])
        #expect(throws: RoomActionError.invalid("muc#roomconfig_whois takes one of: moderators, anyone")) {
            try RoomActions.configurationValues("everyone", for: field("whois"))
        }
        #expect(try RoomActions.configurationValues("a@x.org, b@x.org,", for: field("roomadmins")) == ["a@x.org", "b@x.org"])
        #expect(try RoomActions.configurationValues("Tea, and cake", for: field("roomname")) == ["Tea, and cake"])
    }
}
