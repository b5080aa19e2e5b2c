import Foundation
import Store
import Sync
import Testing
import XMPP

/// HTTP upload (XEP-0363) against Prosody's mod_http_file_share over HTTPS, with slixmpp as
/// the independent client on the other end: bytes go up through tern and come down through
/// Python's TLS, and the other way round, unchanged.
@Suite struct FileTransferTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    private func randomFile(bytes: Int) throws -> (path: String, data: Data) {
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255) })
        let path = NSTemporaryDirectory() + "tern-upload-\(UUID().uuidString).bin"
        try data.write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    private func scratchDirectory() -> String {
        NSTemporaryDirectory() + "tern-downloads-\(UUID().uuidString)"
    }

    /// An engine online for a fresh account, stopped by `body`'s end.
    private func withEngine(_ body: (Store, Account, SyncEngine) async throws -> Void) async throws {
        let (home, _) = try await server.registeredHome("file")
        let store = try Store(directory: home.path)
        let account = try #require(try store.defaultAccount())
        let engine = SyncEngine(store: store, account: account)
        let running = Task { await engine.run() }
        defer { running.cancel() }
        try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        do {
            try await body(store, account, engine)
        } catch {
            await engine.stop()
            throw error
        }
        await engine.stop()
        await running.value
    }

    private func upload(_ file: (path: String, data: Data), engine: SyncEngine, account: Account) async throws -> String {
        let service = try await FileUpload.findService(on: engine, domain: try JID(server.domain))
        let slot = try await FileUpload.requestSlot(
            on: engine, service: service, filename: (file.path as NSString).lastPathComponent, size: Int64(file.data.count),
            contentType: "application/octet-stream")
        let fd = open(file.path, O_RDONLY)
        defer { close(fd) }
        try await HTTPTransfer().upload(
            from: fd, size: Int64(file.data.count), to: slot.putURL, headers: slot.headers, contentType: nil,
            trust: HTTPTrust(account: account))
        return slot.getURL
    }

    private func download(_ url: String, account: Account, limit: Int64 = 0) async throws -> (path: String, data: Data) {
        let created = try DownloadFiles.createExclusive(in: scratchDirectory(), name: DownloadFiles.name(forURL: url))
        defer { close(created.fd) }
        _ = try await HTTPTransfer().download(url, into: created.fd, limit: limit, trust: HTTPTrust(account: account))
        return (created.path, try Data(contentsOf: URL(fileURLWithPath: created.path)))
    }

    @Test func tern_uploads_and_slixmpp_downloads_the_same_bytes() async throws {
        let file = try randomFile(bytes: 300_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try await withEngine { _, account, engine in
            let url = try await upload(file, engine: engine, account: account)
            #expect(url.hasPrefix("https://"))
            let out = NSTemporaryDirectory() + "tern-peer-\(UUID().uuidString).bin"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let result = try await runProcess(
                "/usr/bin/env", ["python3", server.peerScript, "download", "--ca", server.caFile, "--url", url, "--out", out])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == file.data)
            // And tern reads back what it wrote, under the name it uploaded.
            let mine = try await download(url, account: account)
            defer { try? FileManager.default.removeItem(atPath: (mine.path as NSString).deletingLastPathComponent) }
            #expect(mine.data == file.data)
            #expect((mine.path as NSString).lastPathComponent == (file.path as NSString).lastPathComponent)
        }
    }

    @Test func slixmpp_uploads_and_tern_downloads_the_same_bytes() async throws {
        let file = try randomFile(bytes: 200_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let result = try await Peer(server: server, user: "bob").run("upload", ["--file", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.lines.last)
        let url = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["url"] as? String)
        try await withEngine { _, account, _ in
            let mine = try await download(url, account: account)
            defer { try? FileManager.default.removeItem(atPath: (mine.path as NSString).deletingLastPathComponent) }
            #expect(mine.data == file.data)
        }
    }

    @Test func a_file_over_the_services_limit_is_refused_before_any_upload() async throws {
        try await withEngine { _, _, engine in
            let service = try await FileUpload.findService(on: engine, domain: try JID(server.domain))
            // The test server's http_file_share_size_limit.
            let limit: Int64 = 10 * 1024 * 1024
            #expect(service.maxFileSize == .some(limit))
            await #expect(throws: FileUpload.Failure.tooLarge(size: limit + 1, limit: limit)) {
                _ = try await FileUpload.requestSlot(on: engine, service: service, filename: "big.bin", size: limit + 1, contentType: nil)
            }
        }
    }

    @Test func a_download_over_the_cap_stops_and_other_hosts_get_no_account_trust() async throws {
        let file = try randomFile(bytes: 100_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try await withEngine { _, account, engine in
            let url = try await upload(file, engine: engine, account: account)
            await #expect(throws: HTTPTransferError.tooLarge(limit: 50_000)) {
                _ = try await download(url, account: account, limit: 50_000)
            }
            // The same server by address: not a host of the account's domain, so only the
            // system's CAs apply, and the test CA is not one of them.
            let byAddress = url.replacingOccurrences(of: "://localhost:", with: "://127.0.0.1:")
            #expect(byAddress != url)
            do {
                _ = try await download(byAddress, account: account)
                Issue.record("a host outside the account's domain was trusted with its CA file")
            } catch let error as HTTPTransferError {
                guard case .transport = error else { Issue.record("unexpected \(error)"); return }
            }
        }
    }

    @Test func a_pinned_key_replaces_the_ca_file_and_another_key_is_refused() async throws {
        let file = try randomFile(bytes: 10_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let spki = try await runProcess(
            "/bin/sh",
            ["-c", "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1", "spki", server.caFile])
        let pin = spki.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(pin.count == 64, "\(spki.stderr)")
        try await withEngine { _, account, engine in
            let url = try await upload(file, engine: engine, account: account)
            let directory = scratchDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let created = try DownloadFiles.createExclusive(in: directory, name: "pinned.bin")
            defer { close(created.fd) }
            let pinned = HTTPTrust(domain: server.domain, pinnedSPKI: pin)
            #expect(try await HTTPTransfer().download(url, into: created.fd, limit: 0, trust: pinned) == 10_000)
            let wrong = HTTPTrust(domain: server.domain, caFile: server.caFile, pinnedSPKI: String(repeating: "0", count: 64))
            await #expect(throws: HTTPTransferError.self) {
                _ = try await HTTPTransfer().download(url, into: created.fd, limit: 0, trust: wrong)
            }
        }
    }

    private func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func an_offer_from_slixmpp_is_listed_and_downloaded_by_the_cli_never_over_a_file() async throws {
        let me = try await server.registerFresh("files")
        let bob = try await server.registerFresh("bob")
        let home = TernHome(server)
        try await home.login(me)
        let file = try randomFile(bytes: 150_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let peer = Peer(server: server, user: bob)
        let upload = try await peer.run("upload", ["--file", file.path])
        #expect(upload.status == 0, "\(upload.stderr)")
        let url = try #require(jsonLines(upload.stdout).last?["url"] as? String)
        // As Conversations and Dino send one: the URL as the body, and XEP-0066 OOB.
        let sent = try await peer.run("send", ["--to", server.jid(me), "--body", url, "--oob", url])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(try await home.run(["sync"]).status == 0)

        let listed = try await home.run(["files", "--json"])
        let offer = try #require(jsonLines(listed.stdout).first, "\(listed.stderr)")
        #expect(offer["url"] as? String == url)
        #expect(offer["state"] as? String == "offered")
        #expect(offer["name"] as? String == (file.path as NSString).lastPathComponent)
        let id = try #require(offer["id"] as? Int)

        let folder = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try await home.run(["download", String(id), "--to", folder])
        #expect(first.status == 0, "\(first.stderr)")
        let path = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path == folder + "/" + (file.path as NSString).lastPathComponent)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == file.data)
        let second = try await home.run(["download", String(id), "--to", folder])
        let copy = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(copy.hasSuffix(" (1).bin"), "\(second.stdout) \(second.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == file.data, "the first is untouched")
        let done = try #require(jsonLines(try await home.run(["files", "--json"]).stdout).first)
        #expect(done["state"] as? String == "done")
        #expect(done["size"] as? Int == 150_000)

        let unknown = try await home.run(["download", "999999", "--to", folder])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no file 999999"))
    }

    @Test func hostile_names_and_a_planted_symlink_stay_harmless() async throws {
        let file = try randomFile(bytes: 5_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let folder = scratchDirectory()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let victim = folder + "-victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: victim)
        }
        // Where a sender would like the names to land: the saved name "bashrc" is a planted link.
        try FileManager.default.createSymbolicLink(atPath: folder + "/bashrc", withDestinationPath: victim)
        // A server of the account's domain (so its CA applies) that serves any path.
        let hostile = try startProcess("/usr/bin/env", [
            "python3", (server.peerScript as NSString).deletingLastPathComponent + "/../hostile/https_files.py",
            "--cert", server.caFile, "--key", (server.caFile as NSString).deletingPathExtension + ".key", "--body", file.path,
        ])
        defer { hostile.process.terminate() }
        var port: Int?
        try await waitFor("the hostile file server to listen") {
            port = jsonLines(hostile.output().stdout).first?["port"] as? Int
            return port != nil || !hostile.process.isRunning
        }
        let base = "https://localhost:\(try #require(port, "\(hostile.output().stderr)"))/share/"
        let paths = ["..%2F..%2F.bashrc", "%2Ebashrc", "%E2%80%AEgpj.exe", "a%2F..%2F..%2Fb%5Cc.txt", "%2E%2E"]
        try await withEngine { store, account, _ in
            let offers = paths.enumerated().map { index, path in
                StoredMessage(
                    accountID: account.rowID, conversation: "mallory@localhost", direction: .incoming, sender: "mallory@localhost/x",
                    recipient: account.jid, body: base + path, timestamp: Store.now, receivedAt: Store.now, dedupKey: "o:hostile-\(index)")
            }
            #expect(try store.insertMessages(offers).count == paths.count)
            let listed = try store.files(accountID: account.rowID)
            #expect(listed.count == paths.count)
            for offer in listed {
                let saved = try await FileDownloads.download(id: offer.rowID, store: store, account: account, into: folder)
                let path = try #require(saved.path)
                #expect((path as NSString).deletingLastPathComponent == folder, "\(path)")
                let name = (path as NSString).lastPathComponent
                #expect(!name.hasPrefix(".") && !name.contains("..") && !name.unicodeScalars.contains("\u{202E}"), "\(name)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == file.data)
            }
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["_._.bashrc", "a_._._b_c.txt", "bashrc", "bashrc (1)", "file", "gpj.exe"], "the link and five new files, no .profile")
    }

    @Test func a_cancelled_download_stops_and_leaves_no_partial_file() async throws {
        let file = try randomFile(bytes: 200_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let hostile = try startProcess("/usr/bin/env", [
            "python3", (server.peerScript as NSString).deletingLastPathComponent + "/../hostile/https_files.py",
            "--cert", server.caFile, "--key", (server.caFile as NSString).deletingPathExtension + ".key", "--body", file.path, "--slow",
        ])
        defer { hostile.process.terminate() }
        var port: Int?
        try await waitFor("the slow file server to listen") {
            port = jsonLines(hostile.output().stdout).first?["port"] as? Int
            return port != nil || !hostile.process.isRunning
        }
        let url = "https://localhost:\(try #require(port))/slow.bin"
        try await withEngine { store, account, _ in
            let offer = StoredMessage(
                accountID: account.rowID, conversation: "bob@localhost", direction: .incoming, sender: "bob@localhost/x",
                recipient: account.jid, body: url, timestamp: Store.now, receivedAt: Store.now, dedupKey: "o:slow")
            _ = try store.insertMessages([offer])
            let id = try #require(try store.files(accountID: account.rowID).first?.rowID)
            let folder = scratchDirectory()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let transfer = HTTPTransfer()
            await #expect(throws: HTTPTransferError.cancelled) {
                _ = try await FileDownloads.download(id: id, store: store, account: account, into: folder, transfer: transfer) { progress in
                    if progress.done > 0 { transfer.cancel() }
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "no partial file")
            #expect(try store.file(accountID: account.rowID, id: id)?.state == .offered, "the offer is as it was")
        }
    }
}
