import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Hummingbird

/// The case list, a case's page (header and timeline) and an actor's trail.
enum ConsoleCases {
    static let pageSize = 50

    struct ListPage {
        let layout: Console.Layout
        let query: QueryEcho
        let statuses: [Console.Option]
        let escalations: [Console.Option]
        let rows: [Row]
        let hasRows: Bool
        let next: String?
        let first: String?
    }

    struct QueryEcho {
        let text: Shown
        let region: Shown
        let violations: Bool
        let complaints: Bool
    }

    struct Row {
        let caseID: Shown
        let link: String
        let status: String
        let escalation: String?
        let region: Shown
        let balance: String
        let lastEvent: Shown
        let violations: Int
        let flagged: Bool
        let openComplaints: Int
    }

    static func list(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let q = Query(request)
        var query = CaseQuery()
        query.text = q.string("q")
        query.status = try q.choice("status", CaseStatus.self, emptyIsNil: true)
        query.escalation = try q.choice("escalation", EscalationFilter.self, emptyIsNil: true)
        query.region = q.string("region").flatMap { $0.isEmpty ? nil : $0 }
        query.withViolations = q.string("violations") == "1"
        query.withOpenComplaints = q.string("complaints") == "1"
        query.after = q.string("after")
        query.limit = pageSize + 1
        query.scope = context.scope
        let chosen = query
        let ledger = state.ledger
        let found = try await Blocking.run { try ledger.caseSummaries(chosen) }
        let shown = Array(found.prefix(pageSize))
        context.returned.note(shown.map(\.caseID))
        func link(after: String?) -> String {
            var parts: [String] = []
            if let text = query.text, !text.isEmpty { parts.append("q=" + Console.queryValue(text)) }
            if let status = query.status { parts.append("status=" + status.rawValue) }
            if let escalation = query.escalation { parts.append("escalation=" + escalation.rawValue) }
            if let region = query.region { parts.append("region=" + Console.queryValue(region)) }
            if query.withViolations { parts.append("violations=1") }
            if query.withOpenComplaints { parts.append("complaints=1") }
            if let after { parts.append("after=" + Console.queryValue(after)) }
            return "/cases" + (parts.isEmpty ? "" : "?" + parts.joined(separator: "&"))
        }
        let rows = shown.map { summary in
            Row(caseID: Shown(summary.caseID), link: Console.caseLink(summary.caseID), status: summary.status, escalation: summary.escalation,
                region: Shown(summary.region ?? "—"), balance: Console.money(summary.balanceMinor, summary.currency),
                lastEvent: Shown(summary.lastEventAt), violations: summary.violations, flagged: summary.violations > 0,
                openComplaints: summary.openComplaints)
        }
        return Console.page("cases", ListPage(
            layout: Console.Layout("Cases", context),
            query: QueryEcho(text: Shown(query.text ?? ""), region: Shown(query.region ?? ""), violations: query.withViolations,
                             complaints: query.withOpenComplaints),
            statuses: Console.options(CaseStatus.allCases.map(\.rawValue), selected: query.status?.rawValue),
            escalations: Console.options(EscalationFilter.allCases.map(\.rawValue), selected: query.escalation?.rawValue),
            rows: rows, hasRows: !rows.isEmpty,
            next: found.count > pageSize ? link(after: shown.last?.caseID) : nil,
            first: query.after != nil ? link(after: nil) : nil))
    }

    // MARK: - A case

    struct CasePage {
        let layout: Console.Layout
        let header: Header
        let path: String
        let types: [Console.Option]
        let events: [Event]
    }

    struct Header {
        let status: String
        let escalation: String?
        let balance: String
        let principal: String
        let fees: String
        let paid: String
        let debtor: Shown
        let account: Shown
        let product: Shown
        let region: Shown
        let zone: Shown
        let plan: Shown?
        let promise: Shown?
        let restrictions: [Shown]
        let hasRestrictions: Bool
        let complaints: [ComplaintLink]
        let hasComplaints: Bool
    }

    struct ComplaintLink {
        let id: Shown
        let link: String
    }

    struct Event {
        let seq: Int64
        let utc: Shown
        let local: Shown
        let type: Shown
        let summary: Shown
        let actor: Shown
        let actorLink: String
        let voided: Bool
        let voidedBy: Shown?
        let violations: [Breach]
        let notJudged: Shown?
        let late: String?
        let recorded: Shown
        let rowClass: String
        let caseID: Shown
        let caseLink: String
    }

    struct Breach {
        let rule: String
        let rulebook: Shown
        let detail: Shown?
    }

    /// A case recorded more than a day after it happened is marked late.
    static let lateAfterMicros: Int64 = 24 * 3_600_000_000

    static func show(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let id = try context.pathParameter("id")
        let typeFilter = Query(request).string("type").flatMap { $0.isEmpty ? nil : $0 }
        let (ledger, scope) = (state.ledger, context.scope)
        let (view, entries, outcome) = try await Blocking.run { () -> (JSONValue, [AuditEntry], ContactRules.Outcome) in
            let view = try ledger.caseView(id, scope: scope)
            var entries: [AuditEntry] = []
            try ledger.auditTrail(.caseID(id), scope: scope) { entries.append($0) }
            return (view, entries, try ledger.caseJudgements(id, scope: scope))
        }
        context.returned.note(id)
        let currency = view["currency"]?.stringValue ?? ""
        let notJudged = Dictionary(outcome.contacts.compactMap { judgement in judgement.notJudged.map { (judgement.eventID, $0) } },
                                   uniquingKeysWith: { first, _ in first })
        let breaches = Dictionary(grouping: outcome.violations, by: \.eventID)
        let events = entries.filter { typeFilter == nil || $0.type == typeFilter }.map { entry in
            event(entry, notJudged: notJudged[entry.eventID], breaches: breaches[entry.eventID])
        }
        let header = Header(
            status: view["status"]?.stringValue ?? "?", escalation: view["escalation"]?.stringValue,
            balance: Console.money(view["balance_minor"]?.intValue, currency), principal: Console.money(view["principal_minor"]?.intValue, currency),
            fees: Console.money(view["fees_minor"]?.intValue, currency), paid: Console.money(view["paid_minor"]?.intValue, currency),
            debtor: Shown(view["debtor_ref"]?.stringValue), account: Shown(view["account_ref"]?.stringValue), product: Shown(view["product"]?.stringValue),
            region: Shown(view["region"]?.stringValue ?? "—"), zone: Shown(view["debtor_timezone"]?.stringValue),
            plan: view["active_plan"].flatMap { plan in
                plan == .null ? nil : Shown("\(plan["plan_id"]?.stringValue ?? "?") (\(plan["kind"]?.stringValue ?? "?")): "
                    + "\(Console.money(plan["paid_toward_minor"]?.intValue, currency)) paid of \(Console.money(plan["total_minor"]?.intValue, currency))")
            },
            promise: view["latest_promise"].flatMap { promise in
                promise == .null ? nil : Shown("\(Console.money(promise["amount_minor"]?.intValue, currency)) by \(promise["promised_date"]?.stringValue ?? "?")")
            },
            restrictions: (view["restrictions"]?.arrayValue ?? []).map { restriction in
                Shown("\(restriction["kind"]?.stringValue ?? "?") (\(restriction["restriction_id"]?.stringValue ?? "?")) since \(restriction["since"]?.stringValue ?? "?")"
                      + (restriction["until"]?.stringValue.map { " until \($0)" } ?? ""))
            },
            hasRestrictions: !(view["restrictions"]?.arrayValue ?? []).isEmpty,
            complaints: (view["open_complaints"]?.arrayValue ?? []).compactMap(\.stringValue).map {
                ComplaintLink(id: Shown($0), link: "/complaints/\(Console.pathSegment($0))?case=\(Console.queryValue(id))")
            },
            hasComplaints: !(view["open_complaints"]?.arrayValue ?? []).isEmpty)
        let types = Array(Set(entries.map(\.type))).sorted()
        return Console.page("case", CasePage(layout: Console.Layout("Case \(id)", context), header: header, path: Console.caseLink(id),
                                             types: Console.options(types, selected: typeFilter), events: events))
    }

    /// One timeline row; `breaches`, when known, give each violation's detail.
    static func event(_ entry: AuditEntry, notJudged: String?, breaches: [Violation]? = nil) -> Event {
        let occurred = Timestamp(rfc3339: entry.occurredAt)
        let recorded = Timestamp(rfc3339: entry.recordedAt)
        let lateBy = occurred.flatMap { o in recorded.map { $0.epochMicros - o.epochMicros } } ?? 0
        let voidedBy = entry.voidedBy.map { mark in Shown("\(mark.actor) at \(mark.occurredAt) (seq \(mark.voidingSeq)): \(mark.reason)") }
        return Event(
            seq: entry.seq, utc: Shown(occurred?.utcString ?? entry.occurredAt), local: Shown(LocalClock.readable(entry.localTime)), type: Shown(entry.type),
            summary: Shown(entry.summary), actor: Shown(entry.actor), actorLink: "/actors/" + Console.pathSegment(entry.actor),
            voided: entry.voidedBy != nil, voidedBy: voidedBy,
            violations: breaches.map { $0.map { Breach(rule: $0.rule.rawValue, rulebook: Shown($0.rulebook), detail: Shown($0.detail)) } }
                ?? entry.violations.map { Breach(rule: $0.rule.rawValue, rulebook: Shown($0.rulebook), detail: nil) },
            notJudged: notJudged.map { Shown($0) }, late: lateBy > lateAfterMicros ? Console.delay(lateBy) : nil,
            recorded: Shown(recorded?.utcString ?? entry.recordedAt),
            rowClass: entry.voidedBy != nil ? "voided" : (entry.violations.isEmpty ? "" : "violated"),
            caseID: Shown(entry.caseID), caseLink: Console.caseLink(entry.caseID))
    }

    // MARK: - An actor

    struct ActorPage {
        let layout: Console.Layout
        let actor: Shown
        let scoped: Bool
        let events: [Event]
        let next: String?
        let first: String?
    }

    /// Rows on one page of an actor's trail; later ones are a "next" link away (keyset on seq).
    static let actorPageSize = 500

    static func actor(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let actor = try context.pathParameter("actor")
        let after = try Query(request).int("after", in: 0...Int64.max)
        let (ledger, scope) = (state.ledger, context.scope)
        let (entries, more) = try await Blocking.run { () -> ([AuditEntry], Bool) in
            var entries: [AuditEntry] = []
            var more = false
            try ledger.auditTrail(.actor(actor), scope: scope, limit: actorPageSize + 1, afterSeq: after) { entry in
                if entries.count < actorPageSize { entries.append(entry) } else { more = true }
            }
            return (entries, more)
        }
        context.returned.note(entries.map(\.caseID))
        let link = "/actors/" + Console.pathSegment(actor)
        return Console.page("actor", ActorPage(layout: Console.Layout("Actor \(actor)", context), actor: Shown(actor), scoped: !context.scope.isEverything,
                                               events: entries.map { event($0, notJudged: nil) },
                                               next: more ? entries.last.map { "\(link)?after=\($0.seq)" } : nil,
                                               first: after != nil ? link : nil))
    }
}

extension Query {
    /// A choice where an empty value (a form's "any") means none.
    func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type, emptyIsNil: Bool) throws -> T? where T.RawValue == String {
        if emptyIsNil, string(name)?.isEmpty ?? true { return nil }
        return try choice(name, type)
    }
}
