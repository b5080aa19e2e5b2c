import Foundation
import Store
import Sync
import Testing

/// `tern send JID --file PATH` against Prosody's HTTP upload, with slixmpp receiving: the
/// file goes up once, its link arrives as a message, and the bytes come down unchanged.
@Suite struct FileSendingTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    private func file(bytes: Int) throws -> (path: String, data: Data) {
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255) })
        let path = NSTemporaryDirectory() + "tern-send-\(UUID().uuidString).bin"
        try data.write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    private func peerDownload(_ url: String) async throws -> Data {
        let out = NSTemporaryDirectory() + "tern-peer-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try await runProcess(
            "/usr/bin/env", ["python3", server.peerScript, "download", "--ca", server.caFile, "--url", url, "--out", out])
        guard result.status == 0 else { throw HarnessError("peer download failed: \(result.stderr)") }
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    @Test func a_file_is_uploaded_once_and_slixmpp_gets_its_link_and_bytes() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("sendfile")
        let source = try file(bytes: 250_000)
        defer { try? FileManager.default.removeItem(atPath: source.path) }
        let receiver = try await Peer(server: server, user: bob).startReceivingWhenReady(from: server.jid(me), count: 2)
        let sent = try await home.run(["send", server.jid(bob), "--file", source.path, "here", "it", "is"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.hasSuffix(" file done\n"), "\(sent.stdout)")
        let messages = Peer.messages(try await receiver.finish(timeout: .seconds(60)))
        #expect(messages.map { $0["body"] as? String }.first == "here it is")
        let url = try #require(messages.last?["body"] as? String)
        #expect(url.hasPrefix("https://") && url.hasSuffix(".bin"))
        #expect(try await peerDownload(url) == source.data)
        // The upload's progress was recorded where any waiting process can draw it.
        let store = try Store(directory: home.path)
        let account = try #require(try store.defaultAccount())
        let upload = try #require(try store.intents(accountID: account.rowID, includeFinished: true).first { $0.kind == .file })
        #expect(upload.progress == 250_000)
        // The copy in the data directory is gone once sent.
        let outgoing = (home.path as NSString).appendingPathComponent("outgoing")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: outgoing))?.isEmpty ?? true)
    }

    @Test func a_file_queued_offline_goes_out_once_when_the_link_returns_even_if_the_original_is_gone() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("queuefile")
        let source = try file(bytes: 40_000)
        let queued = try await home.run(["send", server.jid(bob), "--file", source.path, "--queue-only"])
        #expect(queued.status == 0, "\(queued.stderr)")
        #expect(queued.stdout.hasSuffix(" file queued\n"), "\(queued.stdout)")
        try FileManager.default.removeItem(atPath: source.path)
        let outbox = try await home.run(["outbox", "--json"])
        #expect(outbox.stdout.contains("\"kind\":\"file\""), "\(outbox.stdout)")

        let receiver = try await Peer(server: server, user: bob).startReceivingWhenReady(from: server.jid(me), count: 1)
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try await home.run(["sync"]).status == 0)
        let messages = Peer.messages(try await receiver.finish(timeout: .seconds(60)))
        #expect(messages.count == 1, "sent once: \(messages)")
        let url = try #require(messages.first?["body"] as? String)
        #expect(try await peerDownload(url) == source.data)
    }

    @Test func a_file_over_the_servers_limit_is_refused_before_upload_in_one_line() async throws {
        let (_, bob, home) = try await server.freshAccountAndContact("bigfile")
        let source = try file(bytes: 10 * 1024 * 1024 + 1)
        defer { try? FileManager.default.removeItem(atPath: source.path) }
        let sent = try await home.run(["send", server.jid(bob), "--file", source.path])
        #expect(sent.status == 1)
        #expect(sent.stderr == "tern: the file is 10485761 bytes; the server takes at most 10485760\n", "\(sent.stderr)")
        let missing = try await home.run(["send", server.jid(bob), "--file", "/nonexistent/file.bin"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("cannot read /nonexistent/file.bin"))
    }

    @Test func the_shell_sends_with_file_lists_offers_and_downloads_them() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("shellfile")
        let source = try file(bytes: 60_000)
        defer { try? FileManager.default.removeItem(atPath: source.path) }
        let receiver = try await Peer(server: server, user: bob).startReceivingWhenReady(from: server.jid(me), count: 1)
        let sent = try await home.run(["shell"], stdin: "/chat \(server.jid(bob))\n/file \(source.path)\n")
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.contains(" file queued: "), "\(sent.stdout)")
        #expect(sent.stdout.contains(" file done"), "\(sent.stdout)")
        let url = try #require(Peer.messages(try await receiver.finish(timeout: .seconds(60))).first?["body"] as? String)

        // Bob sends the same link back: an offer, listed and fetched from the shell.
        let back = try await Peer(server: server, user: bob).run("send", ["--to", server.jid(me), "--body", url])
        #expect(back.status == 0, "\(back.stderr)")
        let folder = NSTemporaryDirectory() + "tern-shell-downloads-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try await home.run(["sync"]).status == 0)
        let shell = try await home.run(["shell"], stdin: "/files\n/download 1 \(folder)\n/files\n")
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stdout.contains("1  offered  "), "\(shell.stdout)")
        #expect(shell.stdout.contains("-- file 1 saved: \(folder)/"), "\(shell.stdout)")
        #expect(shell.stdout.contains("1  done  "), "\(shell.stdout)")
        let saved = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(saved.count == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + saved[0])) == source.data)
    }
}
