import Foundation
import Testing
@testable import Shell

@Suite struct JSONOutputTests {
    @Test func json__escapes_c1_bidi_and_zero_width_but_keeps_the_data() throws {
        let body = "evil\u{202E}gnp.exe \u{9B}31m zero\u{200B}width \u{1B}[2J 🙂 é"
        let line = Renderer.json(["body": body])
        for scalar in line.unicodeScalars {
            #expect(scalar.value >= 0x20 && scalar.value != 0x7F, "raw control in \(line)")
            #expect(![0x202E, 0x9B, 0x200B].contains(scalar.value), "raw invisible in \(line)")
        }
        #expect(line.contains("\\u202e"))
        let decoded = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(decoded?["body"] == body, "escaping is lossless")
        #expect(line.contains("🙂 é"), "ordinary text stays readable")
    }
}
