import Foundation
import Store
import Testing
@testable import Shell

/// `tern account set KEY VALUE`: parsing and validation, without a store or a server.
@Suite struct AccountSettingsTests {
    let account = Account(
        jid: "alice@example.org", resource: "tern.abc", host: "xmpp.example.org", port: 5222, caFile: "/etc/ca.pem",
        priority: 1, createdAt: 0)

    private func rejects(_ key: String, _ value: String, on account: Account? = nil) -> Bool {
        do {
            _ = try AccountSettings.applying(key, value, to: account ?? self.account)
            return false
        } catch is UsageFailure {
            return true
        } catch {
            return false
        }
    }

    @Test func server__host_and_port__are_split_and_auto_clears_both() throws {
        var changed = try AccountSettings.applying("server", "chat.example.net:5223", to: account)
        #expect(changed.host == "chat.example.net")
        #expect(changed.port == 5223)
        changed = try AccountSettings.applying("server", "[2001:db8::1]:5281", to: account)
        #expect(changed.host == "2001:db8::1")
        #expect(changed.port == 5281)
        #expect(AccountSettings.server(of: changed) == "[2001:db8::1]:5281")
        changed = try AccountSettings.applying("server", "chat.example.net", to: account)
        #expect(changed.port == nil, "no port given: the default port for the TLS mode")
        #expect(AccountSettings.server(of: changed) == "chat.example.net:5222")
        changed.directTLS = true
        #expect(AccountSettings.server(of: changed) == "chat.example.net:5223")
        for key in ["server", "host"] {
            let cleared = try AccountSettings.applying(key, "auto", to: account)
            #expect(cleared.host == nil && cleared.port == nil, "\(key) auto")
            #expect(AccountSettings.server(of: cleared) == nil)
        }
    }

    @Test func server__bad_addresses__are_usage_errors() {
        for value in ["host:0", "host:65536", "host:http", ":5222", "[::1", "[::1]x", "two words", "a/b", "me@host", ""] {
            #expect(rejects("server", value), "\(value)")
        }
        #expect(rejects("host", "host:5222"), "a port belongs to `server`")
        #expect(rejects("host", "bell\u{7}"))
    }

    @Test func port__is_1_to_65535_or_auto_and_needs_a_host() throws {
        #expect(try AccountSettings.applying("port", "1", to: account).port == 1)
        #expect(try AccountSettings.applying("port", "65535", to: account).port == 65535)
        #expect(try AccountSettings.applying("port", "auto", to: account).port == nil)
        for value in ["0", "65536", "-1", "5222x", " 5222", ""] {
            #expect(rejects("port", value), "\(value)")
        }
        var srv = account
        srv.host = nil
        #expect(rejects("port", "5222", on: srv), "without a host the port would be ignored")
    }

    @Test func direct_tls__accepts_the_usual_spellings_only() throws {
        for value in ["true", "yes", "on", "TRUE"] {
            #expect(try AccountSettings.applying("direct-tls", value, to: account).directTLS, "\(value)")
        }
        var on = account
        on.directTLS = true
        for value in ["false", "no", "off"] {
            #expect(try !AccountSettings.applying("direct-tls", value, to: on).directTLS, "\(value)")
        }
        #expect(rejects("direct-tls", "1"))
        #expect(rejects("direct-tls", "maybe"))
    }

    @Test func priority__is_an_rfc6121_byte() throws {
        #expect(try AccountSettings.applying("priority", "-128", to: account).priority == -128)
        #expect(try AccountSettings.applying("priority", "127", to: account).priority == 127)
        #expect(try AccountSettings.applying("priority", "0", to: account).priority == 0)
        for value in ["128", "-129", "1.5", "high", ""] {
            #expect(rejects("priority", value), "\(value)")
        }
    }

    @Test func resource__is_prepared_and_must_be_valid() throws {
        #expect(try AccountSettings.applying("resource", "desk 1", to: account).resource == "desk 1")
        // RFC 7622 OpaqueString: NFC, so a decomposed é is stored composed.
        #expect(try AccountSettings.applying("resource", "cafe\u{301}", to: account).resource == "caf\u{E9}")
        #expect(rejects("resource", ""))
        #expect(rejects("resource", "bell\u{7}"))
        #expect(rejects("resource", String(repeating: "r", count: 1024)))
    }

    @Test func ca_file__must_be_a_readable_pem_or_none() throws {
        let directory = NSTemporaryDirectory() + "tern-ca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pem = directory + "/ca.pem"
        try Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: pem))
        let text = directory + "/notes.txt"
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: text))

        #expect(try AccountSettings.applying("ca-file", pem, to: account).caFile == pem)
        #expect(try AccountSettings.applying("ca-file", "none", to: account).caFile == nil)
        #expect(rejects("ca-file", text), "no certificate in it")
        #expect(rejects("ca-file", directory + "/missing.pem"))
    }

    @Test func keys__unknown_ones_and_default_are_not_account_fields() {
        #expect(rejects("colour", "blue"))
        #expect(rejects("Port", "5222"), "keys are exact")
        #expect(rejects("default", "true"), "default is a choice among accounts, made by the store")
        #expect(throws: UsageFailure.self) { try AccountSettings.bool("perhaps", key: "default") }
    }

    @Test func show__never_prints_secrets_and_names_the_credential_kind() throws {
        let scram = Credential.scram(
            accountID: 1, mechanism: "sha256", salt: Data([1, 2]), iterations: 4096, clientKey: Data([3]), serverKey: Data([4]))
        let remembered = Credential.rememberedPassword(accountID: 1, "hunter2-secret")
        for (credential, kind) in [(scram, "scram"), (remembered, "password"), (nil, "none")] as [(Credential?, String)] {
            let shown = AccountSettings.shown(account, isDefault: true, credential: credential)
            let json = Renderer.json(Dictionary(uniqueKeysWithValues: shown.map { ($0.jsonKey, $0.json) }))
            #expect(json.contains("\"credentials\":\"\(kind)\""))
            #expect(!json.contains("hunter2"))
            #expect(!shown.map(\.text).joined().contains("hunter2"))
            #expect(Set(shown.map(\.jsonKey)) == [
                "jid", "resource", "host", "port", "direct_tls", "ca_file", "pinned_spki", "priority", "default", "state",
                "credentials", "download_dir", "download_limit", "allow_http_downloads", "notify_command", "desktop_notify",
            ])
        }
    }

    @Test func file_and_alert_settings__are_checked_and_default_resets() throws {
        let account = Account(jid: "me@example.org", resource: "r", createdAt: 0)
        var set = try AccountSettings.applying("download-limit", "100", to: account)
        #expect(set.downloadLimitMB == 100)
        set = try AccountSettings.applying("download-limit", "default", to: set)
        #expect(set.downloadLimitMB == nil)
        #expect(throws: UsageFailure.self) { try AccountSettings.applying("download-limit", "-3", to: account) }
        #expect(try AccountSettings.applying("download-dir", "/srv/in", to: account).downloadDir == "/srv/in")
        #expect(try AccountSettings.applying("allow-http-downloads", "yes", to: account).allowsHTTPDownloads)
        #expect(try AccountSettings.applying("desktop-notify", "osc777", to: account).desktopNotify == .osc777)
        #expect(throws: UsageFailure.self) { try AccountSettings.applying("desktop-notify", "loud", to: account) }
        #expect(try AccountSettings.applying("notify-command", "/bin/echo hello", to: account).notifyCommand == "/bin/echo hello")
        #expect(try AccountSettings.applying("notify-command", "echo", to: account).notifyCommand == "echo")
        #expect(try AccountSettings.applying("notify-command", "none", to: account).notifyCommand == nil)
        #expect(throws: UsageFailure.self) { try AccountSettings.applying("notify-command", "/nonexistent/notify", to: account) }
    }
}
