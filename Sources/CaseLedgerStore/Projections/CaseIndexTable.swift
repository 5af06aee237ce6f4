import CaseLedgerCore
import GRDB

/// `case_index`: find a case from what the debtor gives an investigator, its `account_ref` or
/// `debtor_ref` (`caseledger case find`), through an index, never a scan of the log.
final class CaseIndexTable: StoredProjection {
    static let name = "case_index"
    /// 2: the case's region too, so a regulator's scope is applied inside a query.
    static let version = 2
    static let tables = ["case_index"]
    static let schema = [
        """
        CREATE TABLE case_index (
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            case_id TEXT NOT NULL,
            PRIMARY KEY (kind, ref, case_id)
        ) WITHOUT ROWID
        """
    ]

    /// The references a case is found by.
    enum Kind: String, CaseIterable {
        case account = "account_ref"
        case debtor = "debtor_ref"
        case region
    }

    private let db: Database
    /// A case's references in one statement each way, two rows or three (with its region): one
    /// step where a statement a reference made three, each with its own start, bindings and reset.
    private let insert: RawStatement
    private let insertWithRegion: RawStatement
    /// Whether each of a case's references finds it (1 or 0 a column): three seeks in one step.
    private let select: RawStatement

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        let rows = "('\(Kind.account.rawValue)', ?2, ?1), ('\(Kind.debtor.rawValue)', ?3, ?1)"
        insert = try RawStatement(db, "INSERT OR IGNORE INTO case_index (kind, ref, case_id) VALUES \(rows)")
        insertWithRegion = try RawStatement(db, "INSERT OR IGNORE INTO case_index (kind, ref, case_id) VALUES \(rows), ('\(Kind.region.rawValue)', ?4, ?1)")
        // A row or none for each (the three columns are the key): found without SQLite's count machinery.
        let found = Kind.allCases.enumerated().map { column, kind in
            "EXISTS (SELECT 1 FROM case_index WHERE kind = '\(kind.rawValue)' AND ref = ?\(column + 2) AND case_id = ?1)"
        }
        select = try RawStatement(db, "SELECT " + found.joined(separator: ", "))
    }

    /// Binds a case's id and references as both statements number them: ?1 the case, then one a
    /// kind in `Kind`'s order (a region left unbound is NULL, which no row holds).
    private static func bind(_ statement: RawStatement, _ caseID: String, _ opening: CaseFact.Opening) {
        statement.bind(1, caseID)
        statement.bind(2, opening.accountRef)
        statement.bind(3, opening.debtorRef)
        if let region = opening.region { statement.bind(4, region) }
    }

    func save(_ box: CaseBox) throws {
        // A case's opening never changes (it cannot be voided): its references are written once.
        guard box.isNew, let state = box.state else { return }
        let opening = state.opening
        let statement = opening.region == nil ? insert : insertWithRegion
        Self.bind(statement, state.caseID, opening)
        defer { statement.reset() }
        _ = try statement.step()
    }

    func verify(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        let opening = state.opening
        Self.bind(select, state.caseID, opening)
        defer { select.reset() }
        _ = try select.step()
        let references = opening.region == nil ? 2 : 3
        expected += references
        for column in 0..<references where select.int64(Int32(column)) == 0 {
            let kind = Kind.allCases[column]
            throw LedgerError.verificationFailed(seq: nil, reason: "projection case_index: case \(state.caseID) is not found by its \(kind.rawValue)")
        }
    }

    private var expected = 0

    func verifyFinish(_ fold: ProjectionFold) throws {
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM case_index") ?? 0
        if stored != expected {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection case_index holds \(stored) entries, the log's cases make \(expected)")
        }
    }
}
