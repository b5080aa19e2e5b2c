/// RFC 6120 §4 / §11: the fuzz corpus (Fuzz/) as a regression test of StreamParser.
///
/// Every committed input (hand-written seeds, the minimised corpus and each finding) goes
/// through the fuzzer's oracles: whole, cut where the input says, cut in two at seven more
/// places, and in chunks of the input's size and of 5 bytes.
import Foundation
import Testing
@testable import XMPP

@Suite struct StreamParserCorpusTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ folder: String) -> [URL] {
        let url = fuzzFolder.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.sorted().map { url.appendingPathComponent($0) }
    }

    @Test(arguments: ["seeds", "corpus", "regressions"])
    func corpus__keepsEveryOracle(folder: String) throws {
        let files = Self.files(folder)
        #expect(!files.isEmpty, "no inputs in Fuzz/\(folder)")
        for file in files {
            guard let input = StreamParserOracle.Input(try Data(contentsOf: file)) else { continue }
            let count = input.stream.count
            let cuts = ([input.cut] + (1..<8).map { count * $0 / 8 }).map { [$0] }
            let chunks = [input.chunks(of: input.chunkSize), input.chunks(of: 5)]
            let broken = StreamParserOracle.violation(input.stream, limits: input.limits, chunkings: [[]] + cuts + chunks)
            #expect(broken == nil, "Fuzz/\(folder)/\(file.lastPathComponent): \(broken ?? "")")
        }
    }
}
