import ArgumentParser
import Foundation
import Testing
@testable import Shell

/// The command table as data: synopses, usage errors, /help and the CLI twins all come from it.
@Suite struct CommandTableTests {
    @Test func each_synopsis_is_derived_from_the_arguments() throws {
        #expect(try #require(CommandTable.find("msg")).synopsis == "/msg CONTACT [TEXT]")
        #expect(try #require(CommandTable.find("status")).synopsis == "/status [online|chat|away|xa|dnd] [MESSAGE]")
        #expect(try #require(CommandTable.find("history")).synopsis == "/history [CONTACT] [N] [--around ID]")
        #expect(try #require(CommandTable.find("quit")).synopsis == "/quit")
        for command in CommandTable.commands {
            #expect(command.synopsis == (["/" + command.name] + command.arguments.map(\.synopsis)).joined(separator: " "))
            // Required arguments come first: an optional one before a required one could not be told apart.
            let firstOptional = command.arguments.firstIndex(where: \.optional) ?? command.arguments.count
            let requiredAfterOptional = command.arguments[firstOptional...].contains { !$0.optional }
            #expect(!requiredAfterOptional, "\(command.name)")
        }
    }

    @Test func counts_follow_the_arguments_free_text_has_no_maximum() throws {
        let msg = try #require(CommandTable.find("msg"))
        #expect(msg.minArguments == 1 && msg.maxArguments == nil)
        let chat = try #require(CommandTable.find("chat"))
        #expect(chat.minArguments == 1 && chat.maxArguments == 1)
        let history = try #require(CommandTable.find("history"))
        #expect(history.minArguments == 0 && history.maxArguments == 4)
        #expect(try #require(CommandTable.find("quit")).maxArguments == 0)
        #expect(try #require(CommandTable.find("config")).minArguments == 2)
    }

    @Test func usage_errors_give_the_synopsis_and_an_example_and_catch_too_many() throws {
        let msg = try #require(CommandTable.find("msg"))
        #expect(msg.usageError([]) == "usage: /msg CONTACT [TEXT]  e.g. /msg alice@example.org see you at six")
        #expect(msg.usageError(["bob", "hi", "there"]) == nil)
        let chat = try #require(CommandTable.find("chat"))
        #expect(chat.usageError(["bob", "extra"]) == "too many arguments: /chat takes at most 1 argument; usage: /chat CONTACT  e.g. /chat bob@example.org")
        #expect(try #require(CommandTable.find("quit")).usageError(["now"])?.hasPrefix("too many arguments: /quit takes no arguments") == true)
    }

    @Test func every_command_with_arguments_has_examples_that_fit_its_counts() {
        for command in CommandTable.commands {
            if command.minArguments > 0 { #expect(!command.examples.isEmpty, "\(command.name) has no example") }
            for example in command.examples {
                let words = CommandTable.words(String(example.dropFirst()))
                #expect(CommandTable.find(words.first ?? "")?.name == command.name, "\(example)")
                #expect(command.usageError(Array(words.dropFirst())) == nil, "\(example)")
            }
        }
    }

    @Test func the_text_after_a_quoted_name_keeps_its_spacing() {
        #expect(CommandTable.words("msg \"Alice Smith\" see  you") == ["msg", "Alice Smith", "see", "you"])
        #expect(CommandTable.afterFirstWord("\"Alice Smith\" see  you") == "see  you")
        #expect(CommandTable.afterFirstWord("bob \"quoted\"  text") == "\"quoted\"  text")
        #expect(CommandTable.afterFirstWord("bob") == "")
    }

    @Test func names_and_aliases_are_unique() {
        let names = CommandTable.commands.flatMap { [$0.name] + $0.aliases }
        #expect(Set(names).count == names.count)
    }

    @Test func help_wraps_at_the_width_under_the_summary_column_without_cutting_words() throws {
        let columns = 60
        let text = CommandTable.helpText(for: nil, columns: columns)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { TerminalText.width($0) <= columns })
        // Every word of every summary is on some line whole.
        let words = Set(lines.flatMap { $0.split(separator: " ").map(String.init) })
        for command in CommandTable.commands {
            for word in command.summary.split(separator: " ") { #expect(words.contains(String(word)), "\(word) cut") }
        }
        // Continuation lines start at the summary column.
        let column = 2 + CommandTable.synopsisColumnWidth + 2
        let msg = try #require(lines.firstIndex { $0.hasPrefix("  /msg CONTACT [TEXT]") })
        #expect(lines[msg + 1].prefix(column).allSatisfy { $0 == " " } && lines[msg + 1].dropFirst(column).first != " ")
        // Unwrapped (piped output): one line per command, plus the heading.
        #expect(CommandTable.helpText(for: nil).split(separator: "\n").count >= CommandTable.commands.count + 1)
    }

    @Test func help_for_one_command_shows_its_detail_aliases_and_examples() {
        let text = CommandTable.helpText(for: "/query", columns: 60)
        #expect(text.hasPrefix("/chat CONTACT\n"))
        #expect(text.contains("aliases: /query"))
        #expect(text.contains("examples:\n    /chat bob@example.org\n    /chat Bob"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 60 })
        #expect(CommandTable.helpText(for: "nope") == "unknown command /nope; try /help")
    }

    /// Every subcommand named like a shell command, or declared its twin, agrees with it: the
    /// same job under the same (or declared) name, and the same summary.
    @Test func shell_commands_and_subcommands_agree_on_names_and_summaries() throws {
        let subcommands = Tern.configuration.subcommands.map { $0.configuration }
        let subcommandNames = Set(subcommands.compactMap(\.commandName))
        for configuration in subcommands {
            let name = try #require(configuration.commandName)
            let twin = CommandTable.commands.first { $0.subcommand == name }
            if let twin {
                #expect(configuration.abstract == twin.summary, "tern \(name) and /\(twin.name)")
                #expect(!twin.summary.isEmpty)
            } else if CommandTable.find(name) != nil {
                #expect(CommandTable.sameNameOtherJob.contains(name), "tern \(name) and /\(name) share a name but are not twins")
            }
        }
        for command in CommandTable.commands {
            if let subcommand = command.subcommand { #expect(subcommandNames.contains(subcommand), "/\(command.name): no tern \(subcommand)") }
        }
        #expect(CommandTable.sameNameOtherJob.isSubset(of: subcommandNames))
    }

    @Test func completion_scripts_generate_for_each_shell_and_name_the_subcommands() {
        for shell in [CompletionShell.bash, .zsh, .fish] {
            let script = Tern.completionScript(for: shell)
            for name in ["send", "history", "roster", "topic", "join"] {
                #expect(script.contains(name), "\(shell.rawValue) script lacks \(name)")
            }
        }
    }
}

/// Tab's presses: complete, then list, then cycle; anything else in between starts over.
@Suite struct TabPressesTests {
    @Test func complete_list_then_cycle_and_start_over_after_another_key() {
        var presses = TabPresses()
        #expect(presses.press(repeated: false) == .complete)
        #expect(presses.press(repeated: true) == .list)
        #expect(presses.press(repeated: true) == .cycle(starting: true))
        #expect(presses.press(repeated: true) == .cycle(starting: false))
        #expect(presses.press(repeated: true) == .cycle(starting: false))
        #expect(presses.press(repeated: false) == .complete)
        presses.settled()
        #expect(presses.press(repeated: true) == .complete, "a settled completion: the next Tab completes afresh")
    }
}
