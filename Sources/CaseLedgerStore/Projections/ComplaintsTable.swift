import CaseLedgerCore
import GRDB

/// `complaints`: every complaint filed and not voided, open or resolved, with what an
/// investigator lists them by (`caseledger complaint list`, the console's complaints page).
final class ComplaintsTable: StoredProjection {
    static let name = "complaints"
    static let version = 1
    static let tables = ["complaints"]
    static let schema = [
        """
        CREATE TABLE complaints (
            complaint_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            filed_seq INTEGER NOT NULL,
            filed_at TEXT NOT NULL,
            filed_local TEXT NOT NULL,
            channel TEXT NOT NULL,
            category TEXT NOT NULL,
            region TEXT,
            status TEXT NOT NULL,
            resolved_at TEXT,
            finding TEXT,
            PRIMARY KEY (complaint_id, case_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX complaints_by_status ON complaints (status, filed_at)",
        "CREATE INDEX complaints_by_case ON complaints (case_id)",
    ]

    /// A complaint as the table holds it.
    struct Row: Equatable {
        let complaintID, caseID: String
        let filedSeq: Int64
        let filedAt, filedLocal, channel, category: String
        let region: String?
        let status: String
        let resolvedAt, finding: String?
    }

    private let db: Database
    private let drop: RawStatement
    private let insert: RawStatement
    private let select: RawStatement

    /// Whether a case's old rows are deleted before its new ones are written (not in a rebuild).
    private var replacesRows = true

    func fillsEmptyTables() { replacesRows = false }

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        drop = try RawStatement(db, "DELETE FROM complaints WHERE case_id = ?")
        insert = try RawStatement(db, """
            INSERT INTO complaints (complaint_id, case_id, filed_seq, filed_at, filed_local, channel, category, region, status, resolved_at, finding)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        // In the (case_id) index's order, sorted by filing here: `ORDER BY filed_seq`, which no
        // index gives, made SQLite open a sorter for every case verified, most with no complaint.
        select = try RawStatement(db, "SELECT complaint_id, filed_seq, filed_at, filed_local, channel, category, region, status, resolved_at, finding FROM complaints WHERE case_id = ?")
    }

    /// A case's complaints, from the records its fold keeps (voided filings are gone from them).
    ///
    /// Records are looked at by type first, in place: walking them as values copied each one
    /// (a dozen retains and releases) for every record of every case a rebuild writes, though
    /// few cases have a complaint.
    static func rows(_ state: CaseState) -> [Row] {
        let records = state.records
        var rows: [Row] = []
        for index in records.indices where records[index].type == .complaintFiled {
            let record = records[index]
            guard case .complaintFiled(let complaintID) = record.fact else { continue }
            let data = (try? JSONParser.parse(record.data)) ?? .null
            let resolution = records.firstIndex { $0.type == .complaintResolved && $0.fact == .complaintResolved(complaintID: complaintID) }
                .map { records[$0] }
            rows.append(Row(complaintID: complaintID, caseID: state.caseID, filedSeq: record.seq, filedAt: record.occurredAt,
                            filedLocal: LocalClock.rewrite(record.occurredAt, zone: state.opening.debtorTimeZone),
                            channel: data["channel"]?.stringValue ?? "", category: data["category"]?.stringValue ?? "",
                            region: state.opening.region, status: resolution == nil ? "open" : "resolved",
                            resolvedAt: resolution?.occurredAt,
                            finding: resolution.flatMap { (try? JSONParser.parse($0.data))?["finding"]?.stringValue }))
        }
        return rows
    }

    func save(_ box: CaseBox) throws {
        guard box.complaintsChanged, let state = box.state else { return }
        if replacesRows {
            drop.bind(1, state.caseID)
            _ = try drop.step()
            drop.reset()
        }
        for row in Self.rows(state) {
            insert.bind(1, row.complaintID)
            insert.bind(2, row.caseID)
            insert.bind(3, row.filedSeq)
            insert.bind(4, row.filedAt)
            insert.bind(5, row.filedLocal)
            insert.bind(6, row.channel)
            insert.bind(7, row.category)
            if let region = row.region { insert.bind(8, region) }
            insert.bind(9, row.status)
            if let resolvedAt = row.resolvedAt { insert.bind(10, resolvedAt) }
            if let finding = row.finding { insert.bind(11, finding) }
            _ = try insert.step()
            insert.reset()
        }
    }

    func verify(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        select.bind(1, state.caseID)
        defer { select.reset() }
        var stored: [Row] = []
        while try select.step() {
            stored.append(Row(complaintID: select.text(0), caseID: state.caseID, filedSeq: select.int64(1), filedAt: select.text(2),
                              filedLocal: select.text(3), channel: select.text(4), category: select.text(5),
                              region: select.isNull(6) ? nil : select.text(6), status: select.text(7),
                              resolvedAt: select.isNull(8) ? nil : select.text(8), finding: select.isNull(9) ? nil : select.text(9)))
        }
        stored.sort { $0.filedSeq < $1.filedSeq }
        if stored != Self.rows(state) {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection complaints differs from a rebuild for case \(state.caseID)")
        }
    }

    func verifyFinish(_ fold: ProjectionFold) throws {
        // Every row belongs to a case compared above; a row of a case the log does not have is extra.
        let orphans = try Int.fetchOne(db, sql: "SELECT count(*) FROM complaints c WHERE NOT EXISTS (SELECT 1 FROM case_state s WHERE s.case_id = c.case_id)") ?? 0
        if orphans > 0 {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection complaints holds \(orphans) complaints of cases the log does not have")
        }
    }
}
