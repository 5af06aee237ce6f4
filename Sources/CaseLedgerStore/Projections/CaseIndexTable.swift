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
    private let insert: RawStatement
    private let select: RawStatement

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        insert = try RawStatement(db, "INSERT OR IGNORE INTO case_index (kind, ref, case_id) VALUES (?, ?, ?)")
        // A row or none (the three columns are the key): found without SQLite's count machinery.
        select = try RawStatement(db, "SELECT 1 FROM case_index WHERE kind = ? AND ref = ? AND case_id = ?")
    }

    /// Calls `body` with each reference a case is found by: its account, its debtor and, when it
    /// has one, its region. One at a time, with no array: a rebuild writes them for every case.
    static func forEachRef(_ state: CaseState, _ body: (Kind, String) throws -> Void) rethrows {
        let opening = state.opening
        try body(.account, opening.accountRef)
        try body(.debtor, opening.debtorRef)
        if let region = opening.region { try body(.region, region) }
    }

    func save(_ box: CaseBox) throws {
        // A case's opening never changes (it cannot be voided): its references are written once.
        guard box.isNew, let state = box.state else { return }
        try Self.forEachRef(state) { kind, ref in
            insert.bind(1, kind.rawValue)
            insert.bind(2, ref)
            insert.bind(3, state.caseID)
            _ = try insert.step()
            insert.reset()
        }
    }

    func verify(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        try Self.forEachRef(state) { kind, ref in
            expected += 1
            select.bind(1, kind.rawValue)
            select.bind(2, ref)
            select.bind(3, state.caseID)
            defer { select.reset() }
            guard try select.step() else {
                throw LedgerError.verificationFailed(seq: nil, reason: "projection case_index: case \(state.caseID) is not found by its \(kind.rawValue)")
            }
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
