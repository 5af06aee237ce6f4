import Foundation
import XCTest

/// docs/cli.md, docs/compliance.md, end to end: the case-state and audit projections as `case show`, `case list`,
/// `audit` and `verify` print them, through the real `caseledger` binary on a real SQLite file.
/// Each status test builds the smallest case that shows its rule (CaseView.swift states the rules).
final class ProjectionTests: XCTestCase {

    // MARK: - Status, one rule at a time

    func testAJustOpenedCaseWithSomeCallsIsOpen() throws {
        let c = CaseScript()
        try assertStatus("open", after: [c.opened(), c.call(at: march(2)), c.call(at: march(3))])
    }

    func testAPromiseAfterTheLastPaymentMakesTheCasePromised() throws {
        let c = CaseScript()
        let view = try assertStatus("promised", after: [c.opened(), c.payment(50_000, at: march(2)), c.promise(200_000, at: march(3))])
        let promise = try XCTUnwrap(view["latest_promise"] as? [String: Any])
        XCTAssertEqual(promise["amount_minor"] as? Int, 200_000)
        XCTAssertEqual(promise["made_at"] as? String, march(3))
    }

    func testAPaymentAfterThePromiseTakesTheCaseBackToOpen() throws {
        let c = CaseScript()
        try assertStatus("open", after: [c.opened(), c.promise(200_000, at: march(2)), c.payment(200_000, at: march(3))])
    }

    func testAnAcceptedPlanPaidBelowItsTotalIsPlanActive() throws {
        let c = CaseScript()
        let view = try assertStatus("plan_active", after: [
            c.opened(),
            c.payment(50_000, at: march(2)),  // before the acceptance: not toward the plan
            c.offerPlan("P-1", installments: [300_000, 300_000], at: march(3)),
            c.acceptPlan("P-1", at: march(4)),
            c.payment(100_000, at: march(5)),
        ])
        let plan = try XCTUnwrap(view["active_plan"] as? [String: Any], "active_plan: \(view["active_plan"] ?? "missing")")
        XCTAssertEqual(plan["plan_id"] as? String, "P-1")
        XCTAssertEqual(plan["total_minor"] as? Int, 600_000)
        XCTAssertEqual(plan["paid_toward_minor"] as? Int, 100_000)
        XCTAssertEqual(plan["accepted_at"] as? String, march(4))
        let installments = try XCTUnwrap(plan["installments"] as? [[String: Any]])
        XCTAssertEqual(installments.map { $0["amount_minor"] as? Int }, [300_000, 300_000])
        XCTAssertEqual(installments.map { $0["due_date"] as? String }, ["2024-04-01", "2024-05-01"])
        XCTAssertEqual(view["paid_minor"] as? Int, 150_000)
    }

    func testAPlanPaidInFullIsNoLongerActive() throws {
        let c = CaseScript()
        let view = try assertStatus("open", after: [
            c.opened(),
            c.offerPlan("P-1", installments: [300_000, 300_000], at: march(2)),
            c.acceptPlan("P-1", at: march(3)),
            c.payment(300_000, at: march(4)),
            c.payment(300_000, at: march(5)),
        ])
        XCTAssertTrue(view["active_plan"] is NSNull, "active_plan: \(view["active_plan"] ?? "missing")")
    }

    func testAnEscalationWithoutAPlanIsEscalated() throws {
        let c = CaseScript()
        let view = try assertStatus("escalated", after: [c.opened(), c.promise(100_000, at: march(2)), c.escalate(to: "supervisor", at: march(3))])
        XCTAssertEqual(view["escalation"] as? String, "supervisor")
    }

    func testAPlanAcceptedAfterTheEscalationWins() throws {
        let c = CaseScript()
        let view = try assertStatus("plan_active", after: [
            c.opened(),
            c.escalate(to: "agency", at: march(2)),
            c.offerPlan("P-1", installments: [300_000, 300_000], at: march(3)),
            c.acceptPlan("P-1", at: march(4)),
        ])
        XCTAssertEqual(view["escalation"] as? String, "agency", "the case stays escalated to the agency while the plan runs")
    }

    func testAnEscalationAfterThePlanAcceptanceWins() throws {
        let c = CaseScript()
        try assertStatus("escalated", after: [
            c.opened(),
            c.offerPlan("P-1", installments: [300_000, 300_000], at: march(2)),
            c.acceptPlan("P-1", at: march(3)),
            c.escalate(to: "legal", at: march(4)),
        ])
    }

    func testClosingBeatsAnActivePlan() throws {
        let c = CaseScript()
        let view = try assertStatus("closed", after: [
            c.opened(),
            c.offerPlan("P-1", installments: [300_000, 300_000], at: march(2)),
            c.acceptPlan("P-1", at: march(3)),
            c.payment(100_000, at: march(4)),
            c.close(reason: "settled", at: march(5)),
        ])
        XCTAssertTrue(view["active_plan"] is NSNull, "a closed case has no active plan: \(view["active_plan"] ?? "missing")")
        XCTAssertEqual(view["closed_reason"] as? String, "settled")
    }

    func testALateArrivingPromiseDatedBeforeThePaymentLeavesTheCaseOpen() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        try ledger.record([c.opened(), c.payment(100_000, at: march(4))])
        try ledger.record([c.promise(200_000, at: march(3))])  // appended last, but happened first
        let view = try ledger.show("C-1")
        XCTAssertEqual(view["status"] as? String, "open", "the payment on 4 March came after the promise of 3 March")
        XCTAssertEqual(view["last_event_at"] as? String, march(4), "last_event_at is the latest occurred_at, not the last appended")
    }

    func testALateArrivingPaymentDatedBeforeThePromiseLeavesTheCasePromised() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        // 4 March 11:00 in Shanghai, though written as the 3rd in New York.
        try ledger.record([c.opened(), c.promise(200_000, at: "2024-03-03T22:00:00-05:00")])
        try ledger.record([c.payment(100_000, at: march(4))])  // 4 March 10:00 in Shanghai: an hour before the promise
        XCTAssertEqual(try ledger.show("C-1")["status"] as? String, "promised", "later goes by the instant, not the text")
    }

    func testAtTheSameInstantTheEventLaterInTheLogIsLater() throws {
        let c = CaseScript()
        // The same instant, written in two offsets: the log position decides.
        try assertStatus("promised", after: [c.opened(), c.payment(100_000, at: march(3)), c.promise(200_000, at: "2024-03-03T02:00:00Z")])
        try assertStatus("escalated", after: [
            c.opened(),
            c.offerPlan("P-1", installments: [300_000, 300_000], at: march(2)),
            c.acceptPlan("P-1", at: march(3)),
            c.escalate(to: "legal", at: "2024-03-03T02:00:00Z"),
        ])
    }

    // MARK: - Money, escalation, restrictions, complaints, contacts

    func testBalanceIsPrincipalPlusFeesMinusPaymentsAndAVoidedPaymentNoLongerCounts() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        let first = c.payment(200_000, at: march(2)), second = c.payment(100_000, at: march(3))
        try ledger.record([c.opened(principal: 1_000_000, fees: 5_000), first, second])
        var view = try ledger.show("C-1")
        XCTAssertEqual(view["principal_minor"] as? Int, 1_000_000)
        XCTAssertEqual(view["paid_minor"] as? Int, 300_000)
        XCTAssertEqual(view["balance_minor"] as? Int, 705_000)

        let void = c.void(second, at: march(4))
        try ledger.record([void])
        view = try ledger.show("C-1")
        XCTAssertEqual(view["paid_minor"] as? Int, 200_000)
        XCTAssertEqual(view["balance_minor"] as? Int, 805_000)

        let trail = try ledger.audit(["--case", "C-1"])
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, [c.openingID, first.id, second.id, void.id])
        XCTAssertEqual(trail.map { $0["voided"] as? Bool }, [false, false, true, false])
        let voided = trail[2]
        let mark = try XCTUnwrap(voided["voided_by"] as? [String: Any], "the voided payment says which event voided it")
        XCTAssertEqual(mark["event_id"] as? String, void.id)
        XCTAssertEqual(mark["seq"] as? Int, 4)
        XCTAssertEqual(trail[3]["type"] as? String, "entry.voided")
        XCTAssertTrue((trail[3]["summary"] as? String ?? "").contains("voided event \(second.id)"), "\(trail[3])")
    }

    func testEscalationIsTheLatestOneAndVoidingItFallsBackToTheEarlierOne() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        let toAgency = c.escalate(to: "agency", at: march(3))
        try ledger.record([c.opened(), c.escalate(to: "supervisor", at: march(2)), toAgency])
        XCTAssertEqual(try ledger.show("C-1")["escalation"] as? String, "agency")
        try ledger.record([c.void(toAgency, at: march(4))])
        let view = try ledger.show("C-1")
        XCTAssertEqual(view["escalation"] as? String, "supervisor")
        XCTAssertEqual(view["status"] as? String, "escalated")
    }

    func testOnlyRestrictionsNeitherLiftedNorPastTheirUntilAreActive() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        try ledger.record([
            c.opened(),
            c.restrict("R-LIFTED", at: march(2)),
            c.liftRestriction("R-LIFTED", at: march(3)),
            c.restrict("R-EXPIRED", until: march(5), at: march(2)),
            c.restrict("R-RUNNING", until: march(20), at: march(2)),
            // 10 March 04:00 UTC: after the last event (10 March 02:00 UTC), though it reads "9 March".
            c.restrict("R-RUNNING-ELSEWHERE", until: "2024-03-09T23:00:00-05:00", at: march(2)),
            c.restrict("R-UNTIL-LIFTED", at: march(2)),
            c.call(at: march(10)),  // the case's last event
        ])
        let restrictions = try XCTUnwrap(try ledger.show("C-1")["restrictions"] as? [[String: Any]])
        XCTAssertEqual(restrictions.compactMap { $0["restriction_id"] as? String }.sorted(),
                       ["R-RUNNING", "R-RUNNING-ELSEWHERE", "R-UNTIL-LIFTED"])
    }

    func testAResolvedComplaintIsNoLongerOpen() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        try ledger.record([c.opened(), c.fileComplaint("K-1", at: march(2)), c.fileComplaint("K-2", at: march(3))])
        XCTAssertEqual(try ledger.show("C-1")["open_complaints"] as? [String], ["K-1", "K-2"])
        try ledger.record([c.resolveComplaint("K-1", at: march(4))])
        XCTAssertEqual(try ledger.show("C-1")["open_complaints"] as? [String], ["K-2"])
    }

    /// verify reads a case's complaints in the index's order (by complaint id: K-10 before K-9)
    /// and compares them in filing order: such a case verifies, and an edited row does not.
    func testVerifyComparesComplaintsInFilingOrderWhateverTheirIDs() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        try ledger.record([c.opened(), c.fileComplaint("K-9", at: march(2)), c.fileComplaint("K-10", at: march(3)),
                           c.resolveComplaint("K-9", at: march(4))])
        XCTAssertEqual(try ledger.sql("SELECT complaint_id FROM complaints INDEXED BY complaints_by_case WHERE case_id = 'C-1';"), "K-10\nK-9\n")
        try ledger.assertVerifies()
        try ledger.assertVerifyFails(after: "UPDATE complaints SET status = 'open' WHERE complaint_id = 'K-9'",
                                     saying: "projection complaints differs from a rebuild for case C-1",
                                     undo: "UPDATE complaints SET status = 'resolved' WHERE complaint_id = 'K-9'")
        try ledger.assertVerifies()
    }

    func testContactsCountCallsMessagesAndCompletedVisitsButNotAVoidedCall() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        let mistakenCall = c.call(at: march(4))
        try ledger.record([
            c.opened(),
            c.call(at: march(2)), c.call(at: march(3)), mistakenCall,
            c.message(at: march(2)), c.message(at: march(3)),
            c.bookVisit("V-DONE", at: march(2)), c.completeVisit("V-DONE", at: march(5)),
            c.bookVisit("V-PENDING", at: march(2)),
            c.bookVisit("V-CANCELLED", at: march(2)), c.cancelVisit("V-CANCELLED", at: march(3)),
            c.void(mistakenCall, at: march(6)),
        ])
        let contacts = try XCTUnwrap(try ledger.show("C-1")["contacts"] as? [String: Int])
        XCTAssertEqual(contacts, ["calls": 2, "messages": 2, "visits": 1])
    }

    // MARK: - case list and case show

    func testCaseListFiltersByStatusAndEscalation() throws {
        let ledger = try LedgerFile(self)
        try ledger.record(Self.oneCaseOfEachKind())
        let expectations: [([String], [String])] = [
            ([], ["C-OPEN", "C-PLAN", "C-PROMISED", "C-SUPERVISOR", "C-LEGAL", "C-CLOSED-AGENCY", "C-CLOSED"].sorted()),
            (["--status", "open"], ["C-OPEN"]),
            (["--status", "promised"], ["C-PROMISED"]),
            (["--status", "plan_active"], ["C-PLAN"]),
            (["--status", "escalated"], ["C-LEGAL", "C-SUPERVISOR"]),
            (["--status", "closed"], ["C-CLOSED", "C-CLOSED-AGENCY"]),
            (["--escalation", "supervisor"], ["C-SUPERVISOR"]),
            (["--escalation", "legal"], ["C-LEGAL"]),
            (["--escalation", "agency"], ["C-CLOSED-AGENCY"]),
            (["--escalation", "none"], ["C-CLOSED", "C-OPEN", "C-PLAN", "C-PROMISED"]),
            (["--status", "closed", "--escalation", "none"], ["C-CLOSED"]),
        ]
        for (filters, expected) in expectations {
            let cases = try ledger.list(filters)
            XCTAssertEqual(cases.compactMap { $0["case_id"] as? String }, expected, "case list \(filters.joined(separator: " "))")
            if let status = filters.firstIndex(of: "--status").map({ filters[$0 + 1] }) {
                XCTAssertTrue(cases.allSatisfy { $0["status"] as? String == status }, "case list \(filters)")
            }
        }
    }

    func testShowingAnUnknownCaseFailsWithAClearMessage() throws {
        let ledger = try LedgerFile(self)
        try ledger.record([CaseScript().opened()])
        let result = try ledger.run(["case", "show", "C-404", "--json"])
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no case C-404"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    func testListingAnUnknownStatusIsAUsageError() throws {
        let ledger = try LedgerFile(self)
        let result = try ledger.run(["case", "list", "--status", "bogus", "--json"])
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("--status"), result.stderr)
    }

    // MARK: - audit

    func testTheTrailOfAnUnknownCaseIsNotFoundInEveryFormat() throws {
        let ledger = try LedgerFile(self)
        try ledger.record([CaseScript().opened()])
        for format in [["--json"], ["--format", "csv"], ["--format", "table"]] {
            let result = try ledger.run(["audit", "--case", "C-404"] + format)
            XCTAssertEqual(result.exitCode, 1, "audit --case C-404 \(format): stdout \(result.stdout) stderr \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("no case C-404"), "\(format): \(result.stderr)")
        }
    }

    func testAnActorsTrailHasExactlyTheirEventsAcrossCasesInSeqOrder() throws {
        let one = CaseScript("C-1"), two = CaseScript("C-2")
        let events = [
            one.opened(), two.opened(),
            two.call(at: march(5), actor: "collector:x"),
            one.call(at: march(3), actor: "collector:x"),  // happened earlier, appended later: seq order still rules
            one.call(at: march(3), actor: "collector:y"),
            one.payment(10_000, at: march(4)),
            one.message(at: march(6), actor: "collector:x"),
            two.note("debtor asked for a call back", at: march(6), actor: "collector:xy"),
        ]
        let ledger = try LedgerFile(self)
        try ledger.record(events)

        let trail = try ledger.audit(["--actor", "collector:x"])
        let expected = events.enumerated().filter { $0.element.actor == "collector:x" }
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, expected.map { $0.element.id })
        XCTAssertEqual(trail.map { $0["seq"] as? Int }, expected.map { $0.offset + 1 })
        XCTAssertEqual(trail.map { $0["case_id"] as? String }, expected.map { $0.element.caseID })
        XCTAssertTrue(trail.allSatisfy { $0["actor"] as? String == "collector:x" })
        XCTAssertEqual(trail.map { $0["summary"] as? String }, [
            "x called the debtor (outbound): no answer, 0 s",
            "x called the debtor (outbound): no answer, 0 s",
            "x sent the debtor an SMS (reminder_1)",
        ])
    }

    func testFromAndToNarrowTheTrailComparingInstantsNotText() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        let first = c.call(at: march(2), actor: "collector:x")                         // 2 March 02:00 UTC
        let second = c.call(at: march(3), actor: "collector:x")                        // 3 March 02:00 UTC
        let third = c.call(at: "2024-03-03T23:30:00-05:00", actor: "collector:x")      // 4 March 04:30 UTC
        try ledger.record([c.opened(), first, second, third])

        // Both bounds name the second call's instant, in other offsets; both are inclusive.
        var trail = try ledger.audit(["--actor", "collector:x", "--from", "2024-03-02T21:00:00-05:00", "--to", "2024-03-03T02:00:00Z"])
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, [second.id])
        trail = try ledger.audit(["--actor", "collector:x", "--from", "2024-03-03T09:00:00+08:00"])
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, [second.id, third.id])
        trail = try ledger.audit(["--case", "C-1", "--to", "2024-03-04T12:30:00+08:00"])
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, [c.openingID, first.id, second.id, third.id])
        trail = try ledger.audit(["--case", "C-1", "--to", "2024-03-04T12:29:59+08:00"])
        XCTAssertEqual(trail.map { $0["event_id"] as? String }, [c.openingID, first.id, second.id])
    }

    func testTheSummaryIsASentence() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        try ledger.record([c.opened(), c.call(at: march(2)), c.payment(12_345, at: march(3))])
        let summaries = try ledger.audit(["--case", "C-1"]).compactMap { $0["summary"] as? String }
        XCTAssertEqual(summaries.count, 3)
        XCTAssertTrue(summaries[0].hasPrefix("intake opened the case: credit card, 10,000.00 CNY owed"), summaries[0])
        XCTAssertTrue(summaries[1].contains("called the debtor"), summaries[1])
        XCTAssertTrue(summaries[2].contains("received a payment of 123.45 CNY"), summaries[2])
    }

    func testCSVHasAHeaderAndQuotesFieldsWithCommasAndQuotes() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        let note = c.note(#"said "call me later", then hung up"#, at: march(2))
        try ledger.record([c.opened(), note])
        let openingSummary = try XCTUnwrap(try ledger.audit(["--case", "C-1"]).first?["summary"] as? String)
        XCTAssertTrue(openingSummary.contains(","), "the opening's summary should contain a comma: \(openingSummary)")

        let result = try ledger.run(["audit", "--case", "C-1", "--format", "csv"])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 4, result.stdout)  // header, two entries, the empty string after the final newline
        XCTAssertEqual(lines.first, "seq,event_id,case_id,type,occurred_at,local_time,recorded_at,actor,voided,violations,summary")
        XCTAssertTrue(lines[1].hasPrefix("1,\(c.openingID),C-1,case.opened,\(march(1, "09:00")),"), lines[1])
        XCTAssertTrue(lines[1].hasSuffix(#",system:intake,false,,"\#(openingSummary)""#), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("2,\(note.id),C-1,note.recorded,"), lines[2])
        XCTAssertTrue(lines[2].hasSuffix(#",false,,"zhang.wei noted: said ""call me later"", then hung up""#), lines[2])
    }

    func testAuditNeedsExactlyOneOfCaseAndActor() throws {
        let ledger = try LedgerFile(self)
        try ledger.record([CaseScript().opened()])
        for arguments in [["audit"], ["audit", "--case", "C-1", "--actor", "collector:x"]] {
            let result = try ledger.run(arguments + ["--json"])
            XCTAssertEqual(result.exitCode, 2, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("--case") && result.stderr.contains("--actor"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
    }

    // MARK: - Rebuilds and verify

    func testAnOlderProjectionVersionIsRebuiltOnTheNextRead() throws {
        let ledger = try LedgerFile(self)
        let events = Self.oneCaseOfEachKind()
        try ledger.record(events)
        let before = try ledger.run(["case", "list", "--json"])
        try ledger.sql("""
            UPDATE projections SET version = 0 WHERE name = 'case_state';
            UPDATE case_state SET status = 'closed', state = json_set(state, '$.calls', 999) WHERE case_id = 'C-PLAN';
            """)

        let show = try ledger.run(["case", "show", "C-PLAN", "--json"])
        XCTAssertEqual(show.exitCode, 0, show.stderr)
        XCTAssertTrue(show.stderr.contains("rebuilding projection case_state"), "stderr: \(show.stderr)")
        XCTAssertFalse(show.stderr.contains("rebuilding projection audit"), "only the stale projection is rebuilt: \(show.stderr)")
        XCTAssertEqual(try ledger.parse(show.stdout)["status"] as? String, "plan_active")
        XCTAssertEqual(try ledger.sql("SELECT status FROM case_state WHERE case_id = 'C-PLAN'"), "plan_active\n")
        XCTAssertEqual(try ledger.sql("SELECT name, version, checkpoint_seq FROM projections ORDER BY name"),
                       "audit|1|\(events.count)\ncase_index|2|\(events.count)\ncase_state|1|\(events.count)\ncomplaints|1|\(events.count)\ncompliance|2|\(events.count)\n")
        XCTAssertEqual(try ledger.run(["case", "list", "--json"]).stdout, before.stdout)

        let again = try ledger.run(["case", "show", "C-PLAN", "--json"])
        XCTAssertFalse(again.stderr.contains("rebuilding"), "a current projection is not rebuilt again: \(again.stderr)")
        try ledger.assertVerifies()
    }

    func testAStaleCheckpointIsRebuiltOnTheNextRead() throws {
        let ledger = try LedgerFile(self)
        let events = Self.oneCaseOfEachKind()
        try ledger.record(events)
        try ledger.sql("""
            UPDATE projections SET checkpoint_seq = 1 WHERE name = 'case_state';
            UPDATE case_state SET status = 'open', escalation = NULL WHERE case_id = 'C-LEGAL';
            """)
        let list = try ledger.run(["case", "list", "--escalation", "legal", "--json"])
        XCTAssertEqual(list.exitCode, 0, list.stderr)
        XCTAssertTrue(list.stderr.contains("rebuilding projection case_state"), "stderr: \(list.stderr)")
        XCTAssertEqual(try ledger.parseList(list.stdout).compactMap { $0["case_id"] as? String }, ["C-LEGAL"])
        XCTAssertEqual(try ledger.sql("SELECT version, checkpoint_seq FROM projections WHERE name = 'case_state'"), "1|\(events.count)\n")
        try ledger.assertVerifies()
    }

    func testVerifyCatchesACaseStateRowEditedByHand() throws {
        let ledger = try LedgerFile(self)
        try ledger.record(Self.oneCaseOfEachKind())
        try ledger.assertVerifies()
        try ledger.sql("UPDATE case_state SET status = 'closed' WHERE case_id = 'C-PROMISED'")
        let result = try ledger.run(["verify"])
        XCTAssertEqual(result.exitCode, 4, result.stderr)
        XCTAssertTrue(result.stderr.contains("case_state"), result.stderr)
        XCTAssertTrue(result.stderr.contains("C-PROMISED"), result.stderr)
    }

    /// verify compares a stored case state column by column, in place: an edit of any one column
    /// is caught and named, an escalation added or taken away as well as changed.
    func testVerifyNamesEachColumnOfACaseStateEditedByHand() throws {
        let ledger = try LedgerFile(self)
        try ledger.record(Self.oneCaseOfEachKind())
        let escalation = try ledger.sql("SELECT escalation FROM case_state WHERE case_id = 'C-LEGAL'").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(escalation.isEmpty, "C-LEGAL is escalated")
        let edits: [(column: String, caseID: String, edit: String, undo: String)] = [
            ("status", "C-PROMISED", "status = 'closed'", "status = 'promised'"),
            ("version", "C-PROMISED", "version = version + 1", "version = version - 1"),
            ("escalation", "C-PROMISED", "escalation = '\(escalation)'", "escalation = NULL"),
            ("escalation", "C-LEGAL", "escalation = NULL", "escalation = '\(escalation)'"),
            ("last_seq", "C-PROMISED", "last_seq = last_seq + 1", "last_seq = last_seq - 1"),
            ("state", "C-PROMISED", "state = state || ' '", "state = substr(state, 1, length(state) - 1)"),
            ("state", "C-PROMISED", "state = replace(state, '\"C-PROMISED\"', '\"C-PROMISEE\"')", "state = replace(state, '\"C-PROMISEE\"', '\"C-PROMISED\"')"),
        ]
        for (column, caseID, edit, undo) in edits {
            try ledger.assertVerifyFails(after: "UPDATE case_state SET \(edit) WHERE case_id = '\(caseID)'", saying: "case \(caseID) (\(column))",
                                         undo: "UPDATE case_state SET \(undo) WHERE case_id = '\(caseID)'")
        }
        try ledger.assertVerifies()
    }

    /// `case_index` is checked entry by entry: a reference edited or deleted names the case and
    /// the reference it is no longer found by, and an entry added is counted. A case opened
    /// without a region is found by its two references alone.
    func testVerifyNamesACaseNoLongerFoundByAnEditedReference() throws {
        let ledger = try LedgerFile(self)
        try ledger.record(Self.oneCaseOfEachKind())
        let regionless = CaseScript("C-NOREGION")
        try ledger.record([regionless.event("case.opened", at: march(1, "09:00"), actor: "system:intake", id: regionless.openingID, """
            {"debtor_ref":"D-2","account_ref":"A-2","product":"credit_card","currency":"CNY","principal_minor":100000,"due_date":"2024-01-31","debtor_timezone":"Asia/Shanghai"}
            """)])
        XCTAssertEqual(try ledger.sql("SELECT kind || ' ' || ref FROM case_index WHERE case_id = 'C-NOREGION' ORDER BY kind"),
                       "account_ref A-2\ndebtor_ref D-2\n")
        try ledger.assertVerifies()
        let edits: [(edit: String, undo: String, says: String)] = [
            ("UPDATE case_index SET ref = ref || 'x' WHERE case_id = 'C-PLAN' AND kind = 'account_ref'",
             "UPDATE case_index SET ref = substr(ref, 1, length(ref) - 1) WHERE case_id = 'C-PLAN' AND kind = 'account_ref'",
             "case C-PLAN is not found by its account_ref"),
            ("DELETE FROM case_index WHERE case_id = 'C-LEGAL' AND kind = 'region'",
             "INSERT INTO case_index (kind, ref, case_id) VALUES ('region', 'CN-SH', 'C-LEGAL')",
             "case C-LEGAL is not found by its region"),
            ("UPDATE case_index SET case_id = 'C-CLOSEE' WHERE case_id = 'C-CLOSED' AND kind = 'debtor_ref'",
             "UPDATE case_index SET case_id = 'C-CLOSED' WHERE case_id = 'C-CLOSEE'",
             "case C-CLOSED is not found by its debtor_ref"),
            ("UPDATE case_index SET ref = 'D-3' WHERE case_id = 'C-NOREGION' AND kind = 'debtor_ref'",
             "UPDATE case_index SET ref = 'D-2' WHERE case_id = 'C-NOREGION' AND kind = 'debtor_ref'",
             "case C-NOREGION is not found by its debtor_ref"),
            ("INSERT INTO case_index (kind, ref, case_id) VALUES ('region', 'CN-SH', 'C-NOREGION')",
             "DELETE FROM case_index WHERE case_id = 'C-NOREGION' AND kind = 'region'",
             "projection case_index holds"),
            ("INSERT INTO case_index (kind, ref, case_id) VALUES ('debtor_ref', 'D-9', 'C-OPEN')",
             "DELETE FROM case_index WHERE ref = 'D-9'",
             "projection case_index holds"),
        ]
        for (edit, undo, says) in edits {
            try ledger.assertVerifyFails(after: edit, saying: says, undo: undo)
            try ledger.assertVerifies()
        }
    }

    /// Violations are judged in the order contacts occurred, and a late-arriving contact has the
    /// higher seq: verify reads a case's stored violations in the order reports show them (seq,
    /// then as inserted) and puts the judged ones in that order too. Such a case verifies, and an
    /// edit to either violation, or the two rows' contents swapped, does not.
    func testVerifyComparesViolationsJudgedOutOfSeqOrderInTheOrderReportsShowThem() throws {
        let ledger = try LedgerFile(self)
        // 23:30 in Shanghai on 6 March (seq 2), then, arriving late, 23:30 on 5 March (seq 3).
        let script = CaseScript()
        try ledger.record([script.opened(), script.call(at: march(6, "23:30")), script.call(at: march(5, "23:30"))])
        let stored = try ledger.sql("SELECT seq FROM violations ORDER BY rowid").split(separator: "\n").map(String.init)
        XCTAssertGreaterThanOrEqual(stored.count, 2, "both calls break the contact hours")
        XCTAssertEqual(stored.first, "3", "the earlier contact, seq 3, is judged and stored first")
        XCTAssertEqual(stored.last, "2")
        try ledger.assertVerifies()

        for (edit, undo) in [("detail = detail || ' '", "detail = substr(detail, 1, length(detail) - 1)"),
                             ("local_time = local_time || 'x'", "local_time = substr(local_time, 1, length(local_time) - 1)")] {
            for seq in [2, 3] {
                try ledger.assertVerifyFails(after: "UPDATE violations SET \(edit) WHERE seq = \(seq)",
                                             saying: "projection compliance differs from a rebuild for case C-1",
                                             undo: "UPDATE violations SET \(undo) WHERE seq = \(seq)")
            }
        }
        try ledger.assertVerifies()
        // The same rows inserted again in seq order: every report lists them as before (by case,
        // seq, then insertion), so the projection is still the rebuild's.
        try ledger.sql("CREATE TABLE copy AS SELECT * FROM violations; DELETE FROM violations; INSERT INTO violations SELECT * FROM copy ORDER BY seq; DROP TABLE copy;")
        XCTAssertEqual(try ledger.sql("SELECT seq FROM violations ORDER BY rowid").split(separator: "\n").first, "2")
        try ledger.assertVerifies()
    }

    /// verify compares the projections on a second connection while it checks the chain. With
    /// both broken it reports the chain, as when one check ran after the other.
    func testVerifyReportsABrokenChainBeforeAnEditedProjection() throws {
        let ledger = try LedgerFile(self)
        try ledger.record(Self.oneCaseOfEachKind())
        try ledger.sql("UPDATE case_state SET status = 'closed' WHERE case_id = 'C-PROMISED'")
        try tamper(ledger.db, "UPDATE events SET actor = 'collector:someone.else' WHERE seq = 2", dropping: ["events_no_update"])
        let both = try ledger.run(["verify"])
        XCTAssertEqual(both.exitCode, 4, both.stderr)
        XCTAssertTrue(both.stderr.contains("seq 2") && both.stderr.contains("hash does not match"), both.stderr)
        XCTAssertFalse(both.stderr.contains("case_state"), "the chain's verdict, not the projection's: \(both.stderr)")
        // Each alone is caught: testVerifyCatchesACaseStateRowEditedByHand, and HashChainTests.
    }

    func testVerifyCatchesAVoidMissingFromTheAuditProjection() throws {
        let c = CaseScript()
        let ledger = try LedgerFile(self)
        let call = c.call(at: march(2))
        try ledger.record([c.opened(), call, c.void(call, at: march(3))])
        try ledger.assertVerifies()
        try ledger.sql("DELETE FROM audit_voids WHERE voided_event_id = '\(call.id)'")
        let result = try ledger.run(["verify"])
        XCTAssertEqual(result.exitCode, 4, result.stderr)
        XCTAssertTrue(result.stderr.contains("projection audit"), result.stderr)
        XCTAssertTrue(result.stderr.contains(call.id), result.stderr)
    }

    /// verify compares each void a rebuild makes with its stored row as it goes, and counts the
    /// rest: an edited row, and rows the log does not account for (a void of an event never
    /// voided, naming a real event as the voiding one or an invented one), are each caught.
    func testVerifyCatchesAVoidEditedOrAddedByHand() throws {
        let c = CaseScript()
        let call = c.call(at: march(2))
        let other = c.call(at: march(4))
        let void = c.void(call, at: march(3))
        let tampering: [(sql: String, expected: String)] = [
            ("UPDATE audit_voids SET reason = 'nothing happened' WHERE voided_event_id = '\(call.id)'",
             "the void of \(call.id) differs from a rebuild (reason)"),
            ("INSERT INTO audit_voids SELECT '\(other.id)', voiding_event_id, voiding_seq, actor, occurred_at, reason FROM audit_voids",
             "a void of \(other.id) is stored but not in the log"),
            ("INSERT INTO audit_voids VALUES ('\(other.id)', '018cc787-e060-7621-9315-f4921d2265e3', 3, 'x:y', '2026-03-04T10:00:00Z', 'r')",
             "a void of \(other.id) is stored but not in the log"),
        ]
        for (sql, expected) in tampering {
            let ledger = try LedgerFile(self)
            try ledger.record([c.opened(), call, void, other])
            try ledger.assertVerifies()
            try ledger.sql(sql)
            let result = try ledger.run(["verify"])
            XCTAssertEqual(result.exitCode, 4, "\(sql): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("projection audit: \(expected)"), "\(sql): \(result.stderr)")
        }
    }

    func testARebuildFromTheLogEqualsTheIncrementalProjections() throws {
        let ledger = try LedgerFile(self)
        let generated = try ledger.run(["generate", "--cases", "80", "--seed", "4"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let incremental = try ledger.run(["case", "list", "--json"])
        XCTAssertEqual(incremental.exitCode, 0, incremental.stderr)
        XCTAssertEqual(try ledger.parseList(incremental.stdout).count, 80)
        let dump = "SELECT * FROM case_state ORDER BY case_id; SELECT * FROM audit_voids ORDER BY voided_event_id;"
        let tablesBefore = try ledger.sql(dump)
        XCTAssertFalse(try ledger.sql("SELECT count(*) FROM audit_voids") == "0\n", "the portfolio should include voids")

        try ledger.sql("UPDATE projections SET version = 0")
        let rebuilt = try ledger.run(["case", "list", "--json"])
        XCTAssertEqual(rebuilt.exitCode, 0, rebuilt.stderr)
        XCTAssertTrue(rebuilt.stderr.contains("rebuilding projection case_state"), rebuilt.stderr)
        XCTAssertTrue(rebuilt.stderr.contains("rebuilding projection audit"), rebuilt.stderr)
        XCTAssertEqual(rebuilt.stdout, incremental.stdout)
        XCTAssertEqual(try ledger.sql(dump), tablesBefore, "the stored rows, fold state included, equal the incremental ones")
        try ledger.assertVerifies()
    }

    // MARK: - Fixtures

    /// Builds one case's events on a fresh ledger, checks its status, and returns its view.
    @discardableResult
    private func assertStatus(_ expected: String, after events: [Event], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let ledger = try LedgerFile(self)
        try ledger.record(events, file: file, line: line)
        let view = try ledger.show("C-1", file: file, line: line)
        XCTAssertEqual(view["status"] as? String, expected, "case C-1 after \(events.map(\.type))", file: file, line: line)
        return view
    }

    /// Seven cases: one per status, the escalated ones to supervisor and legal, and a closed case
    /// escalated to an agency beside one never escalated.
    private static func oneCaseOfEachKind() -> [Event] {
        let open = CaseScript("C-OPEN"), promised = CaseScript("C-PROMISED"), plan = CaseScript("C-PLAN")
        let supervisor = CaseScript("C-SUPERVISOR"), legal = CaseScript("C-LEGAL")
        let closedAgency = CaseScript("C-CLOSED-AGENCY"), closed = CaseScript("C-CLOSED")
        return [
            open.opened(), open.call(at: march(2)),
            promised.opened(), promised.promise(100_000, at: march(2)),
            plan.opened(), plan.offerPlan("P-1", installments: [300_000, 300_000], at: march(2)), plan.acceptPlan("P-1", at: march(3)),
            supervisor.opened(), supervisor.escalate(to: "supervisor", at: march(2)),
            legal.opened(), legal.escalate(to: "supervisor", at: march(2)), legal.escalate(to: "legal", at: march(3)),
            closedAgency.opened(), closedAgency.escalate(to: "agency", at: march(2)), closedAgency.close(reason: "transferred", at: march(3)),
            closed.opened(), closed.payment(1_005_000, at: march(2)), closed.close(reason: "paid_in_full", at: march(3)),
        ]
    }
}

/// 2024-03-`day` at `time` in Shanghai (+08:00).
private func march(_ day: Int, _ time: String = "10:00") -> String {
    "2024-03-\(day < 10 ? "0" : "")\(day)T\(time):00+08:00"
}

/// One event line, with what a test needs to know about it.
private struct Event {
    let id: String
    let caseID: String
    let type: String
    let actor: String
    let line: String
}

/// Builds the events of one case, each at the time given (`march(day)` reads best).
private struct CaseScript {
    let caseID: String
    let openingID = UUID().uuidString.lowercased()

    init(_ caseID: String = "C-1") { self.caseID = caseID }

    func event(_ type: String, at time: String, actor: String = "collector:zhang.wei", id: String = UUID().uuidString.lowercased(),
               _ data: String) -> Event {
        Event(id: id, caseID: caseID, type: type, actor: actor,
              line: Events.line(id: id, caseID: caseID, type: type, occurredAt: time, actor: actor, data: data))
    }

    /// Opened 1 March 09:00: 10 000.00 CNY principal plus fees.
    func opened(principal: Int = 1_000_000, fees: Int = 5_000) -> Event {
        event("case.opened", at: march(1, "09:00"), actor: "system:intake", id: openingID, """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"CNY","principal_minor":\(principal),"fees_minor":\(fees),"due_date":"2024-01-31","debtor_timezone":"Asia/Shanghai","region":"CN-SH"}
            """)
    }

    func call(at time: String, actor: String = "collector:zhang.wei") -> Event {
        event("call.placed", at: time, actor: actor, #"{"direction":"outbound","party":"debtor","outcome":"no_answer","duration_s":0}"#)
    }

    func message(at time: String, actor: String = "collector:zhang.wei") -> Event {
        event("message.sent", at: time, actor: actor, #"{"channel":"sms","party":"debtor","template":"reminder_1"}"#)
    }

    func note(_ text: String, at time: String, actor: String = "collector:zhang.wei") -> Event {
        let quoted = String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]), as: UTF8.self)
        return event("note.recorded", at: time, actor: actor, #"{"text":\#(quoted.dropFirst().dropLast())}"#)
    }

    func payment(_ amount: Int, at time: String) -> Event {
        event("payment.received", at: time, actor: "system:payments",
              #"{"amount_minor":\#(amount),"currency":"CNY","channel":"wechat","reference":"PAY-\#(amount)"}"#)
    }

    func promise(_ amount: Int, at time: String) -> Event {
        event("promise.made", at: time, #"{"amount_minor":\#(amount),"promised_date":"2024-03-31"}"#)
    }

    /// A monthly installment plan from 1 April whose total is the sum of `installments`.
    func offerPlan(_ planID: String, installments: [Int], at time: String) -> Event {
        let items = installments.enumerated().map { #"{"due_date":"2024-0\#($0.offset + 4)-01","amount_minor":\#($0.element)}"# }
        return event("plan.offered", at: time, """
            {"plan_id":"\(planID)","kind":"installments","installments":[\(items.joined(separator: ","))],"total_minor":\(installments.reduce(0, +))}
            """)
    }

    func acceptPlan(_ planID: String, at time: String) -> Event {
        event("plan.accepted", at: time, actor: "debtor:D-1", #"{"plan_id":"\#(planID)"}"#)
    }

    func escalate(to destination: String, at time: String) -> Event {
        event("case.escalated", at: time, actor: "supervisor:li.na", #"{"to":"\#(destination)","reason":"no contact"}"#)
    }

    func close(reason: String, at time: String) -> Event {
        event("case.closed", at: time, actor: "supervisor:li.na", #"{"reason":"\#(reason)"}"#)
    }

    func void(_ target: Event, at time: String) -> Event {
        event("entry.voided", at: time, actor: "supervisor:li.na", #"{"voids":"\#(target.id)","reason":"entered by mistake"}"#)
    }

    func restrict(_ restrictionID: String, until: String? = nil, at time: String) -> Event {
        let untilField = until.map { #","until":"\#($0)""# } ?? ""
        return event("contact.restricted", at: time, actor: "supervisor:li.na",
                     #"{"restriction_id":"\#(restrictionID)","kind":"no_calls","reason":"dispute"\#(untilField)}"#)
    }

    func liftRestriction(_ restrictionID: String, at time: String) -> Event {
        event("contact.restriction_lifted", at: time, actor: "supervisor:li.na", #"{"restriction_id":"\#(restrictionID)","reason":"dispute resolved"}"#)
    }

    func fileComplaint(_ complaintID: String, at time: String) -> Event {
        event("complaint.filed", at: time, actor: "system:complaints",
              #"{"complaint_id":"\#(complaintID)","channel":"phone","category":"contact_time","description":"called too late"}"#)
    }

    func resolveComplaint(_ complaintID: String, at time: String) -> Event {
        event("complaint.resolved", at: time, actor: "supervisor:li.na",
              #"{"complaint_id":"\#(complaintID)","finding":"upheld","remedy":"apology"}"#)
    }

    func bookVisit(_ visitID: String, at time: String) -> Event {
        event("visit.booked", at: time,
              #"{"visit_id":"\#(visitID)","scheduled_for":"2024-03-12T10:00:00+08:00","location":"home","booked_via":"call"}"#)
    }

    func completeVisit(_ visitID: String, at time: String) -> Event {
        event("visit.completed", at: time, actor: "visitor:wang.fang", #"{"visit_id":"\#(visitID)","outcome":"met_debtor"}"#)
    }

    func cancelVisit(_ visitID: String, at time: String) -> Event {
        event("visit.cancelled", at: time, #"{"visit_id":"\#(visitID)","reason":"debtor travelling"}"#)
    }
}

/// A ledger file in its own temporary folder, read through the binary's JSON output.
private final class LedgerFile {
    let folder: TemporaryFolder
    let db: String

    init(_ test: XCTestCase) throws {
        folder = try TemporaryFolder()
        db = try test.makeLedger(folder)
    }

    /// `caseledger arguments… --db <this file>`.
    func run(_ arguments: [String], stdin: String? = nil) throws -> CLI.Result {
        try CLI.run(arguments + ["--db", db], stdin: stdin)
    }

    func record(_ events: [Event], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(["append", "--json"], stdin: events.map(\.line).joined(separator: "\n") + "\n")
        XCTAssertEqual(result.exitCode, 0, "append refused: \(result.stderr)", file: file, line: line)
    }

    /// `case show ID --json`.
    func show(_ caseID: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try run(["case", "show", caseID, "--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr, file: file, line: line)
        return try parse(result.stdout)
    }

    /// `case list [filters…] --json`.
    func list(_ filters: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let result = try run(["case", "list"] + filters + ["--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr, file: file, line: line)
        return try parseList(result.stdout)
    }

    /// `audit arguments… --json`.
    func audit(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let result = try run(["audit"] + arguments + ["--json"])
        XCTAssertEqual(result.exitCode, 0, result.stderr, file: file, line: line)
        return try parseList(result.stdout)
    }

    func assertVerifies(file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(["verify"])
        XCTAssertEqual(result.exitCode, 0, "verify: \(result.stdout)\(result.stderr)", file: file, line: line)
    }

    /// Runs `edit` on the file, checks that verify then fails (exit 4) with `says` in its error,
    /// and runs `undo`.
    func assertVerifyFails(after edit: String, saying says: String, undo: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try sql(edit, file: file, line: line)
        let result = try run(["verify"])
        XCTAssertEqual(result.exitCode, 4, "\(edit): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(says), "\(edit): \(result.stderr)", file: file, line: line)
        try sql(undo, file: file, line: line)
    }

    /// Runs SQL on the file with the sqlite3 command line tool, as anyone with the file could; its output.
    @discardableResult
    func sql(_ statements: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        // Output goes through files: a table dump can outgrow a pipe's buffer.
        let outPath = folder.path("sqlite3.out"), errPath = folder.path("sqlite3.err")
        for path in [outPath, errPath] { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil), "cannot create \(path)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [db, statements]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let errors = try String(contentsOfFile: errPath, encoding: .utf8)
        XCTAssertEqual(process.terminationStatus, 0, "sqlite3: \(errors)", file: file, line: line)
        return try String(contentsOfFile: outPath, encoding: .utf8)
    }

    func parse(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "not a JSON object: \(json)")
    }

    func parseList(_ json: String) throws -> [[String: Any]] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]], "not a JSON array of objects: \(json)")
    }
}
