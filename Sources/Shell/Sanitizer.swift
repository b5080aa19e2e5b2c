/// Terminal safety for network text (DESIGN.md §6 "Terminal"; Unicode UAX #9 bidi controls, UTS #51 emoji sequences).
///
/// Anything a peer or server sends can reach the terminal, so it must not be able to
/// drive it (ESC/CSI/OSC sequences, C1 controls), rewrite what is already shown
/// (CR, backspace), reorder it (bidi overrides) or hide text (zero-width and tag
/// characters). The text stays readable; only what could act or hide is replaced:
///
/// - C0 controls U+0000–U+001F and DEL become their Unicode "control pictures"
///   (U+2400 + code, e.g. ESC → "␛", CR → "␍", DEL → "␡"), so an attack is visible as such.
///   TAB becomes one space. LF becomes "␊" in single-line fields and stays a line break in
///   bodies, where a CR directly before an LF is dropped (CRLF → LF).
/// - C1 controls, bidi controls, zero-width and other default-ignorable characters,
///   and U+2028/U+2029 (outside bodies) become U+FFFD "�". In bodies U+2028/U+2029 become LF.
/// - Exceptions that keep ordinary text intact: ZWJ/ZWNJ between two non-ASCII letters,
///   marks or emoji (emoji families, Indic conjuncts, Persian), one variation selector
///   after a base character, emoji tag sequences for subdivision flags (🏴 + a–z/0–9 tags
///   + cancel tag), and the soft hyphen, shown as "-".
///
/// Everything works on Unicode scalars, never on Characters, so a control cannot hide
/// inside a grapheme cluster behind a combining mark.
public enum Sanitizer {
    /// Makes a single-line field (nickname, JID, status, room subject) inert: no line breaks survive.
    public static func inert(_ text: String) -> String {
        sanitize(text, multiline: false)
    }

    /// Makes a message body inert while keeping its line breaks ("\n") for the renderer to indent.
    public static func inertMultiline(_ text: String) -> String {
        sanitize(text, multiline: true)
    }

    static let replacement: Unicode.Scalar = "\u{FFFD}"

    private static func sanitize(_ text: String, multiline: Bool) -> String {
        // Fast path: printable ASCII (plus LF in bodies) is already inert.
        if text.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || (multiline && $0 == 0x0A) }) {
            return text
        }
        let scalars = Array(text.unicodeScalars)
        // Output is built as UTF-8 bytes: much faster than appending to a UnicodeScalarView.
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        var changed = false
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            // A whole subdivision-flag tag sequence is copied as is.
            if scalar.value == 0x1F3F4, let end = tagSequenceEnd(scalars, from: index + 1) {
                for kept in scalars[index...end] { append(kept, to: &out) }
                index = end + 1
                continue
            }
            switch map(scalars, at: index, multiline: multiline) {
            case .keep:
                append(scalar, to: &out)
            case .drop:
                changed = true
            case .replace(let other):
                append(other, to: &out)
                changed = true
            }
            index += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        if scalar.value < 0x80 {
            out.append(UInt8(truncatingIfNeeded: scalar.value))
        } else {
            UTF8.encode(scalar) { out.append($0) }
        }
    }

    private enum Mapping {
        case keep
        case drop
        case replace(Unicode.Scalar)
    }

    private static func map(_ scalars: [Unicode.Scalar], at index: Int, multiline: Bool) -> Mapping {
        let value = scalars[index].value
        switch value {
        case 0x20..<0x7F:
            return .keep
        case 0x09:
            return .replace(" ")
        case 0x0A:
            return multiline ? .keep : .replace(controlPicture(value))
        case 0x0D:
            let beforeLF = index + 1 < scalars.count && scalars[index + 1].value == 0x0A
            return multiline && beforeLF ? .drop : .replace(controlPicture(value))
        case 0x00..<0x20, 0x7F:
            return .replace(controlPicture(value))
        case 0x80..<0xA0:
            return .replace(replacement)
        case 0xAD:
            return .replace("-")
        case 0x2028, 0x2029:
            return multiline ? .replace("\n") : .replace(replacement)
        case 0x200C, 0x200D:
            return joinerAllowed(scalars, at: index) ? .keep : .replace(replacement)
        case 0xFE00...0xFE0F, 0xE0100...0xE01EF, 0x180B...0x180D, 0x180F:
            return variationSelectorAllowed(scalars, at: index) ? .keep : .replace(replacement)
        case 0xA0..<0x34F, 0x350..<0x590, 0x3040..<0x3130, 0x3190...0x9FFF, 0xAC00...0xD7A3, 0x1F000...0x1FAFF:
            // Latin, combining marks (but U+034F), Greek, Cyrillic, kana, CJK, Hangul syllables,
            // emoji: no controls or ignorables here, so skip the property lookup.
            return .keep
        default:
            let properties = scalars[index].properties
            if properties.isDefaultIgnorableCodePoint { return .replace(replacement) }
            switch properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate:
                return .replace(replacement)
            default:
                return .keep
            }
        }
    }

    private static func controlPicture(_ value: UInt32) -> Unicode.Scalar {
        let picture: UInt32 = value == 0x7F ? 0x2421 : 0x2400 + value
        return Unicode.Scalar(picture) ?? replacement
    }

    /// ZWJ/ZWNJ only shape text between two non-ASCII letters, marks or emoji; elsewhere they just hide.
    private static func joinerAllowed(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        guard index > 0, index + 1 < scalars.count else { return false }
        let before = scalars[index - 1]
        let after = scalars[index + 1]
        guard before.value > 0x7F, after.value > 0x7F else { return false }
        return isShaping(before, isBefore: true) && isShaping(after, isBefore: false)
    }

    private static func isShaping(_ scalar: Unicode.Scalar, isBefore: Bool) -> Bool {
        let properties = scalar.properties
        if properties.isEmoji || properties.isEmojiModifier { return true }
        if isBefore, scalar.value == 0xFE0F { return true }  // emoji presentation selector ends a ZWJ element
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            return false
        }
    }

    /// One variation selector may follow a visible base; runs of them can smuggle hidden data.
    private static func variationSelectorAllowed(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        guard index > 0 else { return false }
        let before = scalars[index - 1]
        if before.value < 0x21 || before.value == 0x7F { return false }
        if isVariationSelector(before.value) || before.properties.isDefaultIgnorableCodePoint { return false }
        return true
    }

    private static func isVariationSelector(_ value: UInt32) -> Bool {
        switch value {
        case 0xFE00...0xFE0F, 0xE0100...0xE01EF, 0x180B...0x180D, 0x180F: return true
        default: return false
        }
    }

    /// Index of the cancel tag ending a UTS #51 flag tag sequence starting at `from`, if valid.
    /// Only 1–7 tag letters/digits are accepted, which bounds what a "flag" can smuggle.
    private static func tagSequenceEnd(_ scalars: [Unicode.Scalar], from: Int) -> Int? {
        var index = from
        while index < scalars.count, index - from <= 7 {
            let value = scalars[index].value
            switch value {
            case 0xE0030...0xE0039, 0xE0061...0xE007A:
                index += 1
            case 0xE007F:
                return index > from ? index : nil
            default:
                return nil
            }
        }
        return nil
    }
}
