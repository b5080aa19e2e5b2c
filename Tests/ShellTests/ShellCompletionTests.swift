import Foundation
import Store
import Testing
@testable import Shell

/// Tab in the shell: command names, then each argument by its kind (a real Store file behind them).
@Suite struct ShellCompletionTests {
    private func scratch() throws -> String {
        let folder = NSTemporaryDirectory() + "tern-complete-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        for name in ["report.pdf", "readme.txt", ".hidden"] {
            #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data()))
        }
        return folder
    }

    @Test func file_paths_by_prefix_folders_marked_hidden_ones_on_request() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(ShellCompletion.candidates(line: "/file \(folder)/re", word: "\(folder)/re") == ["\(folder)/readme.txt", "\(folder)/report.pdf"])
        #expect(ShellCompletion.candidates(line: "/sendfile \(folder)/p", word: "\(folder)/p") == ["\(folder)/photos/"])
        #expect(ShellCompletion.candidates(line: "/file \(folder)/", word: "\(folder)/").contains("\(folder)/.hidden") == false)
        #expect(ShellCompletion.candidates(line: "/file \(folder)/.h", word: "\(folder)/.h") == ["\(folder)/.hidden"])
        #expect(ShellCompletion.candidates(line: "/file ~/x", word: "~/x", environment: ["HOME": folder]).isEmpty)
        #expect(ShellCompletion.candidates(line: "/file ~/ph", word: "~/ph", environment: ["HOME": folder]) == ["~/photos/"])
    }

    @Test func download_completes_only_its_folder_argument_and_other_commands_nothing() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(ShellCompletion.candidates(line: "/download 3 \(folder)/", word: "\(folder)/") == ["\(folder)/photos/"])
        #expect(ShellCompletion.candidates(line: "/download \(folder)/", word: "\(folder)/").isEmpty)
        #expect(ShellCompletion.candidates(line: "/msg \(folder)/", word: "\(folder)/").isEmpty)
        #expect(ShellCompletion.candidates(line: "/fi", word: "/fi").contains("/file"))
    }

    private func storeWithRosterAndRoom(_ home: String) throws -> (Store, ShellCompletion.Scope) {
        let store = try Store(directory: home)
        let account = try store.saveAccount(Account(jid: "me@example.org", resource: "t", createdAt: Store.now), credential: nil)
        _ = try store.saveAccount(Account(jid: "work@corp.example", resource: "t", createdAt: Store.now), credential: nil)
        try store.replaceRoster(
            accountID: account.rowID,
            items: [
                .init(jid: "zebedee@example.org", name: "Zébédée", subscription: .both),
                .init(jid: "zoe@example.org", name: "Zoé", subscription: .both),
                .init(jid: "bob@example.org", subscription: .both),
            ], version: nil)
        let room = "tea@rooms.example.org"
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "me", autojoin: true)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joined, joinedNick: "me")
        try store.applyOccupants(
            accountID: account.rowID, room: room,
            upserts: [
                Occupant(accountID: account.rowID, room: room, nick: "Zora"),
                Occupant(accountID: account.rowID, room: room, nick: "zed"),
                Occupant(accountID: account.rowID, room: room, nick: "me", isSelf: true),
                Occupant(accountID: account.rowID, room: room, nick: "zz\u{1B}[2Jevil"),
            ], removals: [])
        return (store, ShellCompletion.Scope(accountID: account.rowID, conversation: room))
    }

    @Test func each_argument_kind_completes_from_the_store() throws {
        let home = NSTemporaryDirectory() + "tern-complete-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let (store, scope) = try storeWithRosterAndRoom(home)
        func complete(_ line: String) -> [String] {
            let word = line.hasSuffix(" ") ? "" : String(line.split(separator: " ").last ?? "")
            return ShellCompletion.candidates(line: line, word: word, store: store, scope: scope)
        }
        // Contacts by roster name, case and diacritics ignored, completed to the JID.
        #expect(complete("/msg zeb") == ["zebedee@example.org"])
        #expect(complete("/msg Zé") == ["zebedee@example.org"])
        #expect(complete("/info z") == ["zebedee@example.org", "zoe@example.org"])
        #expect(complete("/msg bo") == ["bob@example.org"])
        #expect(complete("/msg bob@example.org hel").isEmpty, "free text")
        // /msg and /chat also reach rooms; /leave only rooms.
        #expect(complete("/chat t") == ["tea@rooms.example.org"])
        #expect(complete("/leave ") == ["tea@rooms.example.org"])
        // Nicks of the current room, ours left out; at the start of a plain line with a colon.
        #expect(complete("/kick z") == ["zed", "Zora"], "a nick with an escape sequence is never offered")
        #expect(complete("Zo") == ["Zora:"])
        #expect(complete("thanks zo") == ["Zora"])
        // Stored accounts, presence values, fixed choices, command names for /help.
        #expect(complete("/account w") == ["work@corp.example"])
        #expect(complete("/status a") == ["away"])
        #expect(complete("/notify m") == ["mentions"])
        #expect(complete("/help ms") == ["msg"])
        #expect(complete("/history bob@example.org 10 ") == ["--around"])
        #expect(complete("/history bob@example.org 10 --around ").isEmpty, "an id")
        #expect(complete("/join tea@rooms.example.org me --pass") == ["--password-file"])
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(complete("/join tea@rooms.example.org me --password-file \(folder)/rea") == ["\(folder)/readme.txt"], "its value: a path")
        // A new JID, a number: nothing to offer.
        #expect(complete("/register ").isEmpty && complete("/goto ").isEmpty)
        #expect(complete("/nosuch x").isEmpty)
    }
}
