/// Tests for terminal-inert rendering of network text (DESIGN.md §6 "Terminal").
import Testing
@testable import Shell

@Suite("Sanitizer")
struct SanitizerTests {
    private static let fffd = "\u{FFFD}"

    @Test func inert__escapeSequences__becomeVisibleControlPictures() {
        // Clear screen, OSC 8 hyperlink and OSC 52 clipboard write all lose their ESC/BEL.
        #expect(Sanitizer.inert("\u{1B}[2J") == "␛[2J")
        #expect(Sanitizer.inert("\u{1B}]8;;http://evil/\u{1B}\\click\u{1B}]8;;\u{1B}\\")
            == "␛]8;;http://evil/␛\\click␛]8;;␛\\")
        #expect(Sanitizer.inert("\u{1B}]52;c;cm0gLXJmIH4=\u{07}") == "␛]52;c;cm0gLXJmIH4=␇")
        #expect(!Sanitizer.inertMultiline("a\u{1B}[31mred").unicodeScalars.contains("\u{1B}"))
    }

    @Test func inert__carriageReturnOverwrite__isShownNotExecuted() {
        #expect(Sanitizer.inert("evil\rgood") == "evil␍good")
        #expect(Sanitizer.inertMultiline("evil\rgood") == "evil␍good")
        #expect(Sanitizer.inert("abc\u{08}\u{08}\u{08}xyz") == "abc␈␈␈xyz")
    }

    @Test func inert__c1Controls__areReplaced() {
        // U+009B is a one-character CSI on terminals that honour C1.
        #expect(Sanitizer.inert("a\u{9B}2Jb") == "a\(Self.fffd)2Jb")
        #expect(Sanitizer.inert("\u{85}\u{9D}x") == "\(Self.fffd)\(Self.fffd)x")
        #expect(Sanitizer.inert("del\u{7F}") == "del␡")
    }

    @Test func inert__bidiOverride__cannotReverseAFileName() {
        #expect(Sanitizer.inert("invoice\u{202E}fdp.exe") == "invoice\(Self.fffd)fdp.exe")
        for scalar in ["\u{061C}", "\u{200E}", "\u{200F}", "\u{202A}", "\u{202D}", "\u{2066}", "\u{2069}"] {
            #expect(Sanitizer.inert("a\(scalar)b") == "a\(Self.fffd)b", "\(scalar.unicodeScalars.first!.value)")
        }
    }

    @Test func inert__zeroWidthCharacters__betweenAsciiAreReplaced() {
        #expect(Sanitizer.inert("pay\u{200B}pal") == "pay\(Self.fffd)pal")
        #expect(Sanitizer.inert("ad\u{200D}min") == "ad\(Self.fffd)min")
        #expect(Sanitizer.inert("ad\u{200C}min") == "ad\(Self.fffd)min")
        #expect(Sanitizer.inert("\u{FEFF}bom") == "\(Self.fffd)bom")
        #expect(Sanitizer.inert("a\u{2060}b\u{2064}c") == "a\(Self.fffd)b\(Self.fffd)c")
        #expect(Sanitizer.inert("\u{3164}") == Self.fffd)  // Hangul filler: the "blank nickname" trick
    }

    @Test func inert__tagCharacters__cannotSmuggleHiddenText() {
        // "hi" followed by invisible tag letters spelling "IGNORE".
        let smuggled = "hi" + "IGNORE".unicodeScalars.map { String(Unicode.Scalar($0.value + 0xE0000)!) }.joined()
        #expect(Sanitizer.inert(smuggled) == "hi" + String(repeating: Self.fffd, count: 6))
        // A tag sequence not anchored on the black flag is not a flag.
        #expect(Sanitizer.inert("x\u{E0067}\u{E0062}\u{E007F}") == "x" + String(repeating: Self.fffd, count: 3))
    }

    @Test func inert__variationSelectorRuns__keepOnlyTheFirst() {
        #expect(Sanitizer.inert("❤\u{FE0F}") == "❤\u{FE0F}")
        #expect(Sanitizer.inert("❤\u{FE0F}\u{FE01}\u{E0100}") == "❤\u{FE0F}\(Self.fffd)\(Self.fffd)")
    }

    @Test func inert__ordinaryText__passesUnchanged() {
        let samples = [
            "plain ascii",
            "Grüße, Zoë, déjà vu, Ελληνικά, Русский",
            "日本語のテキスト 中文 한국어",
            "emoji 😀 👍🏽 🇫🇷 ❤️",
            "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag",  // ZWJ sequences
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} England",  // subdivision flag tags
            "e\u{301} a\u{308}\u{323} Z\u{335}",  // combining marks
            "می\u{200C}خواهم",  // Persian ZWNJ
            "क्\u{200D}ष",  // Devanagari ZWJ after virama
            "user@example.org/resource",
        ]
        for sample in samples {
            #expect(Sanitizer.inert(sample) == sample)
            #expect(Sanitizer.inertMultiline(sample) == sample)
        }
    }

    @Test func inert__combiningMark__cannotHideAControl() {
        // Scalars, not Characters: ESC after a combining mark still becomes visible.
        #expect(Sanitizer.inert("e\u{301}\u{1B}[2J") == "e\u{301}␛[2J")
        #expect(Sanitizer.inert("\u{1B}\u{301}") == "␛\u{301}")
    }

    @Test func inert__newlinesAndTabs__singleLineHasNoBreaks() {
        #expect(Sanitizer.inert("line1\nline2") == "line1␊line2")
        #expect(Sanitizer.inert("a\r\nb") == "a␍␊b")
        #expect(Sanitizer.inert("a\tb") == "a b")
        #expect(Sanitizer.inert("a\u{2028}b\u{2029}c") == "a\(Self.fffd)b\(Self.fffd)c")
        #expect(!Sanitizer.inert("x\ny\r\u{2028}\u{85}").contains { $0.isNewline })
    }

    @Test func inertMultiline__newlines__keptAndCRLFNormalised() {
        #expect(Sanitizer.inertMultiline("line1\nline2") == "line1\nline2")
        #expect(Sanitizer.inertMultiline("a\r\nb\r\n") == "a\nb\n")
        #expect(Sanitizer.inertMultiline("a\u{2028}b") == "a\nb")
        #expect(Sanitizer.inertMultiline("a\tb") == "a b")
        #expect(Sanitizer.inertMultiline("\u{0}\u{7}") == "␀␇")
    }

    @Test func inert__softHyphen__isShownAsHyphen() {
        #expect(Sanitizer.inert("co\u{AD}operate") == "co-operate")
    }

    @Test func inert__everyC0AndC1Scalar__isNeutralised() {
        for value in UInt32(0)...0x9F where value < 0x20 || value >= 0x7F {
            let scalar = Unicode.Scalar(value)!
            let out = Sanitizer.inert("a\(Character(scalar))b")
            #expect(!out.unicodeScalars.contains(scalar), "U+\(String(value, radix: 16))")
            #expect(out.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) })
        }
    }
}
