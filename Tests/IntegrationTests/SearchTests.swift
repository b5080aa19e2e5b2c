import Foundation
import Testing

/// `tern search` and `tern history --around` on messages a slixmpp peer sent through the real
/// Prosody: accents, phrases, prefixes and exclusions as users type them.
@Suite(.serialized) struct SearchTests {
    private func json(_ result: ProcessResult) -> [[String: Any]] {
        result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func search__finds_what_the_peer_sent__and_history_shows_it_in_context() async throws {
        let server = try TestServer.fromEnvironment()
        let (home, me) = try await server.registeredHome("find")
        let other = try await server.registerFresh("pal")
        let peer = Peer(server: server, user: other)
        for body in ["Rendez-vous au café de Flore demain", "the quarterly report is ready", "report card for the Café downstairs"] {
            try await peer.send(to: server.jid(me), body: body)
        }
        try await eventually("the three messages to be stored") {
            #expect(try await home.run(["sync"]).status == 0)
            return try await home.historyJSON(with: other).count == 3
        }

        func bodies(_ arguments: [String]) async throws -> [String] {
            let result = try await home.run(["search", "--json"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return json(result).compactMap { $0["body"] as? String }.sorted()
        }
        // Diacritics and case fold: "cafe" finds café and Café.
        #expect(try await bodies(["cafe"]) == ["Rendez-vous au café de Flore demain", "report card for the Café downstairs"])
        // An exclusion given as its own argument is part of the query, not an option.
        #expect(try await bodies(["cafe", "-flore"]) == ["report card for the Café downstairs"])
        // A phrase keeps its order.
        #expect(try await bodies(["\"quarterly report\""]) == ["the quarterly report is ready"])
        #expect(try await bodies(["\"report quarterly\""]) == [])
        #expect(try await bodies(["quart*"]) == ["the quarterly report is ready"])
        #expect(try await bodies(["report", "--with", server.jid(other)]).count == 2)
        #expect(try await bodies(["report", "--with", server.jid("nobody")]) == [])

        let hit = try #require(json(try await home.run(["search", "flore", "--json"])).first)
        #expect(hit["snippet"] as? String == "Rendez-vous au café de [Flore] demain")
        #expect((hit["rank"] as? Double ?? 0) > 0)
        #expect(hit["conversation"] as? String == server.jid(other))
        #expect(hit["direction"] as? String == "in")
        let text = try await home.run(["search", "flore"])
        #expect(text.stdout.contains("[Flore]") && text.stdout.contains(server.jid(other)), "\(text.stdout)")

        let id = try #require(hit["id"] as? Int)
        let around = try await home.run(["history", server.jid(other), "--around", String(id), "--limit", "3", "--json"])
        #expect(around.status == 0, "\(around.stderr)")
        let context = json(around)
        #expect(context.map { $0["body"] as? String } == [
            "Rendez-vous au café de Flore demain", "the quarterly report is ready",
        ])
        #expect(context.map { $0["hit"] as? Bool } == [true, nil])
        let plain = try await home.run(["history", server.jid(other), "--around", String(id)])
        #expect(plain.lines.first?.hasPrefix("* ") == true, "\(plain.stdout)")
    }

    @Test func search__bad_queries_exit_64_with_one_line() async throws {
        let server = try TestServer.fromEnvironment()
        let (home, _) = try await server.registeredHome("badq")
        for arguments in [["\"unbalanced"], ["-only"], [], ["cafe", "OR"], ["x*"], ["cafe", "--limit", "0"], ["cafe", "--after", "yesterday"]] {
            let result = try await home.run(["search"] + arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let unknown = try await home.run(["history", server.jid("x"), "--around", "424242"])
        #expect(unknown.status == 64, "\(unknown.stderr)")
    }
}
