import CaseLedgerCore
import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// `Schemas/sql/ledger.sql` documents what the migrations create; these tests keep the two equal.
final class LedgerSchemaTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testLedgerSQLEqualsWhatTheMigrationsCreate() throws {
        let folder = try TemporaryFolder()
        let migrated = try Ledger(path: folder.path("migrated.sqlite"), mode: .create)
        let fromMigrations = try migrated.read { db in try Self.schemaObjects(db) }

        let documented = try DatabaseQueue(path: folder.path("documented.sqlite"))
        let sql = try String(contentsOf: Self.repository.appendingPathComponent("Schemas/sql/ledger.sql"), encoding: .utf8)
        try documented.write { db in try db.execute(sql: sql) }
        let fromFile = try documented.read { db in try Self.schemaObjects(db) }

        XCTAssertFalse(fromFile.isEmpty)
        XCTAssertEqual(fromMigrations, fromFile, "Schemas/sql/ledger.sql and the migrations disagree")
    }

    func testTheEmbeddedSchemasAreTheFilesOnDisk() throws {
        let events = Self.repository.appendingPathComponent("Schemas/events")
        let names = try FileManager.default.contentsOfDirectory(atPath: events.path).filter { $0.hasSuffix(".json") }
        XCTAssertEqual(names.count, EventType.allCases.count + 1, "one schema per type, plus call.placed v2")
        for name in names {
            let onDisk = try String(contentsOf: events.appendingPathComponent(name), encoding: .utf8)
            XCTAssertEqual(SchemaCatalogue.files["events/" + name], onDisk, name)
        }
    }

    func testEveryCatalogueTypeHasASchemaThatLoads() throws {
        let catalogue = try SchemaCatalogue(files: SchemaCatalogue.files)
        for type in EventType.allCases {
            XCTAssertEqual(catalogue.currentVersion(of: type), type == .callPlaced ? 2 : 1, type.rawValue)
            XCTAssertNotNil(catalogue.schema(for: type, version: 1))
        }
    }

    func testASchemaUsingAnUnsupportedKeywordDoesNotLoad() {
        XCTAssertThrowsError(try JSONSchema(json: #"{"type":"object","additionalProperties":false,"properties":{"a":{"type":"string","uniqueItems":true}}}"#)) { error in
            XCTAssertTrue("\(error)".contains("uniqueItems"), "\(error)")
        }
    }

    /// Tables, indexes and triggers, with their SQL normalised (comments and spacing do not count).
    static func schemaObjects(_ db: Database) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
            .map { row in
                let sql: String = row["sql"] ?? ""
                let normalised = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                    .replacingOccurrences(of: "( ", with: "(").replacingOccurrences(of: " )", with: ")")
                return "\(row["type"] as String) \(row["name"] as String): \(normalised)"
            }
    }
}
