import CaseLedgerCore
import GRDB

/// Which cases a reader may see: every case, or only those a regulator's scopes cover. It is
/// applied inside each query's SQL (through the case index's regions), never by filtering rows
/// after they are read, so a case out of scope is never even loaded.
///
/// ```swift
/// try ledger.caseView("C-1", scope: .only([.region("CN")]))   // notFound unless C-1 is in CN or CN-…
/// ```
public struct ReadScope: Sendable, Equatable {
    /// nil: every case.
    public let scopes: [Scope]?

    public static let everything = ReadScope(scopes: nil)

    public static func only(_ scopes: [Scope]) -> ReadScope { ReadScope(scopes: scopes) }

    public var isEverything: Bool { scopes == nil }

    /// A condition on `column` (a case id) that admits exactly the cases in scope, and its
    /// arguments in order. A region admits itself and its sub-regions (`CN` admits `CN-SH`): the
    /// range [R-, R.) holds every text that starts with "R-", and the case index answers it.
    func condition(on column: String) -> (sql: String, arguments: [String]) {
        guard let scopes else { return ("1", []) }
        var parts: [String] = []
        var arguments: [String] = []
        let regions = scopes.compactMap { if case .region(let region) = $0 { region } else { nil } }
        let cases = scopes.compactMap { if case .caseID(let id) = $0 { id } else { nil } }
        if !regions.isEmpty {
            let any = regions.map { _ in "ref = ? OR (ref >= ? AND ref < ?)" }.joined(separator: " OR ")
            parts.append("\(column) IN (SELECT case_id FROM case_index WHERE kind = 'region' AND (\(any)))")
            for region in regions { arguments += [region, region + "-", region + "."] }
        }
        if !cases.isEmpty {
            parts.append("\(column) IN (\(cases.map { _ in "?" }.joined(separator: ", ")))")
            arguments += cases
        }
        return parts.isEmpty ? ("0", []) : ("(" + parts.joined(separator: " OR ") + ")", arguments)
    }
}

extension Ledger {
    /// Whether `caseID` exists and is in `scope` (one indexed query).
    public func isVisible(caseID: String, scope: ReadScope) throws -> Bool {
        try database.read { db in try Self.isVisible(db, caseID: caseID, scope: scope) }
    }

    /// The ids of the cases in `scope`, in order.
    static func caseIDs(_ db: Database, scope: ReadScope) throws -> [String] {
        let (condition, arguments) = scope.condition(on: "case_id")
        return try String.fetchAll(db, sql: "SELECT case_id FROM case_state WHERE \(condition) ORDER BY case_id", arguments: StatementArguments(arguments))
    }

    static func isVisible(_ db: Database, caseID: String, scope: ReadScope) throws -> Bool {
        let (condition, arguments) = scope.condition(on: "case_id")
        return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM case_state WHERE case_id = ? AND \(condition))",
                                 arguments: StatementArguments([caseID] + arguments)) ?? false
    }
}
