import Foundation
import XMPP

/// When to tell the contact of the current conversation that we type (XEP-0085 §5.2–5.4), as a
/// pure state machine: `composing` when a message line is begun, `paused` after
/// `pauseAfter` seconds without a key, `active` when the line is emptied or becomes a
/// command, or when we leave the conversation mid-line. A line sent as a message carries
/// `<active/>` itself, so nothing more is sent for it. Never the same state twice in a row.
struct TypingNotifier: Equatable {
    static let pauseAfter: Double = 5

    struct Notification: Equatable {
        let state: ChatState
        let to: String
    }

    private(set) var state: ChatState = .active
    private(set) var target: String?
    private var lastEdit: Double = 0

    /// The command line changed. `conversation` is the one-to-one conversation lines go to
    /// (nil in a room or with none); `accepted` the line Enter just handed on, if any.
    mutating func edited(_ line: String, accepted: String?, in conversation: String?, at now: Double) -> [Notification] {
        var out: [Notification] = []
        if let accepted, !accepted.hasPrefix("/"), !accepted.isEmpty, target == conversation {
            state = .active  // the message carries <active/>
        }
        if target != conversation {
            if state != .active, let old = target { out.append(Notification(state: .active, to: old)) }
            state = .active
            target = conversation
        }
        guard let conversation else { return out }
        if !line.isEmpty, !line.hasPrefix("/") {
            lastEdit = now
            if state != .composing {
                state = .composing
                out.append(Notification(state: .composing, to: conversation))
            }
        } else if state != .active {
            state = .active
            out.append(Notification(state: .active, to: conversation))
        }
        return out
    }

    /// Time passed: a line left alone pauses.
    mutating func tick(at now: Double) -> [Notification] {
        guard state == .composing, let target, now - lastEdit >= Self.pauseAfter else { return [] }
        state = .paused
        return [Notification(state: .paused, to: target)]
    }
}
