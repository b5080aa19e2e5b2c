/// The shell's commands as data (the Profanity cmd_defs.c pattern): each command's arguments
/// with their kinds, its examples and its argument counts. `/help`, usage errors and Tab
/// completion are all derived from this table, and the CLI subcommands that do the same job
/// (`ShellCommandSpec.subcommand`) take their abstract from it, so the three cannot drift.
struct ShellArgument: Sendable, Equatable {
    /// What an argument holds: completion offers candidates by kind, and contact kinds go
    /// through `ContactNames` so a roster name works where a JID does.
    enum Kind: Sendable, Equatable {
        /// A contact: a bare JID, or a roster name / JID local part resolved by `ContactNames`.
        case contact
        /// Where messages go: a contact (names resolve) or a room, or a room occupant (ROOM/NICK).
        case conversation
        /// A room we know (joined, wanted or bookmarked).
        case room
        /// An occupant of the current room.
        case nick
        /// A stored account.
        case account
        /// A JID typed in full (a new account, say): nothing to complete from.
        case jid
        /// An existing file, or with `foldersOnly` an existing folder.
        case path(foldersOnly: Bool)
        /// One of online, chat, away, xa, dnd.
        case presence
        /// One of fixed words.
        case choice([String])
        /// A command name (for /help).
        case command
        /// A whole number; an id shown by another command.
        case number, id
        /// One free word (a nick to take, a field name).
        case word
        /// Free text: the rest of the line, spacing kept.
        case text
        /// `--flag VALUE`: the flag, then its value of the given kind (two words on the line; `name` is the value's).
        indirect case option(String, Kind)
    }

    let name: String
    let kind: Kind
    let optional: Bool

    init(_ name: String, _ kind: Kind, optional: Bool = false) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }

    static func optional(_ name: String, _ kind: Kind) -> ShellArgument { ShellArgument(name, kind, optional: true) }

    /// How the argument reads in a synopsis: `CONTACT`, `[TEXT]`, `[online|away]`, `[--around ID]`.
    var synopsis: String {
        let bare: String
        switch kind {
        case .choice(let words): bare = words.joined(separator: "|")
        case .option(let flag, _): bare = "\(flag) \(name)"
        default: bare = name
        }
        return optional ? "[\(bare)]" : bare
    }

    /// Words the argument takes on the line; nil for free text, which takes the rest.
    var wordCount: Int? {
        switch kind {
        case .text: nil
        case .option: 2
        default: 1
        }
    }

    static let presenceValues = ["online", "chat", "away", "xa", "dnd"]
}

struct ShellCommandSpec: Sendable {
    let name: String
    let aliases: [String]
    let arguments: [ShellArgument]
    let summary: String
    /// Shell-only remarks `/help COMMAND` adds below the summary (the shared summary stays short).
    let detail: String?
    let examples: [String]
    /// The CLI subcommand that does the same job; its abstract is `summary`.
    let subcommand: String?
    /// Runs the command with its words and the raw text after the command word (spacing kept).
    let action: @Sendable (InteractiveShell, [String], String) async throws -> Void

    init(
        _ name: String, aliases: [String] = [], _ arguments: [ShellArgument] = [], summary: String, detail: String? = nil,
        examples: [String] = [], subcommand: String? = nil,
        action: @escaping @Sendable (InteractiveShell, [String], String) async throws -> Void
    ) {
        self.name = name
        self.aliases = aliases
        self.arguments = arguments
        self.summary = summary
        self.detail = detail
        self.examples = examples
        self.subcommand = subcommand
        self.action = action
    }

    var synopsis: String { ([("/" + name)] + arguments.map(\.synopsis)).joined(separator: " ") }

    /// Words the command needs at least: its required arguments'.
    var minArguments: Int { arguments.filter { !$0.optional }.reduce(0) { $0 + ($1.wordCount ?? 1) } }

    /// Words it takes at most; nil when it ends in free text.
    var maxArguments: Int? {
        var total = 0
        for argument in arguments {
            guard let words = argument.wordCount else { return nil }
            total += words
        }
        return total
    }

    /// The argument that the word at `index` (0 for the first after the command word) fills,
    /// counting an option's flag and value as its two words; free text fills all that follow.
    func argument(at index: Int) -> ShellArgument? {
        var position = 0
        for argument in arguments {
            guard let words = argument.wordCount else { return argument }
            if index < position + words { return argument }
            position += words
        }
        return nil
    }

    /// One line when `words` (after the command word) are too few or too many, else nil.
    func usageError(_ words: [String]) -> String? {
        let example = examples.first.map { "  e.g. \($0)" } ?? ""
        if words.count < minArguments { return "usage: \(synopsis)\(example)" }
        if let maxArguments, words.count > maxArguments {
            let allowed = maxArguments == 0 ? "no arguments" : "at most \(maxArguments) argument\(maxArguments == 1 ? "" : "s")"
            return "too many arguments: /\(name) takes \(allowed); usage: \(synopsis)\(example)"
        }
        return nil
    }
}

enum CommandTable {
    static let commands: [ShellCommandSpec] = [
        ShellCommandSpec(
            "login", aliases: ["connect"], [.optional("JID", .account)],
            summary: "Connect now; with a JID, switch to that stored account and connect.", examples: ["/login alice@example.org"]
        ) { shell, args, _ in try await shell.login(args.first) },
        ShellCommandSpec(
            "logout", aliases: ["disconnect"], summary: "End the session: no tern process connects the account until the next login.",
            detail: "/login connects again.", subcommand: "logout"
        ) { shell, _, _ in await shell.logout() },
        ShellCommandSpec(
            "account", [.optional("JID", .account)],
            summary: "List the stored accounts; with a JID, make that account the shell's current one.",
            examples: ["/account bob@example.org"]
        ) { shell, args, _ in try await shell.switchAccount(args.first) },
        ShellCommandSpec(
            "register", [ShellArgument("JID", .jid)],
            summary: "Create an account on the server (in-band registration, XEP-0077), store it and log in.",
            detail: "The shell then switches to it.", examples: ["/register carol@example.org"], subcommand: "register"
        ) { shell, args, _ in try await shell.register(args[0]) },
        ShellCommandSpec(
            "unregister", summary: "Delete the account from the server (XEP-0077); local history stays.",
            detail: "Acts on the current account, once you type its JID.", subcommand: "unregister"
        ) { shell, _, _ in try await shell.unregister() },
        ShellCommandSpec(
            "passwd", summary: "Change the account's password on the server (XEP-0077).", subcommand: "passwd"
        ) { shell, _, _ in try await shell.changePassword() },
        ShellCommandSpec(
            "trust", [.optional("show|SPKI", .word)],
            summary: "Show the server certificate, or pin its key (SPKI SHA-256) for a self-signed server.",
            detail: "Without an argument: the pinned key, if any. show: connect and show the certificate with the verdict. "
                + "SPKI: pin that key (as a failed verification prints it) and connect again with it.",
            examples: ["/trust show", "/trust 3b5f…"], subcommand: "trust"
        ) { shell, args, _ in try await shell.trust(args.first) },
        ShellCommandSpec(
            "msg", [ShellArgument("CONTACT", .conversation), .optional("TEXT", .text)],
            summary: "Queue a message durably and deliver it as soon as there is a connection.",
            detail: "CONTACT becomes the current conversation (without TEXT that is all it does): a JID, a room, "
                + "or a roster name or JID's first part that names one contact.",
            examples: ["/msg alice@example.org see you at six", "/msg Alice see you at six"], subcommand: "send"
        ) { shell, args, raw in try await shell.message(shell.conversationJID(args[0]), text: CommandTable.afterFirstWord(raw)) },
        ShellCommandSpec(
            "notify", [.optional("POLICY", .choice(["all", "mentions", "none", "default"]))],
            summary: "Show or set which messages of the current conversation alert you (bell, notification, notify-command).",
            examples: ["/notify mentions"]
        ) { shell, args, _ in try await shell.notifyPolicy(args) },
        ShellCommandSpec(
            "file", aliases: ["sendfile"], [ShellArgument("PATH", .path(foldersOnly: false)), .optional("TEXT", .text)],
            summary: "Send a file to the current conversation: HTTP upload, then its link (queued like a message).",
            examples: ["/file ~/photos/cat.jpg our cat"]
        ) { shell, _, raw in try await shell.sendFile(raw) },
        ShellCommandSpec(
            "files", summary: "List files received (id, name, size, state, local path), newest first.", subcommand: "files"
        ) { shell, _, _ in try await shell.listFiles() },
        ShellCommandSpec(
            "download", [ShellArgument("ID", .id), .optional("DIR", .path(foldersOnly: true))],
            summary: "Fetch a received file (by its id, as files lists them) into the download folder.",
            detail: "DIR: into that folder instead.", examples: ["/download 3", "/download 3 ~/Downloads"], subcommand: "download"
        ) { shell, args, _ in try await shell.download(args) },
        ShellCommandSpec(
            "chat", aliases: ["query"], [ShellArgument("CONTACT", .conversation)],
            summary: "Switch the current conversation; plain lines go there.", examples: ["/chat bob@example.org", "/chat Bob"]
        ) { shell, args, _ in try await shell.switchConversation(shell.conversationJID(args[0])) },
        ShellCommandSpec(
            "list", aliases: ["wins"],
            summary: "Number the conversations, newest first, with unread counts and their last line.",
            detail: "The numbers are what /c N and Alt-1…Alt-9 switch to.", examples: ["/list"], subcommand: "conversations"
        ) { shell, _, _ in try await shell.listConversations() },
        ShellCommandSpec(
            "c", aliases: ["win"], [ShellArgument("N", .number)],
            summary: "Switch to conversation N of /list (Alt-N does the same), showing what is unread.",
            examples: ["/c 2"]
        ) { shell, args, _ in try await shell.switchToNumber(args[0]) },
        ShellCommandSpec(
            "close", [ShellArgument("N|CONTACT", .conversation, optional: true)],
            summary: "Take a conversation (the current one by default) off /list until a new message; history stays.",
            examples: ["/close", "/close 3", "/close bob@example.org"]
        ) { shell, args, _ in try await shell.closeConversation(args) },
        ShellCommandSpec(
            "me", [ShellArgument("ACTION", .text)],
            summary: "Send an action to the current conversation: /me waves reads * me waves (XEP-0245).",
            examples: ["/me waves"]
        ) { shell, _, raw in try await shell.sendAction(raw) },
        ShellCommandSpec(
            "correct", [ShellArgument("TEXT", .text)],
            summary: "Replace the text of your last message in the current conversation (XEP-0308).",
            examples: ["/correct see you at seven"]
        ) { shell, _, raw in try await shell.correctLast(raw) },
        ShellCommandSpec(
            "retract", [.optional("ID", .id)],
            summary: "Retract your last message in the current conversation, or the one with this id (XEP-0424).",
            examples: ["/retract"]
        ) { shell, args, _ in try await shell.retract(args.first) },
        ShellCommandSpec(
            "history", [.optional("CONTACT", .conversation), .optional("N", .number), .optional("ID", .option("--around", .id))],
            summary: "Show a conversation, oldest first.",
            detail: "The last N messages (default 20) of CONTACT or the current conversation; --around ID: N messages around that one.",
            examples: ["/history bob@example.org 50", "/history 10 --around 1234"], subcommand: "history"
        ) { shell, args, _ in try await shell.history(args) },
        ShellCommandSpec(
            "search", aliases: ["find"], [ShellArgument("QUERY", .text)],
            summary: "Ranked full-text search across all history, matches marked in a snippet.",
            detail: "words, \"phrases\", prefix*, -exclude, OR; the hits are numbered for /goto.",
            examples: ["/search \"lunch on friday\" -cancelled"], subcommand: "search"
        ) { shell, _, raw in try await shell.search(raw) },
        ShellCommandSpec(
            "goto", [ShellArgument("N", .number)],
            summary: "Open hit N of the last /search in its conversation, among the messages around it.", examples: ["/goto 2"]
        ) { shell, args, _ in try await shell.goto(args[0]) },
        ShellCommandSpec(
            "outbox", [.optional("ACTION", .choice(["cancel", "retry"])), .optional("ID", .id)],
            summary: "List every pending outgoing action (messages, room actions, roster, vCard and blocklist changes) "
                + "with its kind and state; cancel or retry one.",
            detail: "ID: as listed, a unique prefix of it, or iN for an action.", examples: ["/outbox retry 7f3a"],
            subcommand: "outbox"
        ) { shell, args, _ in try await shell.showOutbox(args) },
        ShellCommandSpec(
            "sync", summary: "Connect now, flush the outbox and fetch what arrived.", detail: "The shell stays connected.",
            subcommand: "sync"
        ) { shell, _, _ in try await shell.syncNow() },
        ShellCommandSpec(
            "offline", summary: "Disconnect and keep working locally; messages queue until /sync."
        ) { shell, _, _ in await shell.goOffline() },
        ShellCommandSpec(
            "join", [.optional("ROOM", .room), .optional("NICK", .word), .optional("FILE", .option("--password-file", .path(foldersOnly: false)))],
            summary: "Join a room (creating it if it is new) and bookmark it with autojoin.",
            detail: "With no ROOM, accepts the newest invitation.", examples: ["/join tea@rooms.example.org alice", "/join"],
            subcommand: "join"
        ) { shell, args, _ in try await shell.joinRoom(args) },
        ShellCommandSpec(
            "leave", aliases: ["part"], [.optional("ROOM", .room)], summary: "Leave a room and turn its bookmark's autojoin off.",
            detail: "The current room unless ROOM is given.", examples: ["/leave tea@rooms.example.org"], subcommand: "leave"
        ) { shell, args, _ in try await shell.leaveRoom(args) },
        ShellCommandSpec(
            "decline", [ShellArgument("ROOM", .room)], summary: "Turn down the pending invitations to a room.",
            examples: ["/decline tea@rooms.example.org"]
        ) { shell, args, _ in try await shell.declineInvites(args) },
        ShellCommandSpec(
            "rooms", summary: "List rooms (state, nick, autojoin, subject) and pending invitations.", subcommand: "rooms"
        ) { shell, _, _ in try await shell.showRooms() },
        ShellCommandSpec(
            "who", aliases: ["occupants"], [.optional("ROOM", .room)], summary: "Occupants of a room with role and affiliation.",
            examples: ["/who tea@rooms.example.org"]
        ) { shell, args, _ in try await shell.who(args) },
        ShellCommandSpec(
            "topic", aliases: ["subject"], [.optional("TEXT", .text)],
            summary: "Set a room's subject (XEP-0045 §8.1); queued until the room is joined.",
            detail: "Acts on the current room; with no TEXT, shows its subject.", examples: ["/topic Friday: lunch at noon"],
            subcommand: "topic"
        ) { shell, _, raw in try await shell.topic(raw) },
        ShellCommandSpec(
            "config", [ShellArgument("FIELD", .word), ShellArgument("VALUE", .text)],
            summary: "Change one setting of a room you own (XEP-0045 §10.2); queued until the room is joined.",
            detail: "Acts on the current room. FIELD: roomname, persistentroom, membersonly, …",
            examples: ["/config roomname Tea room"], subcommand: "config"
        ) { shell, args, raw in try await shell.configure(args[0], value: CommandTable.afterFirstWord(raw)) },
        ShellCommandSpec(
            "nick", [ShellArgument("NICK", .word)],
            summary: "Change your nick in a room (XEP-0045 §7.6); queued until the room is joined.",
            detail: "Acts on the current room.", examples: ["/nick ally"], subcommand: "nick"
        ) { shell, args, _ in try await shell.changeNick(args) },
        ShellCommandSpec(
            "kick", [ShellArgument("NICK", .nick), .optional("REASON", .text)],
            summary: "Kick an occupant out of a room (XEP-0045 §8.2); needs the moderator role.",
            detail: "Acts on the current room.", examples: ["/kick spammer enough"], subcommand: "kick"
        ) { shell, args, raw in try await shell.moderate(true, args, raw: raw) },
        ShellCommandSpec(
            "ban", [ShellArgument("CONTACT", .contact), .optional("REASON", .text)],
            summary: "Ban a JID from a room (XEP-0045 §9.1); needs the admin affiliation.",
            detail: "Acts on the current room.", examples: ["/ban spam@example.net"], subcommand: "ban"
        ) { shell, args, raw in try await shell.moderate(false, shell.resolvingFirstContact(args), raw: raw) },
        ShellCommandSpec(
            "invite", [ShellArgument("CONTACT", .contact), .optional("REASON", .text)],
            summary: "Invite someone to a room (XEP-0249 direct invitation).",
            detail: "To the current room.", examples: ["/invite bob@example.org tea?", "/invite Bob"], subcommand: "invite"
        ) { shell, args, raw in try await shell.invite(shell.resolvingFirstContact(args), raw: raw) },
        ShellCommandSpec(
            "roster", aliases: ["contacts"], [.optional("FILTER", .choice(["--pending"]))],
            summary: "List contacts by group with subscription, presence and status (from the Store; works offline).",
            detail: "--pending: requests and unsent edits only.", examples: ["/roster --pending"], subcommand: "roster"
        ) { shell, args, _ in try await shell.showRoster(args) },
        ShellCommandSpec(
            "add", [ShellArgument("JID", .jid), .optional("NAME", .text)],
            summary: "Add a contact and ask for a presence subscription (queued while offline).",
            detail: "NAME is how names in arguments and Tab find them.", examples: ["/add zebedee@example.org Zébédée"],
            subcommand: "add"
        ) { shell, args, raw in
            let name = CommandTable.afterFirstWord(raw)  // `raw` starts at the JID
            try await shell.contactAction(.add, args[0], name: name.isEmpty ? nil : name)
        },
        ShellCommandSpec(
            "rename", [ShellArgument("CONTACT", .contact), ShellArgument("NAME", .text)],
            summary: "Give a contact the name lines, Tab and names in arguments use (kept in your roster, queued while offline).",
            examples: ["/rename bob@example.org Bob Builder", "/rename Bob Bobby"]
        ) { shell, args, raw in try await shell.renameContact(shell.contactJID(args[0]), to: CommandTable.afterFirstWord(raw)) },
        ShellCommandSpec(
            "remove", [ShellArgument("CONTACT", .contact)],
            summary: "Remove a contact from the roster; the server cancels the subscriptions.", examples: ["/remove Bob"],
            subcommand: "remove"
        ) { shell, args, _ in try await shell.contactAction(.remove, shell.contactJID(args[0])) },
        ShellCommandSpec(
            "accept", [ShellArgument("CONTACT", .contact)],
            summary: "Let a contact see your presence, and ask to see theirs unless you already do.",
            examples: ["/accept dave@example.org"], subcommand: "accept"
        ) { shell, args, _ in try await shell.contactAction(.accept, shell.contactJID(args[0])) },
        ShellCommandSpec(
            "deny", [ShellArgument("CONTACT", .contact)], summary: "Refuse (or revoke) a contact's presence subscription.",
            examples: ["/deny dave@example.org"], subcommand: "deny"
        ) { shell, args, _ in try await shell.contactAction(.deny, shell.contactJID(args[0])) },
        ShellCommandSpec(
            "status", [.optional("SHOW", .choice(ShellArgument.presenceValues)), .optional("MESSAGE", .text)],
            summary: "Set your presence and status message: stored, sent now when tern is connected, else on the next connection.",
            detail: "With no argument, shows them.", examples: ["/status away back at two"], subcommand: "status"
        ) { shell, args, _ in try await shell.setStatus(show: nil, words: args) },
        ShellCommandSpec(
            "online", aliases: ["back"], [.optional("MESSAGE", .text)], summary: "Set your presence to online.",
            examples: ["/online"]
        ) { shell, args, _ in try await shell.setStatus(show: "online", words: args) },
        ShellCommandSpec(
            "away", [.optional("MESSAGE", .text)], summary: "Set your presence to away.", examples: ["/away lunch"]
        ) { shell, args, _ in try await shell.setStatus(show: "away", words: args) },
        ShellCommandSpec(
            "xa", [.optional("MESSAGE", .text)], summary: "Set your presence to extended away.", examples: ["/xa on holiday"]
        ) { shell, args, _ in try await shell.setStatus(show: "xa", words: args) },
        ShellCommandSpec(
            "dnd", [.optional("MESSAGE", .text)], summary: "Set your presence to do not disturb.", examples: ["/dnd writing"]
        ) { shell, args, _ in try await shell.setStatus(show: "dnd", words: args) },
        ShellCommandSpec(
            "info", aliases: ["whois"], [ShellArgument("CONTACT", .contact)],
            summary: "Show a contact's vCard, resources (presence, client, version), last activity and roster facts.",
            detail: "Cached when offline.", examples: ["/info bob@example.org", "/info Bob"], subcommand: "info"
        ) { shell, args, _ in try await shell.details(.info, shell.resolvingFirstContact(args)) },
        ShellCommandSpec(
            "block", [ShellArgument("CONTACT", .contact)], summary: "Block a JID (XEP-0191): the server drops what it sends you.",
            detail: "Queued while offline.", examples: ["/block spam@example.net"], subcommand: "block"
        ) { shell, args, _ in try await shell.details(.block, shell.resolvingFirstContact(args)) },
        ShellCommandSpec(
            "unblock", [ShellArgument("CONTACT", .contact)], summary: "Unblock a JID (XEP-0191).",
            detail: "Queued while offline.", examples: ["/unblock spam@example.net"], subcommand: "unblock"
        ) { shell, args, _ in try await shell.details(.unblock, shell.resolvingFirstContact(args)) },
        ShellCommandSpec(
            "blocked", summary: "List blocked JIDs, as cached at the last connection, with pending changes.", subcommand: "blocked"
        ) { shell, args, _ in try await shell.details(.blocked, args) },
        ShellCommandSpec(
            "help", aliases: ["?"], [.optional("COMMAND", .command)], summary: "List commands, or explain one.",
            examples: ["/help msg"]
        ) { shell, args, _ in shell.help(args.first) },
        ShellCommandSpec(
            "quit", aliases: ["exit"], summary: "Leave the shell (queued messages stay queued)."
        ) { shell, _, _ in await shell.quit() },
    ]

    /// CLI subcommands named like a shell command that do another job: `tern login` stores an
    /// account while `/login` connects a stored one; `tern account` edits settings while
    /// `/account` switches between stored ones.
    static let sameNameOtherJob: Set<String> = ["login", "account"]

    static func find(_ word: String) -> ShellCommandSpec? {
        commands.first { $0.name == word || $0.aliases.contains(word) }
    }

    /// The abstract of the CLI subcommand `name`: the summary of its shell twin.
    static func summary(ofSubcommand name: String) -> String {
        commands.first { $0.subcommand == name }?.summary ?? ""
    }

    static var completionWords: [String] {
        commands.flatMap { [$0.name] + $0.aliases }.map { "/" + $0 }
    }

    /// `/help` or `/help COMMAND`, wrapped at `columns` (nil: unwrapped) with continuation
    /// lines indented under the summary column, so no word is cut.
    static func helpText(for name: String?, columns: Int? = nil) -> String {
        if let name {
            let word = name.hasPrefix("/") ? String(name.dropFirst()) : name
            guard let command = find(word) else { return "unknown command /\(word); try /help" }
            var lines = [command.synopsis]
            for paragraph in [command.summary, command.detail].compactMap({ $0 }) {
                lines += wrapped("  " + paragraph, columns: columns, indent: 2)
            }
            if !command.aliases.isEmpty {
                lines += wrapped("  aliases: " + command.aliases.map { "/" + $0 }.joined(separator: ", "), columns: columns, indent: 4)
            }
            if !command.examples.isEmpty {
                lines.append("  examples:")
                lines += command.examples.flatMap { wrapped("    " + $0, columns: columns, indent: 6) }
            }
            return lines.joined(separator: "\n")
        }
        let summaryColumn = 2 + min(commands.map(\.synopsis.count).max() ?? 0, synopsisColumnWidth) + 2
        var lines = wrapped(
            "Commands (any other line is sent to the current conversation; /help COMMAND explains one):", columns: columns, indent: 2)
        for command in commands {
            let head = "  " + command.synopsis
            // A synopsis longer than the column gets a line of its own; its summary starts below.
            if head.count < summaryColumn {
                lines += wrapped(
                    head.padding(toLength: summaryColumn, withPad: " ", startingAt: 0) + command.summary, columns: columns,
                    indent: summaryColumn)
            } else {
                lines.append(head)
                lines += wrapped(String(repeating: " ", count: summaryColumn) + command.summary, columns: columns, indent: summaryColumn)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The widest synopsis the summary column makes room for; longer ones take a line of their own.
    static let synopsisColumnWidth = 26

    private static func wrapped(_ text: String, columns: Int?, indent: Int) -> [String] {
        guard let columns else { return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        return TerminalText.wrap(text, columns: columns, indent: indent)
    }

    /// The text after the first word, spacing kept (message bodies are not re-joined words).
    /// A quoted first word (`"Alice Smith" hi`) ends at the first blank after its closing quote, as `words` reads it.
    static func afterFirstWord(_ text: String) -> String {
        let trimmed = text.drop(while: \.isWhitespace)
        var quoted = false
        guard let space = trimmed.firstIndex(where: { character in
            if character == "\"" { quoted.toggle() }
            return character.isWhitespace && !quoted
        }) else { return "" }
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
