import CaseLedgerServer
import Foundation
import XCTest

/// `Schemas/openapi.yaml` describes the server exactly: every route it answers, and nothing it
/// does not; and in CI, schemathesis finds no response that breaks the spec.
final class OpenAPITests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `paths:` of the spec as "METHOD /path", read from its indentation (two spaces for a
    /// path, four for a method).
    static func specifiedRoutes() throws -> Set<String> {
        let text = try String(contentsOf: repository.appendingPathComponent("Schemas/openapi.yaml"), encoding: .utf8)
        var routes = Set<String>()
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            guard inPaths else { continue }
            if let first = line.first, first != " ", first != "#" { break }
            if line.hasPrefix("  /"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast(line.hasSuffix(":") ? 1 : 0)).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "delete", "patch", "head", "options"].contains(key) { routes.insert("\(key.uppercased()) \(path)") }
            }
        }
        return routes
    }

    func testTheSpecListsExactlyTheServersRoutes() throws {
        let served = Set(LedgerServer.routes.map { "\($0.method) \($0.path)" })
        let specified = try Self.specifiedRoutes()
        XCTAssertFalse(specified.isEmpty)
        XCTAssertEqual(served.subtracting(specified).sorted(), [], "routes the server answers that Schemas/openapi.yaml lacks")
        XCTAssertEqual(specified.subtracting(served).sorted(), [], "routes Schemas/openapi.yaml lists that the server does not answer")
    }

    /// Schemathesis (from PyPI) fuzzes a live server from the spec: every response must conform
    /// and none may be a 5xx. It runs in CI (CI=true) and wherever CASELEDGER_SCHEMATHESIS=1.
    func testSchemathesisFindsNoNonConformingResponse() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["CI"] == "true" || environment["CASELEDGER_SCHEMATHESIS"] == "1" else {
            throw XCTSkip("schemathesis runs in CI (CI=true) or with CASELEDGER_SCHEMATHESIS=1")
        }
        let folder = try TemporaryFolder()
        let result = try runTool(Self.repository.appendingPathComponent("Tools/schemathesis/run").path, ["--binary", CLI.binary.path],
                                 in: folder, timeout: 1500)
        XCTAssertEqual(result.exitCode, 0, "schemathesis:\n\(result.stdout.suffix(8000))\n\(result.stderr.suffix(4000))")
    }
}
