import Foundation
import Store
import Sync
import Testing
import XMPP

/// The XMPP session layer against the real server: IQ tracking, ping both ways, disco, and
/// the answer to requests nobody handles.
@Suite struct SessionTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    func configuration(_ user: String, resource: String) throws -> ConnectionConfiguration {
        try server.configuration(user, resource: resource)
    }

    @Test func iq__ping_disco_and_unknown_requests_both_ways() async throws {
        // tern's engine runs as test13; a raw connection as test14 asks it things.
        let (store, account, engine, running) = try await server.runningEngine("test13", resource: "tern.session")
        defer { running.cancel() }

        let asker = Connection(configuration: try configuration("test14", resource: "asker"))
        let session = try await asker.connect()
        let tern = try JID("\(account.jid)/\(account.resource)")

        // Our pings to the server and to tern are answered.
        let serverPong = try await asker.request(Ping.request(id: "p1"))
        #expect(serverPong["type"] == "result")
        let ternPong = try await asker.request(Ping.request(id: "p2", to: tern))
        #expect(ternPong["type"] == "result")
        #expect(ternPong["from"] == tern.description)

        // tern describes itself.
        let info = try await asker.request(IQ.request(.get, id: "d1", to: tern, payload: Element("query", namespace: NS.discoInfo)))
        let query = try #require(info.child("query", namespace: NS.discoInfo))
        #expect(query.child("identity", namespace: NS.discoInfo)?["category"] == "client")
        #expect(query.children("feature", namespace: NS.discoInfo).contains { $0["var"] == NS.ping })

        // A request nobody handles gets service-unavailable, not silence.
        do {
            _ = try await asker.request(IQ.request(.get, id: "u1", to: tern, payload: Element("query", namespace: "urn:example:nothing")))
            Issue.record("an unknown request was answered with a result")
        } catch let error as StanzaError {
            #expect(error.condition == "service-unavailable")
        }

        // A request that is never answered times out instead of hanging: our own raw
        // connection receives the ping but, having no engine, never replies.
        do {
            _ = try await asker.request(Ping.request(id: "self", to: session.boundJID), timeout: .milliseconds(500))
            Issue.record("a request to an entity that never answers returned")
        } catch let error as ConnectionError {
            guard case .timeout = error else {
                Issue.record("expected a timeout, got \(error)")
                return
            }
        }
        await asker.close()
        await engine.stop()
        await running.value
        #expect(try store.syncState(accountID: account.rowID).connection == "offline")
    }

    @Test func login__over_direct_tls() async throws {
        let env = ProcessInfo.processInfo.environment
        let port = try #require(env["TERN_TEST_DIRECT_TLS_PORT"].flatMap(Int.init))
        let home = TernHome(server)
        let result = try await home.run(
            ["login", server.jid("test15"), "--server", "\(server.host):\(port)", "--direct-tls", "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": server.password("test15")])
        #expect(result.status == 0, "\(result.stderr)")
        let account = try #require(try Store(directory: home.path).account(jid: server.jid("test15")))
        #expect(account.directTLS)
        #expect(try await home.run(["sync"]).status == 0)
    }

    @Test func stream__a_resource_conflict_is_reported_and_not_retried() async throws {
        // Two connections with one resource: the server keeps one and closes the other with <conflict/>.
        let first = Connection(configuration: try configuration("test16", resource: "same"))
        _ = try await first.connect()
        let second = Connection(configuration: try configuration("test16", resource: "same"))
        _ = try await second.connect()
        var closedWith: ConnectionError?
        for await event in first.events {
            if case .closed(let error) = event { closedWith = error }
        }
        let error = try #require(closedWith)
        #expect(error.description.contains("conflict"))
        #expect(error.isPermanent, "a conflict must stop reconnection")
        await second.close()
    }

    @Test func stop__while_negotiating_with_a_silent_server__ends_promptly() async throws {
        // A listener that completes TCP handshakes but never says a word.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = listen(fd, 8)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let silentPort = Int(UInt16(bigEndian: address.sin_port))

        let home = TernHome(server)
        try await home.login("test16")
        let store = try Store(directory: home.path)
        var account = try #require(try store.account(jid: server.jid("test16")))
        account.port = silentPort
        try store.updateAccount(account)

        let watcher = try home.start(["sync", "--watch", "--json"])
        try await waitFor("the watcher to start connecting") { watcher.output().stdout.contains("connecting") }
        watcher.interrupt()
        // Negotiation would wait 30 s for the silent server; stopping must not.
        let finished = try await watcher.finish(timeout: .seconds(10))
        #expect(finished.status == 0, "\(finished.stderr)")
    }
}
