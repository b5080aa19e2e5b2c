import Foundation
import Store
import XMPP

/// XEP-0402 PEP Native Bookmarks (`urn:xmpp:bookmarks:1`) §3 on a live session, through the
/// XEP-0048 compatibility path servers such as Prosody advertise (`#compat`), so clients that
/// still read the old private-XML bookmarks see the same rooms.
///
/// The Store's `room` rows are the local truth; a local change (`tern join`, `tern leave`)
/// is marked pending and pushed to the server, and wins until it is. On every new session the
/// server's list is fetched and merged first, so a bookmark with `autojoin` set from another
/// device is joined here too (this feature runs before RoomFeature). Changes other clients
/// make arrive as PEP notifications (`+notify` in our caps), trusted only from our own account.
struct BookmarksFeature: SessionFeature {
    let pushes = BookmarkPushes()

    static let requestTimeout: Duration = .seconds(15)
    /// A push the server refused is tried again after this long, not on every poll.
    static let retryAfter: Duration = .seconds(30)

    var discoFeatures: [String] { [Bookmarks.notifyFeature] }

    func sessionSettled(_ context: FeatureContext, resumed: Bool) async {
        // A resumed session missed nothing: notifications were held for it.
        let fetchedBefore = await pushes.hasFetched(context.account.rowID)
        guard !resumed || !fetchedBefore else {
            await push(context)
            return
        }
        guard await Self.isSupported(context) else { return }
        await fetch(context)
        await push(context)
    }

    func poll(_ context: FeatureContext) async {
        await push(context)
    }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        guard stanza.matches("message", NS.client),
            let items = stanza.child("event", namespace: NS.pubsubEvent)?.child("items", namespace: NS.pubsubEvent)
        else { return false }
        return items["node"] == NS.bookmarks
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let accountID = context.account.rowID
        for stanza in stanzas {
            // Forged notifications (not from our own account) are dropped whole.
            guard let changes = Bookmarks.changes(inEvent: stanza, ourJID: context.boundJID) else { continue }
            for change in changes {
                switch change {
                case .published(let bookmark):
                    _ = try context.unlessRefused { try context.store.applyBookmark(accountID: accountID, Self.row(bookmark)) }
                case .retracted(let room):
                    try context.store.applyBookmarkRetraction(accountID: accountID, jid: room.bare.description)
                }
            }
        }
    }

    /// disco#info on our bare JID lists `urn:xmpp:bookmarks:1#compat`.
    static func isSupported(_ context: FeatureContext) async -> Bool {
        guard let query = try? await context.discoInfo(of: context.boundJID.bare, timeout: requestTimeout) else { return false }
        return Bookmarks.isSupported(accountInfo: query)
    }

    /// The server's whole list, merged into the Store. A node that does not exist yet is an empty list.
    private func fetch(_ context: FeatureContext) async {
        let marks: [Bookmarks.Bookmark]
        do {
            let reply = try await context.request(Bookmarks.fetchRequest(id: context.nextID()), timeout: Self.requestTimeout)
            marks = Bookmarks.bookmarks(fromItemsResult: reply)
        } catch let error as StanzaError where error.condition == "item-not-found" {
            marks = []
        } catch {
            return
        }
        _ = try? context.store.mergeBookmarks(accountID: context.account.rowID, marks.map(Self.row))
        await pushes.fetched(context.account.rowID)
    }

    /// Local changes not yet on the server: publish or retract each, oldest state first.
    private func push(_ context: FeatureContext) async {
        let accountID = context.account.rowID
        guard await pushes.hasFetched(accountID), await pushes.begin(accountID, retryAfter: Self.retryAfter) else { return }
        var refused = false
        for room in (try? context.store.pendingBookmarkSyncs(accountID: accountID)) ?? [] {
            guard let sync = room.bookmarkSync, let jid = JID(validating: room.jid) else { continue }
            let request: Element
            switch sync {
            case .publish:
                // Other clients' extensions go back unchanged (XEP-0402 §3).
                let extensions = room.bookmarkExtensions.flatMap { try? StreamParser.element(fromSerialized: $0) }
                request = Bookmarks.publishRequest(
                    Bookmarks.Bookmark(
                        room: jid, name: room.name, autojoin: room.autojoin, nick: room.nick, password: room.password,
                        extensions: extensions),
                    id: context.nextID())
            case .retract:
                request = Bookmarks.retractRequest(room: jid, id: context.nextID())
            }
            do {
                _ = try await context.request(request, timeout: Self.requestTimeout)
                try? context.store.markBookmarkSynced(accountID: accountID, jid: room.jid, sync: sync, pushed: room.bookmark)
            } catch is StanzaError {
                refused = true
            } catch {
                break  // the link went; the next session pushes it
            }
        }
        await pushes.end(accountID, refused: refused)
    }

    static func row(_ bookmark: Bookmarks.Bookmark) -> RoomBookmark {
        RoomBookmark(
            jid: bookmark.room.bare.description, name: bookmark.name, autojoin: bookmark.autojoin,
            nick: bookmark.nick, password: bookmark.password,
            extensions: bookmark.extensions.flatMap { try? XMLSerializer.serialize($0) })
    }
}

/// Which accounts fetched their bookmarks in this process, and whether a push runs or waits.
actor BookmarkPushes {
    private var fetchedAccounts: Set<Int64> = []
    private var running: Set<Int64> = []
    private var refusedAt: [Int64: ContinuousClock.Instant] = [:]

    func fetched(_ accountID: Int64) { fetchedAccounts.insert(accountID) }
    func hasFetched(_ accountID: Int64) -> Bool { fetchedAccounts.contains(accountID) }

    func begin(_ accountID: Int64, retryAfter: Duration) -> Bool {
        if let refused = refusedAt[accountID], refused.duration(to: .now) < retryAfter { return false }
        return running.insert(accountID).inserted
    }

    func end(_ accountID: Int64, refused: Bool) {
        running.remove(accountID)
        refusedAt[accountID] = refused ? .now : nil
    }
}
