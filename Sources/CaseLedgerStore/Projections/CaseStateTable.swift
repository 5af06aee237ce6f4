import CaseLedgerCore
import GRDB

/// `case_state`: every case's fold (docs/compliance.md, `case show`, `case list`), one row per case, with
/// its status and escalation beside it for the listings' filters.
final class CaseStateTable: StoredProjection {
    static let name = CaseStateProjection.name
    static let version = CaseStateProjection.version
    static let tables = ["case_state"]
    static let schema = [
        """
        CREATE TABLE case_state (
            case_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            escalation TEXT,
            last_seq INTEGER NOT NULL,
            state TEXT NOT NULL
        )
        """,
        "CREATE INDEX case_state_by_status ON case_state (status, case_id)",
        "CREATE INDEX case_state_by_escalation ON case_state (escalation, case_id)",
    ]

    private let upsert: RawStatement
    /// For a stored case whose status and escalation did not change: the indexes on them are left alone.
    private let update: RawStatement
    private let select: RawStatement
    private let db: Database

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        upsert = try RawStatement(db, """
            INSERT INTO case_state (case_id, version, status, escalation, last_seq, state) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, status = excluded.status,
                escalation = excluded.escalation, last_seq = excluded.last_seq, state = excluded.state
            """)
        update = try RawStatement(db, "UPDATE case_state SET version = ?, last_seq = ?, state = ? WHERE case_id = ?")
        select = try RawStatement(db, "SELECT version, status, escalation, last_seq, state FROM case_state WHERE case_id = ?")
    }

    /// The row a case's state is stored as; `verify` compares exactly these values. The state's
    /// JSON, most of a row (kilobytes for a long case), is written into `stateText`, kept from
    /// one case to the next.
    struct Row {
        let version: Int64
        let status: String
        let escalation: String?
        let lastSeq: Int64

        init(_ state: CaseState, writingStateInto stateText: inout TextBuffer) {
            version = Int64(state.version)
            status = state.status.rawValue
            escalation = state.escalation?.rawValue
            lastSeq = state.lastSeq
            state.writeStoredJSON(into: &stateText)
        }
    }

    private var stateText = TextBuffer()

    func save(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        let row = Row(state, writingStateInto: &stateText)
        try write(state.caseID, row, inTable: box.stored) { $0.bind($1, utf8: stateText) }
    }

    /// Writes one row: an update that leaves the status and escalation indexes alone when
    /// `inTable` (what the table holds for the case, nil for none) has the same status and
    /// escalation, an upsert otherwise. `bindState` binds the state's JSON.
    private func write(_ caseID: String, _ row: Row, inTable: (status: String, escalation: String?)?,
                       bindState: (RawStatement, Int32) -> Void) throws {
        if let inTable, inTable.status == row.status, inTable.escalation == row.escalation {
            update.bind(1, row.version)
            update.bind(2, row.lastSeq)
            bindState(update, 3)
            update.bind(4, caseID)
            defer { update.reset() }
            _ = try update.step()
            return
        }
        upsert.bind(1, caseID)
        upsert.bind(2, row.version)
        upsert.bind(3, row.status)
        if let escalation = row.escalation { upsert.bind(4, escalation) }
        upsert.bind(5, row.lastSeq)
        bindState(upsert, 6)
        defer { upsert.reset() }
        _ = try upsert.step()
    }

    // MARK: - The shelf: a bulk batch's written-back states, kept as their rows

    /// A case state a bulk batch wrote back, held as the row it is stored as until the shelf is
    /// full or the batch ends.
    private struct Shelved {
        let caseID: String
        let row: Row
        let state: String
        /// What the table itself holds for the case (nil: no row yet).
        let inTable: (status: String, escalation: String?)?
        /// Its place in `shelfOrder`.
        let order: Int
    }

    /// At most this many bytes of shelved states (0: no shelf, every state is written at once).
    /// A state's JSON is about a quarter of what the same case weighs in memory, and writing
    /// it to the table costs a page read and a page write (16 KiB each) in a table larger than
    /// the page cache: a batch with more cases in play than its cache keeps writes each case
    /// back and reads it again many times (BENCHMARKS.md).
    var shelfLimitBytes = 0
    private var shelf: [String: Shelved] = [:]
    private var shelfBytes = 0
    /// The shelved cases, oldest first, from `shelfHead` on; an entry whose order no longer
    /// matches its case's was taken back (or shelved again later) and is skipped.
    private var shelfOrder: [(caseID: String, order: Int)] = []
    private var shelfHead = 0
    private var shelvedSoFar = 0

    /// Shelves `box`'s state rather than writing it, oldest states written out as the shelf
    /// fills; with no room for a shelf, writes it.
    func shelve(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        guard shelfLimitBytes > 0 else { return try save(box) }
        let row = Row(state, writingStateInto: &stateText)
        let text = stateText.withBytes { String(decoding: $0, as: UTF8.self) }
        // A case is taken off the shelf before it changes, so none is shelved twice; if one
        // were, the table would still hold what the first entry says.
        let replaced = shelf[state.caseID]
        let shelved = Shelved(caseID: state.caseID, row: row, state: text, inTable: replaced == nil ? box.stored : replaced!.inTable,
                              order: shelvedSoFar)
        shelvedSoFar += 1
        if let replaced { shelfBytes -= Self.weight(replaced) }
        shelf[state.caseID] = shelved
        shelfBytes += Self.weight(shelved)
        shelfOrder.append((state.caseID, shelved.order))
        while shelfBytes > shelfLimitBytes, shelfHead < shelfOrder.count {
            let (caseID, order) = shelfOrder[shelfHead]
            shelfHead += 1
            guard let oldest = shelf[caseID], oldest.order == order else { continue }
            shelf[caseID] = nil
            shelfBytes -= Self.weight(oldest)
            try write(oldest)
        }
        // The skipped entries are dropped once they are half the list.
        if shelfHead > 1024, shelfHead * 2 > shelfOrder.count {
            shelfOrder.removeFirst(shelfHead)
            shelfHead = 0
        }
    }

    /// A shelved case's state JSON, and what the table holds for the case, taken off the shelf.
    func takeShelved(_ caseID: String) -> (state: String, inTable: (status: String, escalation: String?)?)? {
        guard let shelved = shelf.removeValue(forKey: caseID) else { return nil }
        shelfBytes -= Self.weight(shelved)
        return (shelved.state, shelved.inTable)
    }

    /// Writes every shelved state, in the order shelved, and empties the shelf.
    func emptyShelf() throws {
        for (caseID, order) in shelfOrder[shelfHead...] {
            guard let shelved = shelf[caseID], shelved.order == order else { continue }
            try write(shelved)
        }
        dropShelf()
    }

    /// Forgets the shelved states (their events were rolled back).
    func dropShelf() {
        shelf.removeAll()
        shelfOrder.removeAll()
        shelfHead = 0
        shelfBytes = 0
    }

    private func write(_ shelved: Shelved) throws {
        try write(shelved.caseID, shelved.row, inTable: shelved.inTable) { $0.bind($1, shelved.state) }
    }

    /// What a shelved state counts against the limit: its JSON and about as much again for its
    /// row, its key and the shelf's bookkeeping.
    private static func weight(_ shelved: Shelved) -> Int { shelved.state.utf8.count + 160 }

    func verify(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        select.bind(1, state.caseID)
        defer { select.reset() }
        guard try select.step() else {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state: case \(state.caseID) is missing")
        }
        // Compared in place, column by column: the state's JSON is most of a row, kilobytes for a long case.
        let rebuilt = Row(state, writingStateInto: &stateText)
        let escalationSame = rebuilt.escalation.map { !select.isNull(2) && select.text(2, equals: $0) } ?? select.isNull(2)
        let field = !select.text(1, equals: rebuilt.status) ? "status" : select.int64(0) != rebuilt.version ? "version"
            : !escalationSame ? "escalation" : select.int64(3) != rebuilt.lastSeq ? "last_seq" : !select.text(4, equals: stateText) ? "state" : nil
        guard let field else { return }
        throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state differs from a rebuild for case \(state.caseID) (\(field))")
    }

    func verifyFinish(_ fold: ProjectionFold) throws {
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM case_state") ?? 0
        if stored != fold.caseCount {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state holds \(stored) cases, the log \(fold.caseCount)")
        }
    }
}
