import Foundation
import Store
import Sync
import Testing
import XMPP

/// Contact details (XEP-0054/0292, 0092, 0012, 0115) and blocking (XEP-0191) against the real
/// server, with slixmpp as the contact. Every account is registered fresh, so runs never collide.
@Suite struct DetailsTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    /// A name nobody has registered.
    func freshUser() -> String { "det" + UUID().uuidString.prefix(8).lowercased() }

    /// A tern home with a freshly registered account; returns the home and the user.
    func registeredHome(password: String = "pw-details") async throws -> (TernHome, String) {
        try await server.registeredHome("det", password: password)
    }

    /// A freshly registered account whose engine runs as a shell's would, until `stop()`.
    struct LiveAccount {
        let home: TernHome
        let user: String
        let store: Store
        let account: Account
        let engine: SyncEngine
        let running: Task<Void, Never>

        func stop() async {
            await engine.stop()
            await running.value
        }
    }

    func liveAccount() async throws -> LiveAccount {
        let (home, user) = try await registeredHome()
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid(user)))
        let engine = SyncEngine(store: store, account: account)
        let live = LiveAccount(home: home, user: user, store: store, account: account, engine: engine, running: Task { await engine.run() })
        do {
            try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        } catch {
            live.running.cancel()
            throw error
        }
        return live
    }

    func peer(_ command: String, _ user: String, password: String, _ extra: [String]) -> [String] {
        [server.peerScript, command, "--jid", server.jid(user), "--password", password,
         "--host", server.host, "--port", String(server.port), "--ca", server.caFile] + extra
    }

    func json(_ line: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }

    func configuration(_ user: String, password: String, resource: String) throws -> ConnectionConfiguration {
        ConnectionConfiguration(
            jid: try JID(server.jid(user)), resource: resource, credential: .password(password),
            endpoint: Endpoint(host: server.host, port: UInt16(server.port), directTLS: false),
            trust: TLSTrust(caFile: server.caFile))
    }

    // Issue 4, test 5.
    @Test func info__shows_the_peers_vcard_name_and_client_version__then_works_offline() async throws {
        let (home, me) = try await registeredHome()
        let (_, pal) = try await registeredHome(password: "pw-pal")
        let setCard = try await runProcess("/usr/bin/env", ["python3"] + peer("vcard-set", pal, password: "pw-pal", ["--fn", "Pal Ümlaut Peer"]))
        #expect(setCard.status == 0, "\(setCard.stderr)")

        // The peer comes online and writes to us, so we learn its resource.
        let online = try startProcess("/usr/bin/env", ["python3"] + peer("online", pal, password: "pw-pal", [
            "--name", "PeerClient", "--version", "9.9.1", "--message-to", server.jid(me), "--body", "hi", "--timeout", "30",
        ]))
        defer { online.interrupt() }
        try await waitFor("the peer to come online") { online.output().stdout.contains("\"jid\"") }
        let peerJID = try #require(json(online.output().stdout.split(separator: "\n")[0].description)?["jid"] as? String)
        #expect(try await home.run(["sync"]).status == 0)

        let info = try await home.run(["info", server.jid(pal), "--json"])
        #expect(info.status == 0, "\(info.stderr)")
        let object = try #require(json(info.stdout))
        #expect(object["cached"] as? Bool == false)
        #expect((object["vcard"] as? [String: String])?["fn"] == "Pal Ümlaut Peer")
        let resources = try #require(object["resources"] as? [[String: Any]])
        let resource = try #require(resources.first { $0["resource"] as? String == (try? JID(peerJID))?.resource })
        let client = try #require(resource["client"] as? [String: Any])
        #expect(client["name"] as? String == "PeerClient")
        #expect(client["version"] as? String == "9.9.1")
        #expect((resource["features"] as? [String])?.contains(NS.version) == true, "caps cached from disco#info")

        let text = try await home.run(["info", server.jid(pal)])
        #expect(text.stdout.contains("Pal Ümlaut Peer"))
        #expect(text.stdout.contains("PeerClient 9.9.1"))

        // Offline (the account logged out): the cached details, marked as such, with their age.
        #expect(try await home.run(["logout"]).status == 0)
        let cached = try await home.run(["info", server.jid(pal)])
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(cached.stdout.contains("cached"))
        #expect(cached.stdout.contains("fetched"))
        #expect(cached.stdout.contains("Pal Ümlaut Peer"))
    }

    // XEP-0115: caps advertised in presence are recorded per resource, and the `ver` is
    // cached only once the peer's disco#info answer for `node#ver` hashes to it.
    @Test func info__verifies_and_caches_caps_advertised_in_the_peers_presence() async throws {
        let live = try await liveAccount()
        defer { live.running.cancel() }
        let (store, account, engine) = (live.store, live.account, live.engine)
        let (_, pal) = try await registeredHome(password: "pw-pal")

        let online = try startProcess("/usr/bin/env", ["python3"] + peer("online", pal, password: "pw-pal", [
            "--name", "CapsPeer", "--version", "1.0", "--caps", "--presence-to", "\(account.jid)/\(account.resource)",
            "--timeout", "30",
        ]))
        defer { online.interrupt() }
        try await waitFor("the peer's caps in its presence") {
            (try? store.presence(accountID: account.rowID, jid: server.jid(pal)))?.first?.capsVer != nil
        }
        let advertised = try #require(try store.presence(accountID: account.rowID, jid: server.jid(pal)).first)
        let ver = try #require(advertised.capsVer)
        #expect(advertised.capsNode?.isEmpty == false)
        #expect(try store.cachedCaps(ver: ver) == nil, "an advertised ver is not trusted before it is verified")

        try await engine.refreshDetails(of: try JID(server.jid(pal)))
        let features = try #require(try store.cachedCaps(ver: ver), "slixmpp's hash verified and cached")
        #expect(features.contains(NS.version))
        let details = try store.contactDetails(accountID: account.rowID, jid: server.jid(pal))
        let resource = try #require(details.resources.first { $0.resource == advertised.resource })
        #expect(resource.capsVer == ver)
        #expect(resource.clientName == "CapsPeer")

        // Served from the cache this time; the details still carry the features.
        try await engine.refreshDetails(of: try JID(server.jid(pal)))
        let again = try store.contactDetails(accountID: account.rowID, jid: server.jid(pal))
        #expect(again.resources.first { $0.resource == advertised.resource }?.features?.contains(NS.version) == true)
        await live.stop()
    }

    // Issue 11 §2, caps: a peer whose feature `urn:tern-a<urn:tern-b` hashes (in slixmpp, as
    // §5.1 says) exactly like features `urn:tern-a` and `urn:tern-b` must not change what an
    // honest peer advertising that same ver is shown to support.
    @Test func info__a_forged_caps_answer_does_not_change_what_another_peer_with_the_same_ver_shows() async throws {
        let live = try await liveAccount()
        defer { live.running.cancel() }
        let (store, account, engine) = (live.store, live.account, live.engine)
        let (_, forger) = try await registeredHome(password: "pw-pal")
        let (_, honest) = try await registeredHome(password: "pw-pal")

        func online(_ user: String, _ features: [String]) throws -> RunningProcess {
            try startProcess("/usr/bin/env", ["python3"] + peer("online", user, password: "pw-pal", [
                "--name", "CapsPeer", "--version", "1.0", "--caps", "--presence-to", "\(account.jid)/\(account.resource)",
                "--timeout", "30",
            ] + features.flatMap { ["--feature", $0] }))
        }
        func advertised(_ user: String) -> String? {
            (try? store.presence(accountID: account.rowID, jid: server.jid(user)))?.first?.capsVer
        }
        let forging = try online(forger, ["urn:tern-a<urn:tern-b"])
        defer { forging.interrupt() }
        let answering = try online(honest, ["urn:tern-a", "urn:tern-b"])
        defer { answering.interrupt() }
        try await waitFor("both peers' caps") { advertised(forger) != nil && advertised(honest) != nil }
        #expect(advertised(forger) == advertised(honest), "the forgery hashes like the honest answer")

        try await engine.refreshDetails(of: try JID(server.jid(forger)))
        try await engine.refreshDetails(of: try JID(server.jid(honest)))
        let features = try store.contactDetails(accountID: account.rowID, jid: server.jid(honest)).resources.first?.features ?? []
        #expect(features.contains("urn:tern-a") && features.contains("urn:tern-b"), "\(features)")
        #expect(!features.contains("urn:tern-a<urn:tern-b"))
        let forged = try store.contactDetails(accountID: account.rowID, jid: server.jid(forger)).resources.first
        #expect(forged?.features == nil, "an ill-formed answer is kept nowhere")
        await live.stop()
    }

    @Test func vcardSet__edits_one_field_and_keeps_the_others() async throws {
        let (home, _) = try await registeredHome()
        #expect(try await home.run(["vcard", "set", "fn", "Ada", "Lovelace"]).status == 0)
        #expect(try await home.run(["vcard", "set", "nickname", "ada"]).status == 0)
        let shown = try await home.run(["vcard", "show", "--json"])
        #expect((json(shown.stdout)?["vcard"] as? [String: String]) == ["fn": "Ada Lovelace", "nickname": "ada"], "\(shown.stderr)")
        #expect(try await home.run(["vcard", "set", "colour", "red"]).status == 64)
    }

    // Issue 4, test 7.
    @Test func block__a_blocked_peers_messages_dont_arrive__after_unblocking_they_do() async throws {
        let (home, me) = try await registeredHome()
        let (_, pal) = try await registeredHome(password: "pw-pal")
        let block = try await home.run(["block", server.jid(pal)])
        #expect(block.status == 0, "\(block.stderr)")
        #expect(block.stdout.contains("blocked \(server.jid(pal))"))
        let listed = try await home.run(["blocked", "--json"])
        #expect(listed.lines.compactMap { json($0)?["jid"] as? String } == [server.jid(pal)])

        let whileBlocked = try await runProcess(
            "/usr/bin/env", ["python3"] + peer("send", pal, password: "pw-pal", ["--to", server.jid(me), "--body", "while blocked"]))
        #expect(whileBlocked.status == 0, "\(whileBlocked.stderr)")
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try await home.historyJSON(with: pal).isEmpty, "the server dropped the blocked peer's message")

        let unblock = try await home.run(["unblock", server.jid(pal)])
        #expect(unblock.stdout.contains("unblocked \(server.jid(pal))"), "\(unblock.stderr)")
        #expect(try await home.run(["blocked", "--json"]).lines.isEmpty)
        _ = try await runProcess(
            "/usr/bin/env", ["python3"] + peer("send", pal, password: "pw-pal", ["--to", server.jid(me), "--body", "after unblock"]))
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try await home.historyJSON(with: pal).map { $0["body"] as? String } == ["after unblock"])
    }

    @Test func block__offline__is_queued_and_applied_on_the_next_connection() async throws {
        let (home, _) = try await registeredHome()
        let target = server.jid(freshUser())
        #expect(try await home.run(["logout"]).status == 0)
        let queued = try await home.run(["block", target])
        #expect(queued.status == 0, "\(queued.stderr)")
        #expect(queued.stdout.contains("queued"))
        #expect(try await home.run(["blocked"]).stdout.contains("\(target) (pending block)"))
        let login = try await home.run(
            ["login", try #require(try Store(directory: home.path).accounts().first?.jid), "--server", server.server, "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": "pw-details"])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(try await home.run(["sync"]).status == 0)
        let listed = try await home.run(["blocked", "--json"])
        #expect(listed.lines.compactMap { json($0)?["jid"] as? String } == [target])
        #expect(!listed.stdout.contains("pending"))
    }

    @Test func blockPush__from_our_server_updates_the_cache__a_spoofed_one_is_refused() async throws {
        let live = try await liveAccount()
        defer { live.running.cancel() }
        let (me, store, account) = (live.user, live.store, live.account)
        let (_, stranger) = try await registeredHome(password: "pw-stranger")
        let tern = try JID("\(account.jid)/\(account.resource)")

        // Blocking from another resource of ours: the server pushes it to tern, which stores it.
        let mine = Connection(configuration: try configuration(me, password: "pw-details", resource: "other"))
        _ = try await mine.connect()
        _ = try await mine.request(Blocking.blockRequest(id: "b1", jids: ["spam@example.org"]))
        try await waitFor("the push to be stored") { (try? store.blocklist(accountID: account.rowID).jids) == ["spam@example.org"] }

        // The same push from a stranger changes nothing.
        let other = Connection(configuration: try configuration(stranger, password: "pw-stranger", resource: "spoof"))
        _ = try await other.connect()
        do {
            _ = try await other.request(IQ.request(.set, id: "s1", to: tern, payload: Element(
                "unblock", namespace: Blocking.namespace, elements: [])))
            Issue.record("a spoofed unblock push was accepted")
        } catch let error as StanzaError {
            #expect(error.condition == "service-unavailable")
        }
        #expect(try store.blocklist(accountID: account.rowID).jids == ["spam@example.org"])
        await mine.close()
        await other.close()
        await live.stop()
    }

    @Test func answers__version_last_activity_and_disco_with_a_matching_caps_hash() async throws {
        let live = try await liveAccount()
        defer { live.running.cancel() }
        let (home, me, account) = (live.home, live.user, live.account)
        let (_, stranger) = try await registeredHome(password: "pw-stranger")
        let tern = try JID("\(account.jid)/\(account.resource)")

        // Our own other resource may ask anything.
        let mine = Connection(configuration: try configuration(me, password: "pw-details", resource: "other"))
        _ = try await mine.connect()
        let version = try await mine.request(SoftwareVersion.request(id: "v1", to: tern))
        #expect(SoftwareVersion(result: version)?.name == "tern")
        let last = try await mine.request(LastActivity.request(id: "l1", to: tern))
        #expect(LastActivity(result: last) != nil)

        // disco#info lists the features, and its hash is the one our caps advertise.
        let info = try await mine.request(IQ.request(.get, id: "d1", to: tern, payload: Element("query", namespace: NS.discoInfo)))
        let query = try #require(info.child("query", namespace: NS.discoInfo))
        let features = query.children("feature", namespace: NS.discoInfo).compactMap { $0["var"] }
        #expect(features.contains(NS.version))
        #expect(features.contains(LastActivity.namespace))
        #expect(features.contains(EntityCapabilities.namespace))
        let parsed = try #require(EntityCapabilities.Info(query: query))
        let caps = try #require(SyncEngine.capabilities)
        let ver = try #require(caps["ver"])
        #expect(EntityCapabilities.validates(ver, hash: "sha-1", info: parsed))

        // A stranger gets the version but not our idle time.
        let other = Connection(configuration: try configuration(stranger, password: "pw-stranger", resource: "asker"))
        _ = try await other.connect()
        #expect(SoftwareVersion(result: try await other.request(SoftwareVersion.request(id: "v2", to: tern))) != nil)
        do {
            _ = try await other.request(LastActivity.request(id: "l2", to: tern))
            Issue.record("a stranger learned our idle time")
        } catch let error as StanzaError {
            #expect(error.condition == "forbidden")
        }

        // `tern sharing version off` is honoured on the live session.
        #expect(try await home.run(["sharing", "version", "off"]).stdout.contains("version: off"))
        do {
            _ = try await other.request(SoftwareVersion.request(id: "v3", to: tern))
            Issue.record("the version was shared although the user turned it off")
        } catch let error as StanzaError {
            #expect(error.condition == "service-unavailable")
        }
        await mine.close()
        await other.close()
        await live.stop()
    }
}
