import Foundation
@testable import CaseLedgerStore
import GRDB
import XCTest

/// Runs the real `caseledger` binary, as users and other systems do.
struct CLI {
    struct Result {
        let exitCode: Int32
        let stdout: String
        let stderr: String
    }

    /// The built binary, beside the test runner (`.build/<config>/caseledger`); `CASELEDGER_BINARY` overrides.
    static let binary: URL = {
        if let given = ProcessInfo.processInfo.environment["CASELEDGER_BINARY"] { return URL(fileURLWithPath: given) }
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("caseledger")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        fatalError("caseledger binary not found near the test runner \(runner.path)")
    }()

    /// Runs `caseledger arguments…`, feeding `stdin` when given. `environment` adds to the current one.
    @discardableResult
    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "CASELEDGER_DB")
        env.removeValue(forKey: "CASELEDGER_CLOCK")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        let input = Data((stdin ?? "").utf8)
        let writer = Thread {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        // Read both pipes concurrently so a large output never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let errReader = Thread { errData = errPipe.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errReader.isExecuting || !errReader.isFinished { usleep(1000) }
        return Result(exitCode: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A temporary folder per test, removed afterwards.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("caseledger-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Builds NDJSON event lines for tests, with fixed, readable defaults.
enum Events {
    static func line(id: String = UUID().uuidString.lowercased(), caseID: String = "C-1", type: String,
                     occurredAt: String = "2024-03-05T10:00:00+08:00", actor: String = "collector:zhang.wei",
                     expectedVersion: Int? = nil, data: String) -> String {
        let expected = expectedVersion.map { #","expected_version":\#($0)"# } ?? ""
        return #"{"event_id":"\#(id)","case_id":"\#(caseID)","type":"\#(type)","occurred_at":"\#(occurredAt)","actor":"\#(actor)"\#(expected),"data":\#(data)}"#
    }

    static func opened(caseID: String = "C-1", id: String = UUID().uuidString.lowercased(), currency: String = "CNY",
                       zone: String = "Asia/Shanghai", occurredAt: String = "2024-03-01T09:00:00+08:00") -> String {
        line(id: id, caseID: caseID, type: "case.opened", occurredAt: occurredAt, actor: "system:intake", data: """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"\(currency)","principal_minor":1000000,"due_date":"2024-01-31","debtor_timezone":"\(zone)","region":"CN-SH"}
            """)
    }

    static func call(caseID: String = "C-1", id: String = UUID().uuidString.lowercased(),
                     occurredAt: String = "2024-03-05T10:00:00+08:00", outcome: String = "no_answer", expectedVersion: Int? = nil) -> String {
        line(id: id, caseID: caseID, type: "call.placed", occurredAt: occurredAt, expectedVersion: expectedVersion,
             data: #"{"direction":"outbound","party":"debtor","outcome":"\#(outcome)","duration_s":0}"#)
    }

    static func note(caseID: String = "C-1", id: String = UUID().uuidString.lowercased(), text: String = "noted",
                     occurredAt: String = "2024-03-05T11:00:00+08:00") -> String {
        line(id: id, caseID: caseID, type: "note.recorded", occurredAt: occurredAt, data: #"{"text":"\#(text)"}"#)
    }

    static func payment(caseID: String = "C-1", id: String = UUID().uuidString.lowercased(), amount: Int = 50000,
                        currency: String = "CNY", occurredAt: String = "2024-03-06T10:00:00+08:00") -> String {
        line(id: id, caseID: caseID, type: "payment.received", occurredAt: occurredAt, actor: "system:payments",
             data: #"{"amount_minor":\#(amount),"currency":"\#(currency)","channel":"wechat","reference":"PAY-1"}"#)
    }
}

extension XCTestCase {
    /// A fresh, initialised ledger in a temporary folder.
    func makeLedger(_ folder: TemporaryFolder, name: String = "ledger.sqlite") throws -> String {
        let path = folder.path(name)
        let result = try CLI.run(["init", "--db", path])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        return path
    }

    /// Appends NDJSON lines in this process, from a file as `caseledger append` reads its input,
    /// with what the batch did besides its summary.
    func appendInProcess(_ lines: [String], to db: String, in folder: TemporaryFolder, forecasting: Bool = true) throws
        -> (summary: AppendSummary, forecastsTaken: Int, forecastsRefused: Int, rollbackJournal: Bool)
    {
        let path = try folder.write("batch-\(UUID().uuidString).ndjson", lines.joined(separator: "\n") + "\n")
        let descriptor = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        return try Ledger(path: db, mode: .readWrite).appendReporting(ndjsonFrom: descriptor, forecasting: forecasting)
    }

    /// Appends NDJSON lines through the real binary.
    @discardableResult
    func append(_ lines: [String], to db: String, json: Bool = true) throws -> CLI.Result {
        try CLI.run(["append", "--db", db] + (json ? ["--json"] : []), stdin: lines.joined(separator: "\n") + "\n")
    }
}

/// Runs a tool with its output in files in `folder` (a pipe could fill and block it), killing it after `timeout` seconds.
func runTool(_ path: String, _ arguments: [String], in folder: TemporaryFolder, timeout: TimeInterval) throws -> CLI.Result {
    let name = URL(fileURLWithPath: path).lastPathComponent
    let outPath = folder.path("\(name).out"), errPath = folder.path("\(name).err")
    for output in [outPath, errPath] { _ = FileManager.default.createFile(atPath: output, contents: nil) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardInput = FileHandle.nullDevice
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = folder.url.path
    process.environment = environment
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        XCTFail("\(name) did not finish within \(Int(timeout)) s")
    }
    process.waitUntilExit()
    return CLI.Result(exitCode: process.terminationStatus, stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                      stderr: try String(contentsOfFile: errPath, encoding: .utf8))
}

/// Edits a ledger the way an insider with SQL access would: drop the guard, run the SQL, and put
/// the guards back (so the file looks untouched to anyone who only checks the triggers).
func tamper(_ db: String, _ sql: String, dropping triggers: [String] = []) throws {
    let queue = try DatabaseQueue(path: db)
    try queue.write { db in
        var restore: [String] = []
        for trigger in triggers {
            if let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", arguments: [trigger]) {
                restore.append(definition)
            }
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        try db.execute(sql: sql)
        for definition in restore { try db.execute(sql: definition) }
    }
    try queue.close()
}

/// A file's bytes, to show that a command left it untouched.
func fileBytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}
