/// The shell's commands as data: `/help`, usage errors and completion all come from this table
/// (the Profanity cmd_defs pattern).
struct ShellCommandSpec: Sendable {
    let name: String
    let aliases: [String]
    let arguments: String
    let summary: String
    let minArguments: Int
    /// Runs the command with its words and the raw text after the command word (spacing kept).
    let action: @Sendable (InteractiveShell, [String], String) async throws -> Void

    var synopsis: String { "/\(name)" + (arguments.isEmpty ? "" : " \(arguments)") }
}

enum CommandTable {
    static let commands: [ShellCommandSpec] = [
        ShellCommandSpec(
            name: "login", aliases: ["connect"], arguments: "[JID]",
            summary: "Connect now; with a JID, switch to that stored account and connect.", minArguments: 0
        ) { shell, args, _ in try await shell.login(args.first) },
        ShellCommandSpec(
            name: "logout", aliases: ["disconnect"], arguments: "",
            summary: "Close the session cleanly and stay offline.", minArguments: 0
        ) { shell, _, _ in await shell.logout() },
        ShellCommandSpec(
            name: "account", aliases: [], arguments: "[JID]",
            summary: "List the stored accounts; with a JID, make that account the shell's current one.", minArguments: 0
        ) { shell, args, _ in try await shell.switchAccount(args.first) },
        ShellCommandSpec(
            name: "register", aliases: [], arguments: "JID",
            summary: "Create an account on the server (XEP-0077), store it and switch to it.", minArguments: 1
        ) { shell, args, _ in try await shell.register(args[0]) },
        ShellCommandSpec(
            name: "unregister", aliases: [], arguments: "",
            summary: "Delete the current account from the server (asks you to type its JID).", minArguments: 0
        ) { shell, _, _ in try await shell.unregister() },
        ShellCommandSpec(
            name: "passwd", aliases: [], arguments: "",
            summary: "Change the current account's password on the server.", minArguments: 0
        ) { shell, _, _ in try await shell.changePassword() },
        ShellCommandSpec(
            name: "msg", aliases: [], arguments: "JID [TEXT]",
            summary: "Send TEXT to JID (queued at once, delivered when online) and switch to that conversation.",
            minArguments: 1
        ) { shell, args, raw in try await shell.message(args[0], text: CommandTable.afterFirstWord(raw)) },
        ShellCommandSpec(
            name: "notify", aliases: [], arguments: "[all|mentions|none|default]",
            summary: "Show or set which messages of the current conversation alert you (bell, notification, notify-command).",
            minArguments: 0
        ) { shell, args, _ in try await shell.notifyPolicy(args) },
        ShellCommandSpec(
            name: "file", aliases: ["sendfile"], arguments: "PATH [TEXT]",
            summary: "Send a file to the current conversation: HTTP upload, then its link (queued like a message).",
            minArguments: 1
        ) { shell, _, raw in try await shell.sendFile(raw) },
        ShellCommandSpec(
            name: "files", aliases: [], arguments: "",
            summary: "List the newest files offered to you, with their ids and where they were saved.", minArguments: 0
        ) { shell, _, _ in try await shell.listFiles() },
        ShellCommandSpec(
            name: "download", aliases: [], arguments: "ID [DIR]",
            summary: "Fetch a file offered to you (an id from /files) into DIR or the download folder.", minArguments: 1
        ) { shell, args, _ in try await shell.download(args) },
        ShellCommandSpec(
            name: "chat", aliases: ["query"], arguments: "JID",
            summary: "Switch the current conversation; plain lines go there.", minArguments: 1
        ) { shell, args, _ in try await shell.switchConversation(args[0]) },
        ShellCommandSpec(
            name: "list", aliases: ["wins"], arguments: "",
            summary: "Number the conversations, newest first, with unread counts and their last line.", minArguments: 0
        ) { shell, _, _ in try await shell.listConversations() },
        ShellCommandSpec(
            name: "c", aliases: ["win"], arguments: "N",
            summary: "Switch to conversation N of /list (Alt-N does the same), showing what is unread.", minArguments: 1
        ) { shell, args, _ in try await shell.switchToNumber(args[0]) },
        ShellCommandSpec(
            name: "close", aliases: [], arguments: "[N|JID]",
            summary: "Take a conversation (the current one by default) off /list until a new message; history stays.",
            minArguments: 0
        ) { shell, args, _ in try await shell.closeConversation(args) },
        ShellCommandSpec(
            name: "correct", aliases: [], arguments: "TEXT",
            summary: "Replace the text of your last message in the current conversation (XEP-0308).", minArguments: 1
        ) { shell, _, raw in try await shell.correctLast(raw) },
        ShellCommandSpec(
            name: "retract", aliases: [], arguments: "[ID]",
            summary: "Retract your last message in the current conversation, or the one with this id (XEP-0424).",
            minArguments: 0
        ) { shell, args, _ in try await shell.retract(args.first) },
        ShellCommandSpec(
            name: "history", aliases: [], arguments: "[JID] [N] [--around ID]",
            summary: "Show the last N messages (default 20) of a conversation, oldest first; --around: N around message ID.",
            minArguments: 0
        ) { shell, args, _ in try await shell.history(args) },
        ShellCommandSpec(
            name: "search", aliases: ["find"], arguments: "QUERY",
            summary: "Search all history: words, \"phrases\", prefix*, -exclude, OR. Prints numbered hits for /goto.",
            minArguments: 1
        ) { shell, _, raw in try await shell.search(raw) },
        ShellCommandSpec(
            name: "goto", aliases: [], arguments: "N",
            summary: "Open hit N of the last /search in its conversation, among the messages around it.", minArguments: 1
        ) { shell, args, _ in try await shell.goto(args[0]) },
        ShellCommandSpec(
            name: "outbox", aliases: [], arguments: "[cancel ID | retry ID]",
            summary: "List pending messages and actions with their kinds; cancel a queued one or retry a failed one (ID, a unique prefix, or iN).",
            minArguments: 0
        ) { shell, args, _ in try await shell.showOutbox(args) },
        ShellCommandSpec(
            name: "sync", aliases: [], arguments: "",
            summary: "Connect (or retry) now and flush the outbox.", minArguments: 0
        ) { shell, _, _ in try await shell.syncNow() },
        ShellCommandSpec(
            name: "offline", aliases: [], arguments: "",
            summary: "Disconnect and keep working locally; messages queue until /sync.", minArguments: 0
        ) { shell, _, _ in await shell.goOffline() },
        ShellCommandSpec(
            name: "join", aliases: [], arguments: "[ROOM@SERVICE] [NICK] [--password-file F]",
            summary: "Join a room and bookmark it with autojoin; with no room, accept the newest invitation.",
            minArguments: 0
        ) { shell, args, _ in try await shell.joinRoom(args) },
        ShellCommandSpec(
            name: "leave", aliases: ["part"], arguments: "[ROOM]",
            summary: "Leave a room (the current one by default) and turn its autojoin off.", minArguments: 0
        ) { shell, args, _ in try await shell.leaveRoom(args) },
        ShellCommandSpec(
            name: "decline", aliases: [], arguments: "ROOM",
            summary: "Turn down the pending invitations to a room.", minArguments: 1
        ) { shell, args, _ in try await shell.declineInvites(args) },
        ShellCommandSpec(
            name: "rooms", aliases: [], arguments: "",
            summary: "List rooms with their state, and pending invitations.", minArguments: 0
        ) { shell, _, _ in try await shell.showRooms() },
        ShellCommandSpec(
            name: "who", aliases: ["occupants"], arguments: "[ROOM]",
            summary: "Occupants of a room with role and affiliation.", minArguments: 0
        ) { shell, args, _ in try await shell.who(args) },
        ShellCommandSpec(
            name: "topic", aliases: ["subject"], arguments: "[TEXT]",
            summary: "Show the current room's subject, or set it (queued until the room is joined).", minArguments: 0
        ) { shell, _, raw in try await shell.topic(raw) },
        ShellCommandSpec(
            name: "config", aliases: [], arguments: "FIELD VALUE",
            summary: "Change one setting of the current room you own (roomname, persistentroom, membersonly, …).",
            minArguments: 2
        ) { shell, args, raw in try await shell.configure(args[0], value: CommandTable.afterFirstWord(raw)) },
        ShellCommandSpec(
            name: "nick", aliases: [], arguments: "NICK",
            summary: "Change your nick in the current room (queued until it is joined).", minArguments: 1
        ) { shell, args, _ in try await shell.changeNick(args) },
        ShellCommandSpec(
            name: "kick", aliases: [], arguments: "NICK [REASON]",
            summary: "Remove an occupant from the current room (moderators).", minArguments: 1
        ) { shell, args, raw in try await shell.moderate(true, args, raw: raw) },
        ShellCommandSpec(
            name: "ban", aliases: [], arguments: "JID [REASON]",
            summary: "Ban a user from the current room (admins and owners).", minArguments: 1
        ) { shell, args, raw in try await shell.moderate(false, args, raw: raw) },
        ShellCommandSpec(
            name: "invite", aliases: [], arguments: "JID [REASON]",
            summary: "Invite someone to the current room (XEP-0249).", minArguments: 1
        ) { shell, args, raw in try await shell.invite(args, raw: raw) },
        ShellCommandSpec(
            name: "roster", aliases: ["contacts"], arguments: "[--pending]",
            summary: "List contacts by group with presence; --pending: requests and unsent edits.", minArguments: 0
        ) { shell, args, _ in try await shell.showRoster(args) },
        ShellCommandSpec(
            name: "add", aliases: [], arguments: "JID [NAME]",
            summary: "Add a contact and ask to see their presence (queued while offline).", minArguments: 1
        ) { shell, args, raw in
            let name = CommandTable.afterFirstWord(CommandTable.afterFirstWord(raw))
            try await shell.contactAction(.add, args[0], name: name.isEmpty ? nil : name)
        },
        ShellCommandSpec(
            name: "remove", aliases: [], arguments: "JID",
            summary: "Remove a contact from the roster.", minArguments: 1
        ) { shell, args, _ in try await shell.contactAction(.remove, args[0]) },
        ShellCommandSpec(
            name: "accept", aliases: [], arguments: "JID",
            summary: "Accept a subscription request (and ask for theirs back).", minArguments: 1
        ) { shell, args, _ in try await shell.contactAction(.accept, args[0]) },
        ShellCommandSpec(
            name: "deny", aliases: [], arguments: "JID",
            summary: "Refuse or revoke a subscription.", minArguments: 1
        ) { shell, args, _ in try await shell.contactAction(.deny, args[0]) },
        ShellCommandSpec(
            name: "status", aliases: [], arguments: "[online|chat|away|xa|dnd] [MESSAGE]",
            summary: "Show or set your presence and status message.", minArguments: 0
        ) { shell, args, _ in try await shell.setStatus(show: nil, words: args) },
        ShellCommandSpec(
            name: "online", aliases: ["back"], arguments: "[MESSAGE]", summary: "Set your presence to online.", minArguments: 0
        ) { shell, args, _ in try await shell.setStatus(show: "online", words: args) },
        ShellCommandSpec(
            name: "away", aliases: [], arguments: "[MESSAGE]", summary: "Set your presence to away.", minArguments: 0
        ) { shell, args, _ in try await shell.setStatus(show: "away", words: args) },
        ShellCommandSpec(
            name: "xa", aliases: [], arguments: "[MESSAGE]", summary: "Set your presence to extended away.", minArguments: 0
        ) { shell, args, _ in try await shell.setStatus(show: "xa", words: args) },
        ShellCommandSpec(
            name: "dnd", aliases: [], arguments: "[MESSAGE]", summary: "Set your presence to do not disturb.", minArguments: 0
        ) { shell, args, _ in try await shell.setStatus(show: "dnd", words: args) },
        ShellCommandSpec(
            name: "info", aliases: ["whois"], arguments: "JID",
            summary: "A contact's vCard, resources (client, version), last activity and roster facts; cached when offline.",
            minArguments: 1
        ) { shell, args, _ in try await shell.details(.info, args) },
        ShellCommandSpec(
            name: "block", aliases: [], arguments: "JID",
            summary: "Block a JID (XEP-0191); queued while offline.", minArguments: 1
        ) { shell, args, _ in try await shell.details(.block, args) },
        ShellCommandSpec(
            name: "unblock", aliases: [], arguments: "JID",
            summary: "Unblock a JID; queued while offline.", minArguments: 1
        ) { shell, args, _ in try await shell.details(.unblock, args) },
        ShellCommandSpec(
            name: "blocked", aliases: [], arguments: "",
            summary: "List blocked JIDs (as cached at the last connection) and pending changes.", minArguments: 0
        ) { shell, args, _ in try await shell.details(.blocked, args) },
        ShellCommandSpec(
            name: "help", aliases: ["?"], arguments: "[COMMAND]",
            summary: "List commands, or explain one.", minArguments: 0
        ) { shell, args, _ in shell.help(args.first) },
        ShellCommandSpec(
            name: "quit", aliases: ["exit"], arguments: "",
            summary: "Leave the shell (queued messages stay queued).", minArguments: 0
        ) { shell, _, _ in await shell.quit() },
    ]

    static func find(_ word: String) -> ShellCommandSpec? {
        commands.first { $0.name == word || $0.aliases.contains(word) }
    }

    static var completionWords: [String] {
        commands.flatMap { [$0.name] + $0.aliases }.map { "/" + $0 }
    }

    static func helpText(for name: String?) -> String {
        if let name {
            let word = name.hasPrefix("/") ? String(name.dropFirst()) : name
            guard let command = find(word) else { return "unknown command /\(word); try /help" }
            var text = "\(command.synopsis)\n  \(command.summary)"
            if !command.aliases.isEmpty { text += "\n  aliases: " + command.aliases.map { "/" + $0 }.joined(separator: ", ") }
            return text
        }
        let width = commands.map(\.synopsis.count).max() ?? 0
        let lines = commands.map { $0.synopsis.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.summary }
        return (["Commands (any other line is sent to the current conversation):"] + lines.map { "  " + $0 })
            .joined(separator: "\n")
    }

    /// The text after the first word, spacing kept (message bodies are not re-joined words).
    static func afterFirstWord(_ text: String) -> String {
        let trimmed = text.drop(while: \.isWhitespace)
        guard let space = trimmed.firstIndex(where: \.isWhitespace) else { return "" }
        return String(trimmed[trimmed.index(after: space)...])
    }

    /// Splits a command line into words; double quotes group words.
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var inWord = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
                inWord = true
            } else if character.isWhitespace, !quoted {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
