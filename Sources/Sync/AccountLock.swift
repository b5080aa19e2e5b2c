import Foundation

/// The advisory lock that makes one process the owner of an account's connection (DESIGN §2).
///
/// Many tern processes share a data directory; only the lock holder connects, so a second
/// connection never kicks the first off with `conflict`. The kernel drops the lock when the
/// holder exits, however it exits.
public final class AccountLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Takes the lock without waiting; nil when another process holds it.
    public static func acquire(directory: String, accountJID: String) throws -> AccountLock? {
        let safeName = accountJID.map { $0.isLetter || $0.isNumber || "@.-_".contains($0) ? $0 : "_" }
        let path = (directory as NSString).appendingPathComponent(".\(String(safeName)).lock")
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SyncError.lockFailed(path, String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return AccountLock(path: path, fd: fd)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// The pid written by the current holder, for messages.
    public static func holder(directory: String, accountJID: String) -> Int32? {
        let safeName = accountJID.map { $0.isLetter || $0.isNumber || "@.-_".contains($0) ? $0 : "_" }
        let path = (directory as NSString).appendingPathComponent(".\(String(safeName)).lock")
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Whether the process named in the lock file still runs: a crashed owner leaves a stale
    /// "online" in the Store, which readers should not believe.
    public static func hasLiveHolder(directory: String, accountJID: String) -> Bool {
        guard let pid = holder(directory: directory, accountJID: accountJID), pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
