import Foundation
import Testing
@testable import Shell

/// Tab in the shell: command names, then paths for /file and folders for /download.
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
}
