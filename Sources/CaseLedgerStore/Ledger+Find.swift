import CaseLedgerCore
import GRDB

/// Which complaints to list.
public struct ComplaintQuery: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case open, resolved
    }

    public var status: Status?
    public var category: String?
    public var region: String?
    public var caseID: String?
    /// Filed from / up to these times (a date alone: that day on the debtor's clock).
    public var from: TimeBound?
    public var to: TimeBound?
    public var limit: Int?
    /// Only complaints on cases a reader may see, applied in SQL.
    public var scope: ReadScope

    public init(status: Status? = nil, category: String? = nil, region: String? = nil, caseID: String? = nil,
                from: TimeBound? = nil, to: TimeBound? = nil, limit: Int? = nil, scope: ReadScope = .everything) {
        self.scope = scope
        self.status = status
        self.category = category
        self.region = region
        self.caseID = caseID
        self.from = from
        self.to = to
        self.limit = limit
    }
}

/// A complaint as listed.
public struct ComplaintSummary: Sendable {
    public let complaintID: String
    public let caseID: String
    public let filedSeq: Int64
    public let filedAt: String
    /// When it was filed, on the debtor's clock.
    public let filedLocal: String
    public let channel: String
    public let category: String
    public let region: String?
    public let status: String
    public let resolvedAt: String?
    public let finding: String?

    /// Whole days from filing to resolution, or to `now` while it is open.
    public func ageDays(now: Timestamp) -> Int {
        let end = resolvedAt.flatMap(Timestamp.init(rfc3339:)) ?? now
        let start = Timestamp(rfc3339: filedAt) ?? now
        return Int(max(0, end.epochMicros - start.epochMicros) / 86_400_000_000)
    }

    public func json(now: Timestamp) -> JSONValue {
        .object(JSONObject([
            ("complaint_id", .string(complaintID)), ("case_id", .string(caseID)), ("filed_seq", .int(filedSeq)),
            ("filed_at", .string(filedAt)), ("filed_local", .string(filedLocal)), ("channel", .string(channel)),
            ("category", .string(category)), ("region", region.map { .string($0) } ?? .null), ("status", .string(status)),
            ("resolved_at", resolvedAt.map { .string($0) } ?? .null), ("finding", finding.map { .string($0) } ?? .null),
            ("age_days", .int(Int64(ageDays(now: now)))),
        ]))
    }
}

extension Ledger {
    /// The cases an investigator finds by what the debtor gives: an account or a debtor
    /// reference, through the case index (never a scan), as views, in case_id order.
    public func findCases(accountRef: String? = nil, debtorRef: String? = nil) throws -> [JSONValue] {
        try database.read { db in
            let (kind, ref) = accountRef.map { ("account_ref", $0) } ?? ("debtor_ref", debtorRef ?? "")
            let ids = try String.fetchAll(db, sql: "SELECT case_id FROM case_index WHERE kind = ? AND ref = ? ORDER BY case_id", arguments: [kind, ref])
            return try ids.map { id in
                guard let text = try String.fetchOne(db, sql: "SELECT state FROM case_state WHERE case_id = ?", arguments: [id]) else {
                    throw LedgerError.storage("case \(id) is in the case index but has no state")
                }
                return try Self.view(ofStored: text, caseID: id)
            }
        }
    }

    /// Complaints, newest filing first, from the complaints projection.
    public func complaintList(_ query: ComplaintQuery = ComplaintQuery()) throws -> [ComplaintSummary] {
        try database.read { db in
            var conditions: [String] = []
            var arguments: [DatabaseValueConvertible] = []
            if !query.scope.isEverything {
                let (inScope, scoped) = query.scope.condition(on: "case_id")
                conditions.append(inScope)
                arguments += scoped as [DatabaseValueConvertible]
            }
            if let status = query.status {
                conditions.append("status = ?")
                arguments.append(status.rawValue)
            }
            if let category = query.category {
                conditions.append("category = ?")
                arguments.append(category)
            }
            if let caseID = query.caseID {
                conditions.append("case_id = ?")
                arguments.append(caseID)
            }
            if let region = query.region {
                conditions.append("(region = ? OR substr(region, 1, ?) = ?)")
                arguments += [region, region.count + 1, region + "-"]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            var found: [ComplaintSummary] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT complaint_id, case_id, filed_seq, filed_at, filed_local, channel, category, region, status, resolved_at, finding
                FROM complaints \(filter) ORDER BY filed_seq DESC
                """, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                let summary = ComplaintSummary(complaintID: row[0], caseID: row[1], filedSeq: row[2], filedAt: row[3], filedLocal: row[4],
                                               channel: row[5], category: row[6], region: row[7], status: row[8], resolvedAt: row[9], finding: row[10])
                if query.from != nil || query.to != nil {
                    guard let filed = Timestamp(rfc3339: summary.filedAt), let local = Timestamp(rfc3339: summary.filedLocal) else { continue }
                    if let from = query.from, !from.admitsFrom(micros: filed.epochMicros, localDay: local.localDay) { continue }
                    if let to = query.to, !to.admitsUntil(micros: filed.epochMicros, localDay: local.localDay) { continue }
                }
                found.append(summary)
                if let limit = query.limit, found.count >= limit { break }
            }
            return found
        }
    }
}
