import Foundation
import XCTest

/// The project's own documentation stays true: the CLI reference is the binary's help, the
/// catalogue names every type and field of the schemas, and nothing points outside the repository.
final class DocsTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// docs/cli.md is generated from `caseledger … --help`; regenerate it with
    /// `CASELEDGER_WRITE_DOCS=1 swift test --filter DocsTests`.
    func testTheCLIReferenceIsTheBinarysOwnHelp() throws {
        let expected = try Self.cliReference()
        let path = Self.repository.appendingPathComponent("docs/cli.md").path
        if ProcessInfo.processInfo.environment["CASELEDGER_WRITE_DOCS"] == "1" {
            try expected.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let written = try? String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(written, expected, "docs/cli.md is not the binary's help: run CASELEDGER_WRITE_DOCS=1 swift test --filter DocsTests")
    }

    static func cliReference() throws -> String {
        let environment = ["COLUMNS": "100"]
        let dump = try CLI.run(["--experimental-dump-help"], environment: environment)
        let root = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as! [String: Any]
        var paths: [[String]] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            if !path.isEmpty, path != ["help"] { paths.append(path) }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path + [sub["commandName"] as! String])
            }
        }
        walk(root["command"] as! [String: Any], [])
        var text = """
            # The `caseledger` command line

            Generated from the binary's own help (`caseledger <command> --help`); a test keeps this page
            equal to it. Every command takes `--db PATH` (default `$CASELEDGER_DB`, else
            `./caseledger.sqlite`); commands that print data take `--json`. Exit codes: 0 ok, 1 error
            (bad input, not found), 2 usage, 3 concurrency conflict, 4 verification failed.

            """
        text += "\n## Contents\n\n" + paths.map { "- [`caseledger \($0.joined(separator: " "))`](#caseledger-\($0.joined(separator: "-")))" }.joined(separator: "\n") + "\n"
        let top = try CLI.run(["--help"], environment: environment)
        text += "\n## caseledger\n\n```text\n\(top.stdout.trimmingCharacters(in: .newlines))\n```\n"
        for path in paths {
            let help = try CLI.run(path + ["--help"], environment: environment)
            text += "\n## caseledger \(path.joined(separator: " "))\n\n```text\n\(help.stdout.trimmingCharacters(in: .newlines))\n```\n"
        }
        return text
    }

    func testTheCatalogueNamesEveryTypeAndEveryField() throws {
        let catalogue = try String(contentsOf: Self.repository.appendingPathComponent("docs/catalogue.md"), encoding: .utf8)
        let folder = Self.repository.appendingPathComponent("Schemas/events")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".schema.json") {
            let type = file.replacingOccurrences(of: #"\.v[0-9]+\.schema\.json$"#, with: "", options: .regularExpression)
            XCTAssertTrue(catalogue.contains("`\(type)`"), "docs/catalogue.md does not name \(type)")
            let schema = try JSONSerialization.jsonObject(with: try fileBytes(folder.appendingPathComponent(file).path)) as! [String: Any]
            var names: [String] = []
            func collect(_ node: [String: Any]) {
                for (name, child) in node["properties"] as? [String: [String: Any]] ?? [:] {
                    names.append(name)
                    collect(child)
                    if let items = child["items"] as? [String: Any] { collect(items) }
                }
            }
            collect(schema)
            for name in names { XCTAssertTrue(catalogue.contains("`\(name)`"), "docs/catalogue.md does not name \(type).\(name)") }
        }
    }

    /// A user's clone has only this repository (docs/README.md): every relative link must reach a
    /// file inside it. A link out of the repository fails even where the folder it names happens
    /// to exist beside this checkout.
    func testNothingLinksOutsideTheRepositoryAndEveryRelativeLinkResolves() throws {
        var documents = ["README.md", "BENCHMARKS.md", "Schemas/rulebooks/README.md"]
        let docs = Self.repository.appendingPathComponent("docs")
        documents += (try? FileManager.default.contentsOfDirectory(atPath: docs.path))?.filter { $0.hasSuffix(".md") }.map { "docs/" + $0 } ?? []
        let link = try NSRegularExpression(pattern: #"\]\(([^)#\s]+)(#[^)]*)?\)"#)
        let root = Self.repository.standardizedFileURL.path
        for document in documents {
            let url = Self.repository.appendingPathComponent(document)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            for match in link.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let target = String(text[Range(match.range(at: 1), in: text)!])
                guard !target.hasPrefix("http") else { continue }
                let resolved = url.deletingLastPathComponent().appendingPathComponent(target).standardizedFileURL.path
                XCTAssertTrue(resolved.hasPrefix(root + "/"), "\(document): the link \(target) leads out of the repository")
                XCTAssertTrue(FileManager.default.fileExists(atPath: resolved), "\(document): the link \(target) leads nowhere")
            }
        }
    }
}
