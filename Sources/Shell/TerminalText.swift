/// Text measured and wrapped the way a terminal shows it: by columns, not characters.
///
/// A wide character (CJK, most emoji) takes two columns, a combining mark or a zero-width
/// character none, and escape sequences (SGR colours, OSC) none. Terminals disagree only at
/// the edges of Unicode; this table follows the East Asian Width property's wide and
/// fullwidth ranges (UAX #11) and the emoji blocks, which is what glibc's wcwidth does too,
/// without depending on the process's locale.
enum TerminalText {
    /// The columns `text` takes on one line.
    static func width(_ text: String) -> Int {
        var columns = 0
        var escape = EscapeScanner()
        for scalar in text.unicodeScalars {
            if escape.consume(scalar) { continue }
            columns += width(of: scalar)
        }
        return columns
    }

    /// `text` cut into lines of at most `columns` columns, at spaces where it can, through a
    /// word only when the word alone is too long. Every line after the first starts with
    /// `indent` spaces (a hanging indent); existing newlines are kept and indented the same.
    /// Below a useful width (fewer than `indent + 10` columns) the text is left as it is.
    static func wrap(_ text: String, columns: Int, indent: Int = 0) -> [String] {
        let indent = max(0, indent)
        guard columns >= indent + 10 else { return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        for (number, paragraph) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = number == 0 ? "" : pad
            var lineWidth = number == 0 ? 0 : indent
            var lineIsEmpty = true
            var paragraphStart = true
            for word in words(paragraph) {
                let wordWidth = width(word.text)
                // Spacing is kept inside a line and at the paragraph's start, dropped at a wrap.
                // A word too long for any line starts where it is and is cut.
                if !lineIsEmpty, lineWidth + width(word.space) + wordWidth > columns, wordWidth <= columns - indent {
                    lines.append(line)
                    line = pad
                    lineWidth = indent
                    lineIsEmpty = true
                } else if !lineIsEmpty || paragraphStart {
                    line += word.space
                    lineWidth += width(word.space)
                }
                paragraphStart = false
                // A word longer than a whole line is cut where the line ends.
                var escape = EscapeScanner()
                for scalar in word.text.unicodeScalars {
                    let scalarWidth = escape.consume(scalar) ? 0 : width(of: scalar)
                    if lineWidth + scalarWidth > columns, lineWidth > indent {
                        lines.append(line)
                        line = pad
                        lineWidth = indent
                    }
                    line.unicodeScalars.append(scalar)
                    lineWidth += scalarWidth
                }
                if !word.text.isEmpty { lineIsEmpty = false }
            }
            lines.append(line)
        }
        return lines
    }

    /// `line` cut to fit `columns`, the last column left free (a full row makes some terminals
    /// wrap); an ellipsis marks the cut.
    static func cut(_ line: String, to columns: Int) -> String {
        let room = max(columns - 1, 1)
        guard width(line) > room else { return line }
        var used = 0
        var out = String.UnicodeScalarView()
        var escape = EscapeScanner()
        for scalar in line.unicodeScalars {
            let cells = escape.consume(scalar) ? 0 : width(of: scalar)
            if used + cells > room - 1 { break }
            used += cells
            out.append(scalar)
        }
        return String(out) + "…"
    }

    /// A paragraph as words, each with the spacing before it (kept as typed inside a line).
    private static func words(_ paragraph: Substring) -> [(space: String, text: String)] {
        var result: [(space: String, text: String)] = []
        var space = ""
        var word = ""
        for character in paragraph {
            if character == " " {
                if !word.isEmpty {
                    result.append((space, word))
                    space = ""
                    word = ""
                }
                space.append(character)
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty || !space.isEmpty { result.append((space, word)) }
        return result
    }

    /// Columns of one scalar outside an escape sequence.
    static func width(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return 0 }
        if value < 0x300 { return 1 }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if value == 0x200B || (0x1160...0x11FF).contains(value) { return 0 }
        return wideRanges.contains { $0.contains(value) } ? 2 : 1
    }

    /// East Asian Wide and Fullwidth blocks, and the emoji blocks terminals draw two columns wide.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0, 0x23F3...0x23F3,
        0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F, 0x2693...0x2693, 0x26A1...0x26A1,
        0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA,
        0x26F2...0x26F3, 0x26F5...0x26F5, 0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B,
        0x2728...0x2728, 0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55, 0x2E80...0x303E,
        0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x18CFF,
        0x1B000...0x1B2FF, 0x1F004...0x1F004, 0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E, 0x1F191...0x1F19A,
        0x1F200...0x1F2FF, 0x1F300...0x1F320, 0x1F32D...0x1F335, 0x1F337...0x1F37C, 0x1F37E...0x1F393,
        0x1F3A0...0x1F3CA, 0x1F3CF...0x1F3D3, 0x1F3E0...0x1F3F0, 0x1F3F4...0x1F3F4, 0x1F3F8...0x1F43E,
        0x1F440...0x1F440, 0x1F442...0x1F4FC, 0x1F4FF...0x1F53D, 0x1F54B...0x1F54E, 0x1F550...0x1F567,
        0x1F57A...0x1F57A, 0x1F595...0x1F596, 0x1F5A4...0x1F5A4, 0x1F5FB...0x1F64F, 0x1F680...0x1F6C5,
        0x1F6CC...0x1F6CC, 0x1F6D0...0x1F6D2, 0x1F6D5...0x1F6D7, 0x1F6EB...0x1F6EC, 0x1F6F4...0x1F6FC,
        0x1F7E0...0x1F7EB, 0x1F90C...0x1F93A, 0x1F93C...0x1F945, 0x1F947...0x1F9FF, 0x1FA70...0x1FAFF,
        0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]
}

/// Steps over ESC sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC \`), and
/// readline's invisible-text marks (\001, \002); `consume` says whether a scalar belongs to one.
struct EscapeScanner {
    private enum State { case text, escape, csi, osc, oscEscape }
    private var state = State.text

    mutating func consume(_ scalar: Unicode.Scalar) -> Bool {
        switch state {
        case .text:
            if scalar == "\u{1B}" {
                state = .escape
                return true
            }
            return scalar == "\u{01}" || scalar == "\u{02}"
        case .escape:
            state = scalar == "[" ? .csi : scalar == "]" ? .osc : .text
        case .csi:
            if (0x40...0x7E).contains(scalar.value) { state = .text }
        case .osc:
            if scalar == "\u{07}" { state = .text } else if scalar == "\u{1B}" { state = .oscEscape }
        case .oscEscape:
            state = .text
        }
        return true
    }
}
