/// Secret answers (passwords) never go through readline, whose display, kill ring, undo list
/// and history would show or keep them: the loop reads the keys itself, in readline's raw
/// no-echo terminal mode, and wipes them once used.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

extension LineEditor {
    /// A secret answer being typed, byte by byte, in readline's raw no-echo terminal mode.
    struct SecretInput {
        enum Escape { case none, escape, csi([UInt8]), ss3 }
        var bytes: [UInt8]
        var escape = Escape.none
        /// Inside a bracketed paste: line ends are pasted text, not Enter.
        var pasting = false
    }

    /// Zeroes the typed bytes in place (mutating through `secretInput?` avoids copy-on-write copies).
    func wipeSecretBytes() {
        let count = secretInput?.bytes.count ?? 0
        for index in 0..<count { secretInput?.bytes[index] = 0 }
        secretInput?.bytes.removeAll(keepingCapacity: true)
    }

    /// Reads one key byte of a secret answer. The terminal is in readline's raw mode, so
    /// erase, kill and ^D are handled here; escape sequences (arrows, paste brackets) are dropped.
    func readSecretByte() {
        var byte: UInt8 = 0
        let count = read(input, &byte, 1)
        if count < 0 {
            if errno != EINTR, errno != EAGAIN { endReason = .inputFailed(errno: errno) }
            return
        }
        if count == 0 {
            endReason = .endOfInput  // raw mode reads nothing only when the terminal is gone
            return
        }
        guard let secret = secretInput else { return }
        switch secret.escape {
        case .none:
            break
        case .escape:
            secretInput?.escape = byte == 0x5B ? .csi([]) : byte == 0x4F ? .ss3 : .none
            return
        case .csi(let parameters):
            guard (0x40...0x7E).contains(byte) else {
                secretInput?.escape = .csi(parameters.count < 16 ? parameters + [byte] : parameters)
                return
            }
            secretInput?.escape = .none
            if byte == 0x7E, parameters == Array("200".utf8) { secretInput?.pasting = true }
            if byte == 0x7E, parameters == Array("201".utf8) { secretInput?.pasting = false }
            return
        case .ss3:
            secretInput?.escape = .none
            return
        }
        switch byte {
        case 0x0A, 0x0D:
            guard !secret.pasting else { return }
            let text = String(decoding: secretInput?.bytes ?? [], as: UTF8.self)
            let shown = shownQuestion
            let answer = shared.withLock { state -> CheckedContinuation<String?, Never>? in
                guard let shown, state.questions.first?.id == shown else { return nil }
                return state.questions.removeFirst().answer
            }
            finishSecretLine()
            answer?.resume(returning: text)
            redrawAfterQuestion()
        case 0x03, 0x04:
            // ^C only arrives as a byte if ISIG is off; ^D cancels on an empty answer, like EOF.
            if byte == 0x04, !secret.bytes.isEmpty { return }
            finishSecretLine()
            cancelShownQuestion()
            redrawAfterQuestion()
        case 0x1B:
            secretInput?.escape = .escape
        case 0x7F, 0x08:
            // Drop the last character, continuation bytes included.
            while let last = secretInput?.bytes.popLast(), last & 0xC0 == 0x80 {}
        case 0x15:
            wipeSecretBytes()
        case 0x00..<0x20:
            break  // other control keys have no meaning in an answer
        default:
            secretInput?.bytes.append(byte)
        }
    }

    /// Leaves the secret prompt's line as it is (prompt only) and moves to a fresh one.
    private func finishSecretLine() {
        wipeSecretBytes()
        fflush(tern_rl_outstream())
        _ = rl_crlf()
    }
}
