import CaseLedgerCore
import CaseLedgerStore
import HTTPTypes
import Hummingbird

/// A case's state, the list of cases, the audit trail, compliance, and the pre-contact check:
/// the same library calls, and the same JSON, as `case show`, `case list`, `audit`,
/// `compliance` and `contact-check` with `--json`. A regulator's scope is part of every query.
enum CaseRoutes {
    static func caseID(_ context: LedgerContext) throws -> String {
        try context.pathParameter("id")
    }

    static func show(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let id = try caseID(context)
        let (ledger, scope) = (state.ledger, context.scope)
        let view = try await Blocking.run { try ledger.caseView(id, scope: scope) }
        context.returned.note(id)
        return Reply.json(view)
    }

    /// `?status=&escalation=` as `case list`; pages of `limit` (default 1000) in case_id order,
    /// the next one `after` the last case_id of this one (also in the `CaseLedger-Next-After` header).
    static func list(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let query = Query(request)
        let status = try query.choice("status", CaseStatus.self)
        let escalation = try query.choice("escalation", EscalationFilter.self)
        let limit = Int(try query.int("limit", in: 1...Int64(state.settings.maxPage)) ?? 1000)
        let after = query.string("after")
        let (ledger, scope) = (state.ledger, context.scope)
        let views = try await Blocking.run { () -> [JSONValue] in
            var views: [JSONValue] = []
            try ledger.caseViews(status: status?.rawValue, escalation: escalation?.rawValue, scope: scope, after: after, limit: limit) { views.append($0) }
            return views
        }
        let ids = views.compactMap { $0["case_id"]?.stringValue }
        context.returned.note(ids)
        var response = Reply.json(.array(views))
        if views.count == limit, let last = ids.last { response.headers[.caseLedgerNextAfter] = last }
        return response
    }

    /// `?case=ID` or `?actor=kind:id`, with `from` and `to` (an RFC 3339 time, or a date on the debtor's clock).
    static func audit(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let query = Query(request)
        let caseID = query.string("case")
        let actor = query.string("actor")
        guard (caseID == nil) != (actor == nil) else { throw APIError.badRequest("give exactly one of case or actor") }
        let from = try query.timeBound("from")
        let to = try query.timeBound("to")
        let (ledger, scope) = (state.ledger, context.scope)
        let entries = try await Blocking.run { () -> [AuditEntry] in
            if let caseID, try !ledger.isVisible(caseID: caseID, scope: scope) {
                throw APIError.notFound("no case \(JSONText.shown(caseID))")
            }
            var entries: [AuditEntry] = []
            try ledger.auditTrail(caseID.map { .caseID($0) } ?? .actor(actor!), from: from, to: to, scope: scope) { entries.append($0) }
            return entries
        }
        context.returned.note(entries.map(\.caseID))
        return Reply.json(.array(entries.map(\.json)))
    }

    /// `?case=&region=&actor=&from=&to=` as `compliance --json`, under the rulebooks in force.
    static func compliance(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let query = Query(request)
        let filter = ComplianceFilter(caseID: query.string("case"), region: query.string("region"), actor: query.string("actor"),
                                      from: try query.timeBound("from"), to: try query.timeBound("to"), scope: context.scope)
        let ledger = state.ledger
        // Written as `compliance --json` writes it, a violation at a time, into the reply's bytes:
        // no list of violations, nor a JSON tree of them, is held beside it.
        let (body, returned) = try await Blocking.run {
            try ledger.compliance(filter: filter) { summary, forEachViolation in
                var body = ByteBuffer()
                var returned: [String] = []
                try summary.writeCanonicalJSON(violations: { each in
                    try withoutActuallyEscaping(each) { each in
                        try forEachViolation { violation in
                            if returned.last != violation.caseID { returned.append(violation.caseID) }
                            try each(violation)
                        }
                    }
                }) { body.writeBytes($0) }
                body.writeInteger(UInt8(ascii: "\n"))
                return (body, returned + summary.notices.map(\.caseID) + summary.notJudgedCases.map(\.caseID))
            }
        }
        if let caseID = filter.caseID { context.returned.note(caseID) }
        context.returned.note(returned)
        return Reply.buffer(body, type: "application/json")
    }

    /// `?channel=call|sms|email|app|letter|visit&party=debtor&at=T&actor=kind:id&connected=true&visit_id=V`
    static func contactCheck(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let id = try caseID(context)
        let planned = try plannedContact(Query(request))
        let (ledger, scope) = (state.ledger, context.scope)
        let check = try await Blocking.run { try ledger.contactCheck(caseID: id, planned: planned, scope: scope) }
        context.returned.note(id)
        return Reply.json(check.json)
    }

    static func plannedContact(_ query: Query) throws -> PlannedContact {
        let channel = try query.choice("channel", PlannedContact.Channel.self)
        guard let channel else {
            throw APIError.badRequest("channel is required: one of \(PlannedContact.Channel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let party = query.string("party") ?? "debtor"
        guard PlannedContact.parties.contains(party) else {
            throw APIError.badRequest("party must be one of \(PlannedContact.parties.joined(separator: ", ")); got \(JSONText.quoted(party))")
        }
        let actor = query.string("actor") ?? "collector:contact-check"
        guard EventSubmission.isValidActor(actor) else {
            throw APIError.badRequest("actor is kind:id with kind one of \(EventSubmission.actorKinds.sorted().joined(separator: ", ")); got \(JSONText.quoted(actor))")
        }
        return PlannedContact(channel: channel, party: party, at: try query.timestamp("at") ?? LedgerClock.now(), actor: actor,
                              connected: try query.bool("connected") ?? true, visitID: query.string("visit_id"))
    }
}

extension HTTPField.Name {
    /// Where the next page of a list starts (`after=`), when this page is full.
    static let caseLedgerNextAfter = HTTPField.Name("CaseLedger-Next-After")!
}
