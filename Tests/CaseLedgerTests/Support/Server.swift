import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// A real `caseledger serve` process on a loopback port the system picks, stopped (SIGKILL if
/// need be) when the test lets go of it.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let base: String
    let port: Int
    let logPath: String

    init(db: String, folder: TemporaryFolder, arguments: [String] = [], name: String = "server") throws {
        logPath = folder.path("\(name).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--db", db, "--port", "0", "--log-level", "warning"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "CASELEDGER_DB")
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first line on stdout says where it listens: "… serving FILE on http://127.0.0.1:PORT".
        var line = ""
        let deadline = Date().addingTimeInterval(60)
        while !line.contains("\n"), Date() < deadline, process.isRunning {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { usleep(10_000) } else { line += String(decoding: data, as: UTF8.self) }
        }
        guard let portText = line.split(separator: "\n").first?.split(separator: ":").last, let port = Int(portText) else {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            process.terminate()
            throw NSError(domain: "ServerProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "the server did not announce its port: \(line) \(log)"])
        }
        self.port = port
        base = "http://127.0.0.1:\(port)"
    }

    /// Sends `signal` and waits for the exit; the exit status (or the signal that ended it).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 60) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("the server did not exit within \(Int(timeout)) s of signal \(signal)")
        }
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// One HTTP answer.
struct HTTPReply {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

    func object() throws -> [String: Any] {
        guard let object = try json() as? [String: Any] else { throw NSError(domain: "HTTPReply", code: 1, userInfo: [NSLocalizedDescriptionKey: "not an object: \(text)"]) }
        return object
    }

    func array() throws -> [[String: Any]] {
        guard let array = try json() as? [[String: Any]] else { throw NSError(domain: "HTTPReply", code: 1, userInfo: [NSLocalizedDescriptionKey: "not an array: \(text)"]) }
        return array
    }

    /// The error body's message.
    var message: String { ((try? object())?["error"] as? [String: Any])?["message"] as? String ?? text }
}

/// A blocking HTTP client over URLSession (a real client, from another process's point of view).
enum HTTP {
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 128
        return URLSession(configuration: configuration)
    }()

    static func send(_ method: String, _ url: String, token: String? = nil, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            if headers["Content-Type"] == nil { request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type") }
        }
        return try perform(request, on: session)
    }

    /// Sends `request` on `session` and waits for the whole answer.
    static func perform(_ request: URLRequest, on session: URLSession) throws -> HTTPReply {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var reply: Result<HTTPReply, any Error> = .failure(URLError(.unknown))
        session.dataTask(with: request) { data, response, error in
            if let error {
                reply = .failure(error)
            } else if let response = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (key, value) in response.allHeaderFields { headers["\(key)"] = "\(value)" }
                reply = .success(HTTPReply(status: response.statusCode, headers: headers, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        done.wait()
        return try reply.get()
    }

    static func get(_ url: String, token: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        try send("GET", url, token: token, headers: headers)
    }

    static func post(_ url: String, token: String? = nil, _ body: String) throws -> HTTPReply {
        try send("POST", url, token: token, body: body)
    }
}

/// A raw TCP connection, for what a well-behaved client never does (a body that never comes,
/// one connection too many).
final class RawConnection {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NSError(domain: "RawConnection", code: Int(errno)) }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives within `timeout` seconds, until the peer closes or goes quiet.
    func receive(timeout: TimeInterval) -> String {
        var received = Data()
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else {
                if !received.isEmpty, received.count > 0, String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
                    let text = String(decoding: received, as: UTF8.self)
                    if let length = text.components(separatedBy: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") })
                        .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
                        let head = text.range(of: "\r\n\r\n"), text.utf8.distance(from: head.upperBound, to: text.endIndex) >= length
                    {
                        break
                    }
                }
                continue
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: received, as: UTF8.self)
    }

    deinit { close(descriptor) }
}

extension XCTestCase {
    /// Creates a server token through the CLI and returns it.
    func token(_ db: String, role: String, name: String, _ extra: [String] = []) throws -> String {
        let result = try CLI.run(["token", "create", "--db", db, "--role", role, "--name", name, "--json"] + extra)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        return object["token"] as! String
    }
}

/// Events and a ledger with two regions, for the server and console tests.
enum TwoRegions {
    static func opened(_ caseID: String, region: String, zone: String, currency: String, occurredAt: String = "2024-06-01T09:00:00Z") -> String {
        Events.line(caseID: caseID, type: "case.opened", occurredAt: occurredAt, actor: "system:intake", data: """
            {"debtor_ref":"D-\(caseID)","account_ref":"A-\(caseID)","product":"credit_card","currency":"\(currency)","principal_minor":500000,"due_date":"2024-05-01","debtor_timezone":"\(zone)","region":"\(region)"}
            """)
    }

    static func complaint(_ caseID: String, id: String, occurredAt: String = "2024-06-20T09:00:00Z") -> String {
        Events.line(caseID: caseID, type: "complaint.filed", occurredAt: occurredAt, actor: "debtor:\(caseID.lowercased())",
                    data: #"{"complaint_id":"\#(id)","channel":"phone","category":"contact_time","description":"called late"}"#)
    }

    /// A note on one of the cases, after its opening.
    static func note(_ caseID: String, id: String = UUID().uuidString.lowercased(), text: String = "noted") -> String {
        Events.note(caseID: caseID, id: id, text: text, occurredAt: "2024-06-05T10:00:00Z")
    }

    /// Runs `body` on `count` threads at once and waits for all of them.
    static func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let threads = (0..<count).map { index in Thread { body(index) } }
        for thread in threads { thread.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(5_000) }
    }
}

extension XCTestCase {
    /// C-CN in CN-SH and C-US in US-NY, the same collector calling both late at night, a complaint on each.
    func twoRegionLedger(_ folder: TemporaryFolder) throws -> String {
        let db = try makeLedger(folder)
        let lines = [
            TwoRegions.opened("C-CN", region: "CN-SH", zone: "Asia/Shanghai", currency: "CNY"),
            TwoRegions.opened("C-US", region: "US-NY", zone: "America/New_York", currency: "USD"),
            Events.line(caseID: "C-CN", type: "call.placed", occurredAt: "2024-06-03T23:30:00+08:00", actor: "collector:both",
                        data: #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0}"#),
            Events.line(caseID: "C-US", type: "call.placed", occurredAt: "2024-06-03T22:30:00-04:00", actor: "collector:both",
                        data: #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0}"#),
            TwoRegions.complaint("C-CN", id: "CP-CN"), TwoRegions.complaint("C-US", id: "CP-US"),
        ]
        let result = try append(lines, to: db)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        return db
    }
}
