import CaseLedgerCore
import GRDB

/// A projection as the ledger file keeps it: its tables, how it writes a case's folds, and how
/// `verify` checks them against a rebuild. Each projection is one type, in one file here;
/// `ProjectionRegistry.all` names them all, and everything else (append, rebuild, verify,
/// replay, staleness) goes through that list.
///
/// Adding a projection is one new file and one line in the registry. Its tables are created by
/// its first rebuild (a ledger opened by code with a projection it lacks rebuilds that one).
protocol StoredProjection: AnyObject {
    /// Stable name: the key of its row in `projections`.
    static var name: String { get }
    /// Bump when its fold or its stored form changes: older files rebuild it when opened.
    static var version: Int { get }
    /// Its tables, dropped on a rebuild, and the statements that create them and their indexes.
    static var tables: [String] { get }
    static var schema: [String] { get }
    /// What it is built from besides the log and this code (for compliance, the rulebooks).
    static func fingerprint(_ rules: RulebookChoice) -> String

    /// Its writer, for one transaction.
    init(_ db: Database, rules: RulebookChoice) throws
    /// Said before a rebuild's fold: the tables were just created, each case is saved once, and
    /// the secondary indexes are built after the fold. So no case has rows to delete first (and
    /// a delete by case would have no index to find them by).
    func fillsEmptyTables()
    /// Whether it keeps facts per event (`record`, `verifyRecord`): the others are not called
    /// for each event, only for each case's folds.
    static var recordsEvents: Bool { get }
    /// One appended or replayed event, for projections that keep facts per event.
    func record(_ event: CaseEvent, target: VoidTarget?, data: String) throws
    /// A case's folds: after an append changed them, or final, on a rebuild.
    func save(_ box: CaseBox) throws
    /// `verify`'s `record`: throws when what is stored for this event is not what a rebuild makes.
    func verifyRecord(_ event: CaseEvent, target: VoidTarget?, data: String) throws
    /// Throws naming the difference when what is stored for this case is not what a rebuild made.
    func verify(_ box: CaseBox) throws
    /// After every case was compared: throws when something is stored that no case accounts for.
    func verifyFinish(_ fold: ProjectionFold) throws
}

extension StoredProjection {
    static func fingerprint(_ rules: RulebookChoice) -> String { "" }
    static var recordsEvents: Bool { false }
    func fillsEmptyTables() {}
    func record(_ event: CaseEvent, target: VoidTarget?, data: String) throws {}
    func verifyRecord(_ event: CaseEvent, target: VoidTarget?, data: String) throws {}
}

/// Every projection the ledger keeps, in the order they are written.
enum ProjectionRegistry {
    static var all: [any StoredProjection.Type] { [CaseStateTable.self, AuditTable.self, ComplianceTable.self, CaseIndexTable.self, ComplaintsTable.self] }

    static func named(_ names: [String]) -> [any StoredProjection.Type] {
        all.filter { names.contains($0.name) }
    }
}

/// The writers of a set of projections for one transaction.
struct ProjectionWriters {
    let writers: [any StoredProjection]
    /// The writers called for each event (`StoredProjection.recordsEvents`): calling every
    /// writer for every event cost a retain, a release and a dynamic call each, for nothing.
    let recorders: [any StoredProjection]

    /// `emptyTables`: for a rebuild into tables just created (`StoredProjection.fillsEmptyTables`).
    init(_ db: Database, rules: RulebookChoice, projections: [any StoredProjection.Type] = ProjectionRegistry.all, emptyTables: Bool = false) throws {
        writers = try projections.map { try $0.init(db, rules: rules) }
        recorders = writers.filter { type(of: $0).recordsEvents }
        if emptyTables { for writer in writers { writer.fillsEmptyTables() } }
    }

    func record(_ event: CaseEvent, target: VoidTarget?, data: String) throws {
        for writer in recorders { try writer.record(event, target: target, data: data) }
    }

    /// Writes the case's folds; with `shelvingState`, its state goes to `case_state`'s shelf
    /// (`CaseStateTable.shelve`) rather than to the table.
    func save(_ box: CaseBox, shelvingState: Bool = false) throws {
        for writer in writers {
            if shelvingState, let caseStates = writer as? CaseStateTable {
                try caseStates.shelve(box)
            } else {
                try writer.save(box)
            }
        }
    }

    /// Judges and writes one case's contacts alone (the other projections of the case are written).
    func saveCompliance(_ record: ComplianceCase) throws {
        let box = CaseBox(compliance: record)
        for writer in writers where writer is ComplianceTable { try writer.save(box) }
    }

    static func setCheckpoints(_ db: Database, seq: Int64) throws {
        try db.execute(sql: "UPDATE projections SET checkpoint_seq = ?", arguments: [seq])
    }
}
