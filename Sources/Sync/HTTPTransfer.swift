import CCurl
import Foundation
import Store
import Synchronization
import XMPP

/// What an HTTP transfer for an account trusts (DESIGN §2): the system's CAs, and for hosts
/// of the account's own domain (and its subdomains, where upload services live) exactly what
/// its XMPP stream trusts: its CA file, or its pinned key. No setting trusts anything else.
public struct HTTPTrust: Sendable, Equatable {
    public var domain: String
    public var caFile: String?
    /// The pinned SPKI SHA-256 (hex), as `tern trust` stores it.
    public var pinnedSPKI: String?
    /// `http:` URLs; off unless the account allows them.
    public var allowsHTTP: Bool

    public init(domain: String, caFile: String? = nil, pinnedSPKI: String? = nil, allowsHTTP: Bool = false) {
        self.domain = domain.lowercased()
        self.caFile = caFile
        self.pinnedSPKI = pinnedSPKI
        self.allowsHTTP = allowsHTTP
    }

    /// What `account` trusts; `http:` only for a download, and only when the account allows it.
    public init(account: Account, download: Bool = false) {
        let domain = (try? JID(account.jid).domain) ?? account.jid
        self.init(
            domain: domain, caFile: account.caFile, pinnedSPKI: account.pinnedSPKI,
            allowsHTTP: download && account.allowsHTTPDownloads)
    }

    /// What applies to `url`: its scheme checked, and the account's own trust for its hosts.
    func settings(for url: String) throws(HTTPTransferError) -> (caFile: String?, pin: String?) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { throw .badURL }
        switch scheme {
        case "https": break
        case "http" where allowsHTTP: break
        case "http": throw .plainHTTP
        default: throw .badURL
        }
        guard host == domain || host.hasSuffix("." + domain) else { return (nil, nil) }
        if let pinnedSPKI {
            guard let hex = TLSTrust.normalizedPin(pinnedSPKI), let bytes = Self.bytes(hex: hex) else { throw .badPin }
            return (nil, "sha256//" + Data(bytes).base64EncodedString())
        }
        return (caFile, nil)
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        return stride(from: 0, to: digits.count, by: 2).map { index in
            UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) ?? 0
        }
    }
}

/// Why a transfer ended without the file, in one line.
public enum HTTPTransferError: Error, Sendable, Equatable, CustomStringConvertible {
    case badURL
    case plainHTTP
    case badPin
    case status(Int)
    case tooLarge(limit: Int64)
    case transport(String)
    case localFile(String)
    case cancelled

    public var description: String {
        switch self {
        case .badURL: "not an https URL with a host"
        case .plainHTTP: "plain http is not allowed for this account (only https)"
        case .badPin: "the account's pinned key is not a SHA-256 in hex"
        case .status(let code): "the server answered HTTP \(code)"
        case .tooLarge(let limit): "larger than the limit of \(limit) bytes"
        case .transport(let reason): reason
        case .localFile(let reason): reason
        case .cancelled: "cancelled"
        }
    }

    /// Whether trying again later may work (a refused or oversized file will not).
    public var isTransient: Bool {
        switch self {
        case .transport: true
        case .status(let code): code >= 500 || code == 408 || code == 429
        default: false
        }
    }
}

/// How far a transfer is: bytes moved, and of how many when the size is known.
public struct TransferProgress: Sendable, Equatable {
    public var done: Int64
    public var total: Int64?

    public init(done: Int64, total: Int64?) {
        self.done = done
        self.total = total
    }
}

/// One HTTP upload or download through libcurl's GnuTLS build (the `CCurl` shim).
///
/// The transfer blocks a thread of its own, never the cooperative pool; `cancel()` from any
/// task stops it at the next progress callback. One instance runs one transfer.
public final class HTTPTransfer: Sendable {
    private let cancelled = CancelFlag()
    private static let globalInit: Int32 = ccurl_global_init()

    public init() {}

    public func cancel() { cancelled.value.store(true, ordering: .relaxed) }

    /// libcurl's version and TLS backend, for `tern --version`-style reports and tests.
    public static var libraryVersion: String { String(cString: ccurl_version()) }

    /// PUTs `size` bytes read from `fd` to `url` with `headers` (already limited to what
    /// XEP-0363 §4.1 allows). Succeeds on 200 or 201.
    public func upload(
        from fd: Int32, size: Int64, to url: String, headers: [HTTPUpload.Slot.Header], contentType: String?,
        trust: HTTPTrust, progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }
    ) async throws(HTTPTransferError) {
        let (caFile, pin) = try trust.settings(for: url)
        var lines = headers.map { "\($0.name): \($0.value)" }
        // curl would otherwise announce a form type and wait a second for a 100-continue.
        lines.append("Content-Type: \(contentType ?? "application/octet-stream")")
        lines.append("Expect:")
        let job = Job(cancelled: cancelled, sink: nil, limit: 0, progress: progress, uploading: true)
        let result = await perform(job, url: url, put: true, headers: lines, caFile: caFile, pin: pin, uploadFD: fd, uploadSize: size)
        try check(result, job)
        guard result.status == 200 || result.status == 201 else { throw .status(Int(result.status)) }
        progress(TransferProgress(done: size, total: size))  // the last report is throttled away otherwise
    }

    /// GETs `url` into `fd`, at most `limit` bytes (0: no limit); returns the bytes written.
    public func download(
        _ url: String, into fd: Int32, limit: Int64, trust: HTTPTrust,
        progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }
    ) async throws(HTTPTransferError) -> Int64 {
        let (caFile, pin) = try trust.settings(for: url)
        let job = Job(cancelled: cancelled, sink: fd, limit: limit, progress: progress, uploading: false)
        let result = await perform(job, url: url, put: false, headers: [], caFile: caFile, pin: pin, uploadFD: -1, uploadSize: 0)
        try check(result, job)
        guard result.status == 200 else { throw .status(Int(result.status)) }
        progress(TransferProgress(done: job.written, total: job.written))
        return job.written
    }

    private func check(_ result: ccurl_result, _ job: Job) throws(HTTPTransferError) {
        if let failure = job.failure { throw failure }
        if cancelled.value.load(ordering: .relaxed) { throw .cancelled }
        if result.curl_code == 63 /* CURLE_FILESIZE_EXCEEDED */ { throw .tooLarge(limit: job.limit) }
        guard result.curl_code == 0 else {
            var error = result.error
            let reason = withUnsafeBytes(of: &error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw .transport(reason.isEmpty ? "transfer failed (curl error \(result.curl_code))" : reason)
        }
    }

    private func perform(
        _ job: Job, url: String, put: Bool, headers: [String], caFile: String?, pin: String?, uploadFD: Int32, uploadSize: Int64
    ) async -> ccurl_result {
        _ = Self.globalInit
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    returning: Self.run(
                        job, url: url, put: put, headers: headers, caFile: caFile, pin: pin, uploadFD: uploadFD,
                        uploadSize: uploadSize))
            }
            thread.name = "tern-http"
            thread.start()
        }
    }

    /// Runs on the transfer's own thread: the C strings live for the whole call.
    private static func run(
        _ job: Job, url: String, put: Bool, headers: [String], caFile: String?, pin: String?, uploadFD: Int32, uploadSize: Int64
    ) -> ccurl_result {
        var result = ccurl_result()
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        let context = Unmanaged.passRetained(job)
        defer { context.release() }
        url.withCString { url in
            withOptionalCString(caFile) { caFile in
                withOptionalCString(pin) { pin in
                    cHeaders.map { UnsafePointer($0) }.withUnsafeBufferPointer { headerLines in
                        var request = ccurl_request()
                        request.url = url
                        request.put = put ? 1 : 0
                        request.headers = headerLines.baseAddress
                        request.header_count = Int32(headerLines.count)
                        request.ca_file = caFile
                        request.pinned_key = pin
                        request.allow_http = 1  // the scheme was checked against the account's setting already
                        request.upload_fd = uploadFD
                        request.upload_size = uploadSize
                        request.max_download = job.limit
                        request.connect_timeout_seconds = 30
                        request.stall_seconds = 60
                        request.context = context.toOpaque()
                        request.body = { context, data, size in
                            Unmanaged<Job>.fromOpaque(context!).takeUnretainedValue().write(data, size)
                        }
                        request.progress = { context, downloadTotal, downloadNow, uploadTotal, uploadNow in
                            Unmanaged<Job>.fromOpaque(context!).takeUnretainedValue().progressed(
                                downloadTotal, downloadNow, uploadTotal, uploadNow)
                        }
                        _ = ccurl_perform(&request, &result)
                    }
                }
            }
        }
        return result
    }

    private static func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }

    private final class CancelFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// The state one transfer's C callbacks share, touched only from its thread.
    private final class Job: @unchecked Sendable {
        let cancelled: CancelFlag
        let sink: Int32?
        let limit: Int64
        let progress: @Sendable (TransferProgress) -> Void
        let uploading: Bool
        var written: Int64 = 0
        var failure: HTTPTransferError?
        private var lastReport = ContinuousClock.now

        init(
            cancelled: CancelFlag, sink: Int32?, limit: Int64, progress: @escaping @Sendable (TransferProgress) -> Void,
            uploading: Bool
        ) {
            self.cancelled = cancelled
            self.sink = sink
            self.limit = limit
            self.progress = progress
            self.uploading = uploading
        }

        func write(_ data: UnsafePointer<CChar>?, _ size: Int) -> Int32 {
            guard let sink, let data else { return 0 }
            // The cap holds while streaming too: Content-Length may be absent or lie.
            if limit > 0, written + Int64(size) > limit {
                failure = .tooLarge(limit: limit)
                return 1
            }
            var offset = 0
            while offset < size {
                let count = Foundation.write(sink, data + offset, size - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = .localFile(String(cString: strerror(errno)))
                    return 1
                }
                offset += count
            }
            written += Int64(size)
            return 0
        }

        func progressed(_ downloadTotal: Int64, _ downloadNow: Int64, _ uploadTotal: Int64, _ uploadNow: Int64) -> Int32 {
            if cancelled.value.load(ordering: .relaxed) { return 1 }
            let now = ContinuousClock.now
            if now - lastReport >= .milliseconds(100) {
                lastReport = now
                let total = uploading ? uploadTotal : downloadTotal
                progress(TransferProgress(done: uploading ? uploadNow : downloadNow, total: total > 0 ? total : nil))
            }
            return 0
        }
    }
}
