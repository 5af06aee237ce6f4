import CaseLedgerCore
import CaseLedgerStore
import Foundation
import Hummingbird

/// Violations by rule, actor, region and month (SVG drawn here, from the compliance projection),
/// the rulebooks in force with their sources, and the what-if comparison of two rulebooks.
enum ConsoleCompliance {
    /// A horizontal bar chart: labels, bars whose length is the count, the count at the end.
    /// Drawn with shapes and text only (no colour carries meaning), so it reads in print and in grey.
    struct Chart {
        let title: Shown
        let width = 560
        let height: Int
        let bars: [Bar]
        let hasBars: Bool

        struct Bar {
            let label: Shown
            let count: Int
            let y: Int
            let textY: Int
            let labelX = 196
            let barX = 204
            let barWidth: Int
            let barHeight = 16
            let countX: Int
        }

        init(_ title: String, _ rows: [(key: String, count: Int)]) {
            self.title = Shown(title)
            let most = max(1, rows.map(\.count).max() ?? 1)
            bars = rows.enumerated().map { index, row in
                let length = max(1, row.count * 300 / most)
                let label = row.key.count > 30 ? String(row.key.prefix(29)) + "…" : row.key
                return Bar(label: Shown(label), count: row.count, y: 6 + index * 22, textY: 19 + index * 22, barWidth: length, countX: 210 + length)
            }
            height = 12 + rows.count * 22
            hasBars = !rows.isEmpty
        }
    }

    struct RulebookRow {
        let id: Shown
        let title: Shown
        let jurisdiction: Shown
        let effectiveFrom: Shown
        let source: Shown
    }

    struct OverviewPage {
        let layout: Console.Layout
        let contacts: Int
        let contactsJudged: Int
        let contactsNotJudged: Int
        let judgedShare: String
        let cases: Int
        let casesWithViolations: Int
        let charts: [Chart]
        let rulebooks: [RulebookRow]
        let canAskWhatIf: Bool
    }

    static func rows(_ rulebooks: [Rulebook]) -> [RulebookRow] {
        rulebooks.map { RulebookRow(id: Shown($0.id), title: Shown($0.title), jurisdiction: Shown($0.jurisdiction),
                                    effectiveFrom: Shown($0.effectiveFrom), source: Shown($0.source)) }
    }

    static func overview(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let (ledger, scope) = (state.ledger, context.scope)
        let (overview, rulebooks) = try await Blocking.run { (try ledger.complianceOverview(scope: scope), try ledger.rulebooksInForce()) }
        let share = overview.contacts == 0 ? "none to judge" : String(format: "%.1f %%", Double(overview.contactsJudged) * 100 / Double(overview.contacts))
        return Console.page("compliance", OverviewPage(
            layout: Console.Layout("Compliance", context), contacts: overview.contacts, contactsJudged: overview.contactsJudged,
            contactsNotJudged: overview.contacts - overview.contactsJudged, judgedShare: share, cases: overview.cases,
            casesWithViolations: overview.casesWithViolations,
            charts: [Chart("Violations by rule", overview.byRule), Chart("Violations by actor (the most)", overview.byActor),
                     Chart("Violations by region", overview.byRegion), Chart("Violations by month (debtor-local)", overview.byMonth)],
            rulebooks: rows(rulebooks), canAskWhatIf: context.principal?.role != .regulator))
    }

    // MARK: - What if

    struct WhatIfForm: Decodable {
        let before: String?
        let after: String?
        let rulebook: String?
        let from: String?
        let to: String?
        let region: String?
    }

    struct WhatIfPage {
        let layout: Console.Layout
        let problem: Shown?
        let report: Report?
    }

    struct Report {
        let before: Shown
        let after: Shown
        let beforeCount: Int
        let afterCount: Int
        let cases: Int
        let appearedCount: Int
        let disappearedCount: Int
        let charts: [Chart]
        let appeared: [Line]
        let disappeared: [Line]
        let truncated: Bool
        let shown: Int
    }

    struct Line {
        let caseID: Shown
        let link: String
        let local: Shown
        let actor: Shown
        let rule: String
        let detail: Shown
    }

    static let listed = 200

    static func whatIf(_ request: Request, _ context: LedgerContext, _ state: ServerState) async throws -> Response {
        let body = try await EventRoutes.readBody(request, limit: Limits.maxRulebookBytes + 8192, timeout: .seconds(state.settings.bodyTimeoutSeconds))
        let form = (try? URLEncodedFormDecoder().decode(WhatIfForm.self, from: String(buffer: body))) ?? WhatIfForm(before: nil, after: nil, rulebook: nil, from: nil, to: nil, region: nil)
        func problem(_ text: String) -> Response {
            Console.page("whatIf", WhatIfPage(layout: Console.Layout("What if?", context), problem: Shown(text), report: nil), status: .unprocessableContent)
        }
        let library = RulebookLibrary.shipped.rulebooks
        guard let before = library.first(where: { $0.id == form.before }) else { return problem("Choose the rulebook to compare from.") }
        let after: Rulebook
        if let text = form.rulebook?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            do throws(FieldError) { after = try Rulebook(json: text) } catch {
                let field = error.path.isEmpty || error.path == "rulebook" ? "" : "\(error.path): "
                return problem("The pasted rulebook is not valid: \(field)\(error.reason)")
            }
        } else if let chosen = library.first(where: { $0.id == form.after }) {
            after = chosen
        } else {
            return problem("Choose the rulebook to compare with, or paste one.")
        }
        var filter = ComplianceFilter()
        for (name, text) in [("From", form.from), ("To", form.to)] {
            guard let text, !text.isEmpty else { continue }
            guard let bound = TimeBound(text) else { return problem(TimeBound.problem(text, option: name)) }
            if name == "From" { filter.from = bound } else { filter.to = bound }
        }
        if let region = form.region, !region.isEmpty { filter.region = region }
        let (ledger, chosen) = (state.ledger, filter)
        // The page shows the first `listed` of each list, and only those are read.
        let diff = try await Blocking.run { try ledger.complianceDiff(before: before, after: after, filter: chosen, listing: listed) }
        // The cases the page shows: each shown violation's.
        context.returned.note((diff.appeared + diff.disappeared).map(\.caseID))
        func lines(_ list: [Violation]) -> [Line] {
            list.map { violation in
                Line(caseID: Shown(violation.caseID), link: Console.caseLink(violation.caseID) + "#seq-\(violation.seq)",
                     local: Shown(LocalClock.readable(violation.localTime)), actor: Shown(violation.actor), rule: violation.rule.rawValue,
                     detail: Shown(violation.detail))
            }
        }
        let byRule = diff.byRule
        let byActor = diff.byActor.prefix(12)
        let report = Report(
            before: Shown(before.id), after: Shown(after.id), beforeCount: diff.beforeCount, afterCount: diff.afterCount, cases: diff.casesJudged,
            appearedCount: diff.appearedCount, disappearedCount: diff.disappearedCount,
            charts: [Chart("Appear, by rule", byRule.filter { $0.appeared > 0 }.map { ($0.key, $0.appeared) }),
                     Chart("Disappear, by rule", byRule.filter { $0.disappeared > 0 }.map { ($0.key, $0.disappeared) }),
                     Chart("Appear, by actor", byActor.filter { $0.appeared > 0 }.map { ($0.key, $0.appeared) })],
            appeared: lines(diff.appeared), disappeared: lines(diff.disappeared),
            truncated: diff.appearedCount > listed || diff.disappearedCount > listed, shown: listed)
        return Console.page("whatIf", WhatIfPage(layout: Console.Layout("What if: \(before.id) → \(after.id)", context), problem: nil, report: report))
    }
}
