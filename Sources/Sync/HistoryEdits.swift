import Store
import XMPP

/// Incoming corrections (XEP-0308) and retractions (XEP-0424), however they arrive: live, as
/// carbons, from an archive, in rooms. Each record function marks its row with the edit it
/// asks for; `Store.insertApplyingEdits` then applies it only if the original sender sent it.
enum HistoryEdits {
    /// What the message asks of an earlier one, if anything. A retraction wins over a
    /// correction: removing is the stronger request.
    static func request(in message: Element) -> EditRequest? {
        if let id = Retraction.retractedID(in: message) { return EditRequest(.retraction, of: id) }
        if let id = Correction.replacedID(in: message) { return EditRequest(.correction, of: id) }
        return nil
    }

    /// `record` marked with the edit `message` asks for, and the file it offers (XEP-0066).
    static func marking(_ record: StoredMessage?, from message: Element) -> StoredMessage? {
        guard var record else { return nil }
        record.edit = request(in: message)
        record.offeredURL = OutOfBand.url(in: message)
        return record
    }
}
