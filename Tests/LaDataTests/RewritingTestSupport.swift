import Foundation
#if canImport(Glibc)
import Glibc
#endif

// A minimal HTTP/1.1 server on 127.0.0.1 for the completion client's tests: POSIX sockets on an
// ephemeral port, one request per connection (`Connection: close`), each connection on its own thread.
// It is bounded in connections and lifetime and stops by itself (or on `stop()`), so a failing test
// cannot leave it running.

/// One request the loopback server received.
struct LoopbackRequest: Sendable {
    /// The request method, e.g. `POST`.
    var method: String
    /// The request target, e.g. `/v1/completions`.
    var path: String
    /// Header fields, names lowercased.
    var headers: [String: String]
    /// The raw body.
    var body: Data

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    /// The caption being rewritten: the text before the final ` =>` of a completions prompt (or of a
    /// chat request's message).
    var caption: String? {
        let object = json
        var prompt = object["prompt"] as? String
        if prompt == nil, let messages = object["messages"] as? [[String: Any]] { prompt = messages.last?["content"] as? String }
        guard let prompt, let lastLine = prompt.split(separator: "\n").last, lastLine.hasSuffix(" =>") else { return nil }
        return String(lastLine.dropLast(3))
    }

    /// The sampling seed sent with the request.
    var seed: Int? { json["seed"] as? Int }
}

/// What the loopback server does with a request.
enum LoopbackReply: Sendable {
    /// Answers with a status and body.
    case respond(status: Int, body: String)
    /// Never answers: keeps the connection open until the server stops.
    case silent

    /// A `/v1/completions` answer whose first choice has `text`.
    static func completion(_ text: String) -> LoopbackReply {
        let object: [String: Any] = [
            "id": "cmpl-test", "object": "text_completion", "model": "test-model",
            "choices": [["index": 0, "text": text, "finish_reason": "stop"]],
        ]
        return .respond(status: 200, body: String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    /// A `/v1/chat/completions` answer whose first choice's message has `content`.
    static func chat(_ content: String) -> LoopbackReply {
        let object: [String: Any] = [
            "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
            "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
        ]
        return .respond(status: 200, body: String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }
}

/// The loopback HTTP/1.1 server.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// The port it listens on.
    let port: UInt16
    /// `http://127.0.0.1:PORT`.
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private let listener: Int32
    private let handler: @Sendable (LoopbackRequest, Int) -> LoopbackReply
    private let maximumConnections: Int
    private let deadline: Date
    private let lock = NSLock()
    private var stopped = false
    private var received: [LoopbackRequest] = []
    private var activeThreads = 0

    /// Starts a server.
    /// - Parameters:
    ///   - maximumConnections: Connections it accepts before it stops listening.
    ///   - lifetime: Seconds after which it stops by itself.
    ///   - handler: The reply to a request, given the request and its 0-based number.
    init(maximumConnections: Int = 64, lifetime: Double = 600,
         handler: @escaping @Sendable (LoopbackRequest, Int) -> LoopbackReply) throws {
        self.handler = handler
        self.maximumConnections = maximumConnections
        self.deadline = Date().addingTimeInterval(lifetime)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackError.socket("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = LoopbackHTTPServer.loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw LoopbackError.socket("bind/listen: errno \(errno)")
        }
        guard let port = LoopbackHTTPServer.localPort(of: fd) else {
            close(fd)
            throw LoopbackError.socket("getsockname: errno \(errno)")
        }
        self.listener = fd
        self.port = port
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// The requests received so far, in arrival order.
    var requests: [LoopbackRequest] { lock.withLock { received } }

    /// Stops accepting and releases held connections (idempotent).
    func stop() { lock.withLock { stopped = true } }

    /// Whether the server should stop.
    private var shouldStop: Bool { lock.withLock { stopped } || Date() >= deadline }

    private func acceptLoop() {
        var accepted = 0
        while !shouldStop && accepted < maximumConnections {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            accepted += 1
            lock.withLock { activeThreads += 1 }
            Thread { [self] in
                serve(connection)
                lock.withLock { activeThreads -= 1 }
            }.start()
        }
        close(listener)
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readRequest(connection) else { return }
        let number: Int = lock.withLock {
            received.append(request)
            return received.count - 1
        }
        switch handler(request, number) {
        case .respond(let status, let body):
            let bodyData = Array(body.utf8)
            let head = "HTTP/1.1 \(status) \(LoopbackHTTPServer.reason(status))\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(bodyData.count)\r\nConnection: close\r\n\r\n"
            writeAll(connection, Array(head.utf8) + bodyData)
        case .silent:
            while !shouldStop { usleep(20_000) }
        }
    }

    private func readRequest(_ connection: Int32) -> LoopbackRequest? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int? = nil
        var contentLength = 0
        while true {
            if headerEnd == nil, let end = LoopbackHTTPServer.find(separator, in: bytes) {
                headerEnd = end
                let head = String(decoding: bytes[..<end], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, parts[0].lowercased() == "content-length" {
                        contentLength = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let end = headerEnd, bytes.count >= end + 4 + contentLength { break }
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            bytes += buffer[..<count]
        }
        let end = headerEnd!
        let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n")
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1)
            if pair.count == 2 { headers[pair[0].lowercased()] = pair[1].trimmingCharacters(in: .whitespaces) }
        }
        return LoopbackRequest(
            method: String(parts[0]), path: String(parts[1]), headers: headers,
            body: Data(bytes[(end + 4)..<(end + 4 + contentLength)]))
    }

    private func writeAll(_ connection: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return }
            offset += written
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    static func localPort(of fd: Int32) -> UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? UInt16(bigEndian: address.sin_port) : nil
    }

    /// A loopback port nothing listens on: bound once to get a free ephemeral port, then closed.
    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackError.socket("socket: errno \(errno)") }
        defer { close(fd) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, let port = localPort(of: fd) else { throw LoopbackError.socket("bind: errno \(errno)") }
        return port
    }
}

/// A failure setting up the loopback server.
enum LoopbackError: Error {
    case socket(String)
}

/// A counter that `@Sendable` closures can bump.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    /// Adds one.
    func increment() { lock.withLock { count += 1 } }

    /// The count.
    var value: Int { lock.withLock { count } }
}
