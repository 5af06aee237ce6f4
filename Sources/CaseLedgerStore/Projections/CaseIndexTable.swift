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

    static func refs(_ state: CaseState) -> [(Kind, String)] {
        [(.account, state.opening.accountRef), (.debtor, state.opening.debtorRef)] + (state.opening.region.map { [(.region, $0)] } ?? [])
    }

    func save(_ box: CaseBox) throws {
        // A case's opening never changes (it cannot be voided): its references are written once.
        // Bound one by one: `refs` makes an array of them, and its Strings, for each case.
        guard box.isNew, let state = box.state else { return }
        let opening = state.opening
        func add(_ kind: Kind, _ ref: String) throws {
            insert.bind(1, kind.rawValue)
            insert.bind(2, ref)
            insert.bind(3, state.caseID)
            _ = try insert.step()
            insert.reset()
        }
        try add(.account, opening.accountRef)
        try add(.debtor, opening.debtorRef)
        if let region = opening.region { try add(.region, region) }
    }

    func verify(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        let refs = Self.refs(state)
        expected += refs.count
        for (kind, ref) in refs {
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
