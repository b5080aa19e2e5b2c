/// XEP-0313 (MAM v2) queries, results and `<fin/>`, XEP-0059 sets, and `ArchiveCatchUp` paging, without sockets.
import Foundation
import Testing
@testable import XMPP

private let juliet = try! JID("juliet@capulet.lit/chamber")
private let ownArchive = MAM.Archive.account(juliet)
private let room = MAM.Archive.room(try! JID("coven@chat.shakespeare.lit"))

/// A result message as an archive sends it (shape of XEP-0313 §4.2's examples).
private func resultXML(id: String, queryID: String, from: String? = nil, body: String = "Hail to thee",
                       stamp: String = "2010-07-10T23:08:25Z", originID: String? = nil) -> String {
    let fromAttribute = from.map { " from='\($0)'" } ?? ""
    let origin = originID.map { "<origin-id xmlns='urn:xmpp:sid:0' id='\($0)'/>" } ?? ""
    return """
        <message id='m-\(id)' to='juliet@capulet.lit/chamber'\(fromAttribute)>\
        <result xmlns='urn:xmpp:mam:2' queryid='\(queryID)' id='\(id)'>\
        <forwarded xmlns='urn:xmpp:forward:0'>\
        <delay xmlns='urn:xmpp:delay' stamp='\(stamp)'/>\
        <message xmlns='jabber:client' from='witch@shakespeare.lit' to='macbeth@shakespeare.lit'>\
        <body>\(body)</body>\(origin)</message>\
        </forwarded></result></message>
        """
}

private func finXML(iqID: String, complete: Bool?, first: String?, last: String?, from: String? = nil) -> String {
    let completeAttribute = complete.map { " complete='\($0)'" } ?? ""
    let fromAttribute = from.map { " from='\($0)'" } ?? ""
    let firstElement = first.map { "<first index='0'>\($0)</first>" } ?? ""
    let lastElement = last.map { "<last>\($0)</last>" } ?? ""
    return """
        <iq type='result' id='\(iqID)'\(fromAttribute)><fin xmlns='urn:xmpp:mam:2'\(completeAttribute)>\
        <set xmlns='http://jabber.org/protocol/rsm'>\(firstElement)\(lastElement)</set></fin></iq>
        """
}

/// The `var` → values of a submitted form.
private func formValues(_ query: Element) -> [String: [String]] {
    guard let form = query.child("x", namespace: NS.dataForms).flatMap(DataForm.init) else { return [:] }
    var values: [String: [String]] = [:]
    for field in form.fields { if let variable = field.variable { values[variable] = field.values } }
    return values
}

@Suite struct ResultSetTests {
    @Test func request__max_after_before__serialise_in_rsm_namespace() throws {
        let set = try wire(ResultSet.Request(max: 10, after: "09af3-cc343-b409f").element)
        #expect(set.matches("set", NS.rsm))
        #expect(set.childText("max", namespace: NS.rsm) == "10")
        #expect(set.childText("after", namespace: NS.rsm) == "09af3-cc343-b409f")
        #expect(set.child("before", namespace: NS.rsm) == nil)
    }

    @Test func request__empty_before__asks_for_the_last_page() throws {
        let set = try wire(ResultSet.Request(max: 20, before: "").element)
        let before = try #require(set.child("before", namespace: NS.rsm))
        #expect(before.text.isEmpty)
    }

    @Test func reply__parses_first_index_last_count() throws {
        let set = try parseElement("""
            <message><set xmlns='http://jabber.org/protocol/rsm'><first index='20'>a1</first>\
            <last>a9</last><count>800</count></set></message>
            """).child("set", namespace: NS.rsm)
        let reply = try #require(set.flatMap { ResultSet.Reply($0) })
        #expect(reply == ResultSet.Reply(first: "a1", firstIndex: 20, last: "a9", count: 800))
    }

    @Test func reply__wrong_namespace_or_empty_ids__rejected_or_absent() throws {
        #expect(ResultSet.Reply(Element("set", namespace: "urn:example")) == nil)
        let empty = try parseElement("<message><set xmlns='http://jabber.org/protocol/rsm'><first index='-3'/><last/><count>x</count></set></message>")
        let reply: ResultSet.Reply? = ResultSet.Reply(in: empty)
        #expect(reply == ResultSet.Reply())
    }
}

@Suite struct MAMTests {
    @Test func query__own_archive__has_no_to_and_carries_queryid_form_and_rsm() throws {
        let start = try #require(Delay.parse("2010-06-07T00:00:00Z"))
        let query = MAM.Query(
            archive: ownArchive, queryID: "f27",
            filter: MAM.Filter(with: try JID("juliet@capulet.lit"), start: start),
            page: ResultSet.Request(max: 10))
        let iq = try wire(query.iq(id: "juliet1"))
        #expect(iq["to"] == nil)
        #expect(iq["type"] == "set")
        #expect(iq["id"] == "juliet1")
        let payload = try #require(iq.child("query", namespace: NS.mam))
        #expect(payload["queryid"] == "f27")
        let form = try #require(payload.child("x", namespace: NS.dataForms).flatMap(DataForm.init))
        #expect(form.type == .submit)
        #expect(form.formType == NS.mam)
        #expect(formValues(payload)["with"] == ["juliet@capulet.lit"])
        #expect(formValues(payload)["start"] == ["2010-06-07T00:00:00Z"])
        #expect(formValues(payload)["end"] == nil)
        #expect(payload.child("set", namespace: NS.rsm)?.childText("max", namespace: NS.rsm) == "10")
    }

    @Test func query__room_archive__is_addressed_to_the_room_with_extended_ids() throws {
        let query = MAM.Query(
            archive: .room(try JID("coven@chat.shakespeare.lit/firstwitch")), queryID: "q2",
            filter: MAM.Filter(afterID: "09af3", beforeID: "a1b2"))
        let iq = try wire(query.iq(id: "i2"))
        #expect(iq["to"] == "coven@chat.shakespeare.lit")
        let payload = try #require(iq.child("query", namespace: NS.mam))
        #expect(formValues(payload)["after-id"] == ["09af3"])
        #expect(formValues(payload)["before-id"] == ["a1b2"])
        #expect(payload.child("set", namespace: NS.rsm) == nil)
    }

    @Test func query__no_filters__sends_no_form() throws {
        let iq = try wire(MAM.Query(archive: ownArchive, queryID: "q").iq(id: "i"))
        #expect(iq.child("query", namespace: NS.mam)?.elements.isEmpty == true)
    }

    @Test func result__from_own_archive__yields_id_forwarded_message_and_delay() throws {
        let query = MAM.Query(archive: ownArchive, queryID: "f27")
        for from in [nil, "juliet@capulet.lit"] {
            let message = try parseElement(resultXML(id: "28482-98726-73623", queryID: "f27", from: from))
            let result = try MAM.result(message, of: query)
            #expect(result.archiveID == "28482-98726-73623")
            #expect(result.queryID == "f27")
            #expect(result.message.matches("message", NS.client))
            #expect(result.message["from"] == "witch@shakespeare.lit")
            #expect(Message(result.message).body == "Hail to thee")
            #expect(result.timestamp == Delay.parse("2010-07-10T23:08:25Z"))
            #expect(result.timestamp != nil)
        }
    }

    @Test func result__spoofed_from__rejected() throws {
        let query = MAM.Query(archive: ownArchive, queryID: "f27")
        for forged in ["romeo@montague.lit", "juliet@capulet.lit/balcony", "capulet.lit", "not a jid@@"] {
            let message = try parseElement(resultXML(id: "x1", queryID: "f27", from: forged))
            #expect(throws: MAM.ResultError.wrongSender(from: forged)) { try MAM.result(message, of: query) }
        }
        // A room's results must name the room: no `from` is our server, not the room.
        let roomQuery = MAM.Query(archive: room, queryID: "r1")
        let unsigned = try parseElement(resultXML(id: "x2", queryID: "r1"))
        #expect(throws: MAM.ResultError.wrongSender(from: nil)) { try MAM.result(unsigned, of: roomQuery) }
        let genuine = try parseElement(resultXML(id: "x3", queryID: "r1", from: "coven@chat.shakespeare.lit"))
        #expect(try MAM.result(genuine, of: roomQuery).archiveID == "x3")
    }

    @Test func result__unknown_queryid__rejected() throws {
        let query = MAM.Query(archive: ownArchive, queryID: "f27")
        let message = try parseElement(resultXML(id: "x1", queryID: "other"))
        #expect(throws: MAM.ResultError.unknownQuery("other")) { try MAM.result(message, of: query) }
    }

    @Test func result__plain_message_or_missing_parts__not_accepted() throws {
        let query = MAM.Query(archive: ownArchive, queryID: "q")
        let plain = try parseElement("<message from='romeo@montague.lit'><body>hi</body></message>")
        #expect(throws: MAM.ResultError.notAResult) { try MAM.result(plain, of: query) }
        let empty = try parseElement("<message><result xmlns='urn:xmpp:mam:2' queryid='q' id='i'/></message>")
        #expect(throws: MAM.ResultError.self) { try MAM.result(empty, of: query) }
        let noID = try parseElement(resultXML(id: "", queryID: "q"))
        #expect(throws: MAM.ResultError.malformed("result without id")) { try MAM.result(noID, of: query) }
    }

    @Test func result__dedup_key__archive_id_only_when_archive_stamps_stanza_ids() throws {
        let query = MAM.Query(archive: ownArchive, queryID: "q")
        let result = try MAM.result(parseElement(resultXML(id: "A1", queryID: "q", originID: "o-1")), of: query)
        #expect(result.dedupKey(archiveAdvertisesStanzaID: true) == .stanzaID("A1"))
        #expect(result.dedupKey(archiveAdvertisesStanzaID: false) == .originID("o-1"))
        let bare = try MAM.result(parseElement(resultXML(id: "A2", queryID: "q")), of: query)
        #expect(bare.dedupKey(archiveAdvertisesStanzaID: false) == nil)
    }

    @Test func fin__complete_stable_and_set__parsed_with_defaults() throws {
        let fin = try #require(MAM.Fin(iqResult: parseElement(finXML(iqID: "j", complete: true, first: "a", last: "b"))))
        #expect(fin == MAM.Fin(complete: true, stable: true, page: ResultSet.Reply(first: "a", firstIndex: 0, last: "b")))
        let open = try #require(MAM.Fin(iqResult: parseElement(finXML(iqID: "j", complete: nil, first: nil, last: nil))))
        #expect(!open.complete)
        let unstable = try parseElement("<iq type='result' id='j'><fin xmlns='urn:xmpp:mam:2' complete='1' stable='false'/></iq>")
        #expect(MAM.Fin(iqResult: unstable) == MAM.Fin(complete: true, stable: false, page: nil))
        #expect(MAM.Fin(iqResult: try parseElement("<iq type='result' id='j'/>")) == nil)
    }
}

@Suite struct ArchiveCatchUpTests {
    /// Sends the next query, feeds it `ids` as results, then a fin; returns the query payload and the step.
    private func page(_ machine: inout ArchiveCatchUp, _ n: Int, ids: [String], complete: Bool, last: String? = nil)
        throws -> (query: Element, step: ArchiveCatchUp.Step?)
    {
        let sent = machine.nextQuery(iqID: "iq\(n)", queryID: "q\(n)")
        let iq = try #require(sent)
        let payload = try #require(iq.child("query", namespace: NS.mam))
        for id in ids { _ = try machine.receive(parseElement(resultXML(id: id, queryID: "q\(n)"))) }
        let step = machine.receiveReply(try parseElement(finXML(iqID: "iq\(n)", complete: complete, first: ids.first, last: last ?? ids.last)))
        return (payload, step)
    }

    private func after(_ payload: Element) -> String? {
        payload.child("set", namespace: NS.rsm)?.childText("after", namespace: NS.rsm)
    }

    @Test func catchUp__three_pages__follows_last_ids_until_complete() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .afterID("stored-0"), pageSize: 2)
        let first = try page(&machine, 1, ids: ["a1", "a2"], complete: false)
        // The stored id resumes through RSM <after/> when the archive lacks #extended.
        #expect(after(first.query) == "stored-0")
        #expect(first.query.child("set", namespace: NS.rsm)?.childText("max", namespace: NS.rsm) == "2")
        #expect(first.step == .fetchNextPage)
        #expect(machine.lastID == "a2")

        let second = try page(&machine, 2, ids: ["a3", "a4"], complete: false)
        #expect(after(second.query) == "a2")
        #expect(second.step == .fetchNextPage)

        let third = try page(&machine, 3, ids: ["a5"], complete: true)
        #expect(after(third.query) == "a4")
        #expect(third.step == .finished(lastID: "a5"))
        #expect(machine.state == .finished)
        #expect(machine.resultCount == 5)
        #expect(machine.pageCount == 3)
        #expect(machine.idsAreStable)
        // Finished: nothing more to send.
        #expect(machine.nextQuery(iqID: "iq4", queryID: "q4") == nil)
    }

    @Test func catchUp__extended_archive__resumes_with_after_id_field() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .afterID("stored-9"), pageSize: 50, useExtendedFilters: true)
        let first = try page(&machine, 1, ids: ["b1"], complete: false)
        #expect(formValues(first.query)["after-id"] == ["stored-9"])
        #expect(formValues(first.query)["FORM_TYPE"] == [NS.mam])
        #expect(after(first.query) == nil)
        let second = try page(&machine, 2, ids: ["b2"], complete: true)
        #expect(formValues(second.query)["after-id"] == ["stored-9"])
        #expect(after(second.query) == "b1")
        #expect(second.step == .finished(lastID: "b2"))
    }

    @Test func catchUp__since_date__filters_by_start_and_empty_archive_finishes_without_id() throws {
        let since = try #require(Delay.parse("2026-11-18T00:00:00Z"))
        var machine = ArchiveCatchUp(archive: ownArchive, from: .since(since), with: try JID("romeo@montague.lit"))
        let only = try page(&machine, 1, ids: [], complete: true)
        #expect(formValues(only.query)["start"] == ["2026-11-18T00:00:00Z"])
        #expect(formValues(only.query)["with"] == ["romeo@montague.lit"])
        #expect(after(only.query) == nil)
        #expect(only.step == .finished(lastID: nil))
    }

    @Test func catchUp__incomplete_page_that_repeats_the_cursor__stops_with_noProgress() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .beginning, pageSize: 2)
        #expect(try page(&machine, 1, ids: ["a1", "a2"], complete: false).step == .fetchNextPage)
        // The server sends the same page again, with the same <last/>.
        let repeated = try page(&machine, 2, ids: ["a1", "a2"], complete: false)
        #expect(repeated.step == .failed(.noProgress(cursor: "a2")))
        #expect(machine.state == .failed(.noProgress(cursor: "a2")))
        #expect(machine.nextQuery(iqID: "iq3", queryID: "q3") == nil)
    }

    @Test func catchUp__incomplete_empty_page__stops_with_noProgress() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .afterID("s"))
        let empty = try page(&machine, 1, ids: [], complete: false)
        #expect(empty.step == .failed(.noProgress(cursor: "s")))
    }

    @Test func catchUp__results_outside_the_open_query__rejected() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .beginning)
        // Before any query is open.
        #expect(throws: MAM.ResultError.unknownQuery("q1")) {
            try machine.receive(parseElement(resultXML(id: "early", queryID: "q1")))
        }
        #expect(machine.nextQuery(iqID: "iq1", queryID: "q1") != nil)
        #expect(throws: MAM.ResultError.wrongSender(from: "mallory@evil.example")) {
            try machine.receive(parseElement(resultXML(id: "forged", queryID: "q1", from: "mallory@evil.example")))
        }
        #expect(throws: MAM.ResultError.unknownQuery("q0")) {
            try machine.receive(parseElement(resultXML(id: "stale", queryID: "q0")))
        }
        #expect(machine.lastID == nil)
        _ = try machine.receive(parseElement(resultXML(id: "a1", queryID: "q1")))
        #expect(machine.receiveReply(try parseElement(finXML(iqID: "iq1", complete: true, first: "a1", last: "a1")))
                == .finished(lastID: "a1"))
        // After the fin the query is closed: a late result with its queryid is refused.
        #expect(throws: MAM.ResultError.unknownQuery("q1")) {
            try machine.receive(parseElement(resultXML(id: "late", queryID: "q1")))
        }
        #expect(machine.lastID == "a1")
        #expect(machine.resultCount == 1)
    }

    @Test func catchUp__fin_from_elsewhere_or_other_iq__ignored() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .beginning)
        #expect(machine.nextQuery(iqID: "iq1", queryID: "q1") != nil)
        let forged = try parseElement(finXML(iqID: "iq1", complete: true, first: nil, last: nil, from: "mallory@evil.example"))
        #expect(machine.receiveReply(forged) == nil)
        let otherIQ = try parseElement(finXML(iqID: "nope", complete: true, first: nil, last: nil))
        #expect(machine.receiveReply(otherIQ) == nil)
        #expect(machine.state == .waiting(iqID: "iq1", query: MAM.Query(
            archive: ownArchive, queryID: "q1", page: ResultSet.Request(max: 100))))
    }

    @Test func catchUp__stored_id_gone__reports_unknownArchiveID() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .afterID("expired"), useExtendedFilters: true)
        #expect(machine.nextQuery(iqID: "iq1", queryID: "q1") != nil)
        let error = try parseElement("""
            <iq type='error' id='iq1'><error type='cancel'>\
            <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
            """)
        #expect(machine.receiveReply(error) == .failed(.unknownArchiveID("expired")))
    }

    @Test func catchUp__refusal_or_missing_fin__fails() throws {
        var refused = ArchiveCatchUp(archive: room, from: .beginning)
        #expect(refused.nextQuery(iqID: "iq1", queryID: "q1") != nil)
        let forbidden = try parseElement("""
            <iq type='error' id='iq1' from='coven@chat.shakespeare.lit'><error type='auth'>\
            <forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
            """)
        #expect(refused.receiveReply(forbidden) == .failed(.queryRefused(StanzaError(type: "auth", condition: "forbidden"))))

        var bare = ArchiveCatchUp(archive: ownArchive, from: .beginning)
        #expect(bare.nextQuery(iqID: "iq1", queryID: "q1") != nil)
        #expect(bare.receiveReply(try parseElement("<iq type='result' id='iq1'/>")) == .failed(.malformedFin("result without <fin/>")))
    }

    @Test func catchUp__unstable_fin__marks_ids_unstable() throws {
        var machine = ArchiveCatchUp(archive: ownArchive, from: .beginning)
        #expect(machine.nextQuery(iqID: "iq1", queryID: "q1") != nil)
        _ = try machine.receive(parseElement(resultXML(id: "u1", queryID: "q1")))
        let fin = try parseElement("<iq type='result' id='iq1'><fin xmlns='urn:xmpp:mam:2' complete='true' stable='false'/></iq>")
        #expect(machine.receiveReply(fin) == .finished(lastID: "u1"))
        #expect(!machine.idsAreStable)
    }
}
