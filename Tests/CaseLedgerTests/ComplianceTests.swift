import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// docs/cli.md, docs/compliance.md, end to end: `caseledger compliance` and `caseledger evidence` through the real
/// binary on real SQLite files. Most tests write their own small rulebook (`--rules FILE`) so each
/// limit is exact, and put one contact just inside and one just outside it. Times are given in UTC
/// (`utc(…)`) wherever the debtor's own clock must be what decides; the comments give the debtor-local time.
final class ComplianceTests: XCTestCase {

    // MARK: - contact_hours

    func testContactHoursAreAHalfOpenWindowOnTheDebtorsClock() throws {
        let d = Debtor()  // Asia/Shanghai, UTC+8. Read in UTC, the window 09:00–20:00 would flag the wrong calls.
        let atStart = d.call(at: utc("2024-03-05 01:00"))        // 09:00 local: the first allowed minute
        let lastMinute = d.call(at: utc("2024-03-06 11:59"))     // 19:59 local
        let atEnd = d.call(at: utc("2024-03-07 12:00"))          // 20:00 local: the end is excluded
        let minuteEarly = d.call(at: utc("2024-03-08 00:59"))    // 08:59 local
        let midnight = d.call(at: utc("2024-03-08 16:00"))       // 00:00 local on 9 March
        let report = try judge([d.opened(), atStart, lastMinute, atEnd, minuteEarly, midnight],
                               under: ["contact_hours": ["start": "09:00", "end": "20:00"]])
        assertFlags(report, [("contact_hours", atEnd), ("contact_hours", minuteEarly), ("contact_hours", midnight)])

        let late = try XCTUnwrap(report.violation("contact_hours", on: atEnd))
        XCTAssertEqual(late["local_time"] as? String, "2024-03-07T20:00:00+08:00")
        XCTAssertEqual(late["rulebook"] as? String, "test-rules")
        XCTAssertEqual(late["case_id"] as? String, "C-1")
        XCTAssertEqual(late["actor"] as? String, "collector:zhang.wei")
        XCTAssertEqual(late["seq"] as? Int, 4)
        let detail = late["detail"] as? String ?? ""
        XCTAssertTrue(detail.contains("20:00") && detail.contains("09:00–20:00") && detail.contains("Asia/Shanghai"), detail)
        XCTAssertEqual(report.violation("contact_hours", on: minuteEarly)?["local_time"] as? String, "2024-03-08T08:59:00+08:00")
        XCTAssertEqual(report.json["mode"] as? String, "given")
        XCTAssertEqual(report.json["rulebooks"] as? [String], ["test-rules"])
    }

    func testContactHoursCoverMessagesAndCompletedVisitsButNotLettersOrInboundCalls() throws {
        let d = Debtor()
        let night = { (minute: Int) in utc("2024-03-05 14:\(minute < 10 ? "0" : "")\(minute)") }  // 22:mm in Shanghai
        let sms = d.message("sms", at: night(0)), email = d.message("email", at: night(1)), app = d.message("app", at: night(2))
        let letter = d.message("letter", at: night(3))
        let inbound = d.inboundCall(at: night(4))
        let booking = d.bookVisit("V-1", at: night(5))  // arranging a visit is not a contact
        let visit = d.visit("V-1", at: night(6))
        let call = d.call(at: night(7))
        let daytimeSMS = d.message("sms", at: utc("2024-03-06 02:00"))  // 10:00 local
        let report = try judge([d.opened(), sms, email, app, letter, inbound, booking, visit, call, daytimeSMS],
                               under: ["contact_hours": ["start": "09:00", "end": "20:00"]])
        assertFlags(report, [("contact_hours", sms), ("contact_hours", email), ("contact_hours", app),
                             ("contact_hours", visit), ("contact_hours", call)])
    }

    func testDaylightSavingNightsInNewYorkAreReadWithTheZoneRules() throws {
        let d = Debtor("C-NY", zone: "America/New_York", region: "US-NY")
        // Fall back, 3 Nov 2024 06:00 UTC (02:00 EDT → 01:00 EST).
        let fallEvening = d.call(at: utc("2024-11-03 01:30"))      // Sat 2 Nov 21:30 EDT (a fixed -05:00 reads 20:30)
        let fallMorning = d.call(at: utc("2024-11-03 12:30"))      // Sun 3 Nov 07:30 EST (a fixed -04:00 reads 08:30)
        let fallNextEvening = d.call(at: utc("2024-11-04 01:30"))  // Sun 3 Nov 20:30 EST (a fixed -04:00 reads 21:30)
        // Spring forward, 10 Mar 2024 07:00 UTC (02:00 EST → 03:00 EDT).
        let springEve = d.call(at: utc("2024-03-10 01:30"))        // Sat 9 Mar 20:30 EST (a fixed -04:00 reads 21:30)
        let springEarly = d.call(at: utc("2024-03-10 11:59"))      // Sun 10 Mar 07:59 EDT
        let springOpening = d.call(at: utc("2024-03-10 12:00"))    // Sun 10 Mar 08:00 EDT (a fixed -05:00 reads 07:00)
        let springNight = d.call(at: utc("2024-03-11 01:00"))      // Sun 10 Mar 21:00 EDT (a fixed -05:00 reads 20:00)
        let report = try judge([d.opened(), fallEvening, fallMorning, fallNextEvening, springEve, springEarly, springOpening, springNight],
                               under: ["contact_hours": ["start": "08:00", "end": "21:00"]])
        assertFlags(report, [("contact_hours", fallEvening), ("contact_hours", fallMorning),
                             ("contact_hours", springEarly), ("contact_hours", springNight)])
        let expectedLocalTimes = [
            (fallEvening, "2024-11-02T21:30:00-04:00"), (fallMorning, "2024-11-03T07:30:00-05:00"),
            (springEarly, "2024-03-10T07:59:00-04:00"), (springNight, "2024-03-10T21:00:00-04:00"),
        ]
        for (event, local) in expectedLocalTimes {
            XCTAssertEqual(report.violation("contact_hours", on: event)?["local_time"] as? String, local, event.label)
        }
    }

    func testLocalDaysFollowTheClockChangesTwentyFiveAndTwentyThreeHoursLong() throws {
        let d = Debtor("C-NY", zone: "America/New_York", region: "US-NY")
        let fallFirst = d.call(at: utc("2024-11-03 04:30"))      // Sun 3 Nov 00:30 EDT
        let fallSecond = d.call(at: utc("2024-11-04 04:30"))     // Sun 3 Nov 23:30 EST: 24 h later, the same local day
        let fallNextDay = d.call(at: utc("2024-11-04 05:00"))    // Mon 4 Nov 00:00 EST
        let springEve = d.call(at: utc("2024-03-10 04:59"))      // Sat 9 Mar 23:59 EST
        let springFirst = d.call(at: utc("2024-03-10 05:00"))    // Sun 10 Mar 00:00 EST
        let springSecond = d.call(at: utc("2024-03-11 03:59"))   // Sun 10 Mar 23:59 EDT
        let springNextDay = d.call(at: utc("2024-03-11 04:00"))  // Mon 11 Mar 00:00 EDT (a fixed -05:00 reads 10 Mar 23:00)
        let report = try judge([d.opened(), fallFirst, fallSecond, fallNextDay, springEve, springFirst, springSecond, springNextDay],
                               under: ["max_calls_per_day": 1])
        assertFlags(report, [("calls_per_day", fallSecond), ("calls_per_day", springSecond)])
        let fall = try XCTUnwrap(report.violation("calls_per_day", on: fallSecond))
        XCTAssertEqual(fall["local_time"] as? String, "2024-11-03T23:30:00-05:00")
        XCTAssertTrue((fall["detail"] as? String ?? "").contains("2nd outbound call on 2024-11-03"), "\(fall)")
        let spring = try XCTUnwrap(report.violation("calls_per_day", on: springSecond))
        XCTAssertEqual(spring["local_time"] as? String, "2024-03-10T23:59:00-04:00")
        XCTAssertTrue((spring["detail"] as? String ?? "").contains("2024-03-10"), "\(spring)")
    }

    // MARK: - Call frequency

    func testTheFourthAndFifthCallOfALocalDayBreakAThreeCallLimit() throws {
        let d = Debtor()  // 5 March in Shanghai runs from 4 March 16:00 to 5 March 16:00 UTC.
        let first = d.call(at: utc("2024-03-05 01:00"), outcome: "no_answer")        // 09:00
        let second = d.call(at: utc("2024-03-05 02:00"), outcome: "connected")       // 10:00
        let inbound = d.inboundCall(at: utc("2024-03-05 02:30"))                     // never counts
        let sms = d.message("sms", at: utc("2024-03-05 02:45"))                      // not a call
        let third = d.call(at: utc("2024-03-05 03:00"), outcome: "voicemail")        // 11:00: the third, allowed
        let fourth = d.call(at: utc("2024-03-05 04:00"), outcome: "refused")         // 12:00
        let fifth = d.call(at: utc("2024-03-05 05:00"), outcome: "wrong_number", actor: "system:dialer")  // 13:00
        let lastMinute = d.call(at: utc("2024-03-05 15:59"))                         // 23:59 on 5 March: the sixth
        let midnight = d.call(at: utc("2024-03-05 16:00"))                           // 00:00 on 6 March: a new day
        let nextDay = [d.call(at: utc("2024-03-05 16:01")), d.call(at: utc("2024-03-06 15:59"))]  // 6 March 00:01 and 23:59
        let report = try judge([d.opened(), first, second, inbound, sms, third, fourth, fifth, lastMinute, midnight] + nextDay,
                               under: ["max_calls_per_day": 3])
        assertFlags(report, [("calls_per_day", fourth), ("calls_per_day", fifth), ("calls_per_day", lastMinute)])
        XCTAssertTrue((report.violation("calls_per_day", on: fourth)?["detail"] as? String ?? "").contains("4th outbound call on 2024-03-05"))
        XCTAssertTrue((report.violation("calls_per_day", on: fifth)?["detail"] as? String ?? "").contains("5th outbound call on 2024-03-05"))
        XCTAssertEqual(report.byRule, ["calls_per_day": 3])
        XCTAssertEqual(report.byActor, ["collector:zhang.wei": 2, "system:dialer": 1])
    }

    func testOnlyOutboundConnectedCallsCountTowardTheConnectedLimit() throws {
        let d = Debtor()
        let talk = d.call(at: shanghai("2024-03-05 09:00"), outcome: "connected")
        let attempt = d.call(at: shanghai("2024-03-05 10:00"))
        let inbound = d.inboundCall(at: shanghai("2024-03-05 11:00"), outcome: "connected")
        let secondTalk = d.call(at: shanghai("2024-03-05 12:00"), outcome: "connected")
        let nextDayTalk = d.call(at: utc("2024-03-05 16:00"), outcome: "connected")  // 00:00 on 6 March
        let report = try judge([d.opened(), talk, attempt, inbound, secondTalk, nextDayTalk], under: ["max_connected_calls_per_day": 1])
        assertFlags(report, [("calls_per_day", secondTalk)])
        XCTAssertTrue((report.violation("calls_per_day", on: secondTalk)?["detail"] as? String ?? "").contains("2nd connected call"))
    }

    /// "Seven consecutive days": the contact's own debtor-local day and the six before it, whatever the hour.
    func testTheSevenDayCapCountsSevenConsecutiveLocalDaysNotSevenTimesTwentyFourHours() throws {
        let d = Debtor("C-WEEK")
        let week = (1...7).map { d.call(at: shanghai("2024-03-0\($0) 23:00")) }          // one a day, late evening
        let eighthSameWeek = d.call(at: shanghai("2024-03-07 23:30"))                   // days 1–7: the eighth
        let nextMorning = d.call(at: shanghai("2024-03-08 09:00"))                      // days 2–8: 6 + 1 + this = 8
        let twoDaysLater = d.call(at: shanghai("2024-03-10 09:00"))                     // days 4–10: 4 + 1 + 1 + this = 7
        let report = try judge([d.opened()] + week + [eighthSameWeek, nextMorning, twoDaysLater], under: ["max_calls_per_7_days": 7])
        assertFlags(report, [("calls_per_7_days", eighthSameWeek), ("calls_per_7_days", nextMorning)])
        let detail = report.violation("calls_per_7_days", on: eighthSameWeek)?["detail"] as? String ?? ""
        XCTAssertTrue(detail.contains("8th") && detail.contains("2024-03-01–2024-03-07"), detail)
        XCTAssertEqual(report.violation("calls_per_7_days", on: nextMorning)?["limit"] as? String, "max_calls_per_7_days")
    }

    /// A rulebook can count text messages toward its caps (Massachusetts counts calls and texts).
    func testACapCountsTheChannelsItsRulebookNames() throws {
        let d = Debtor("C-TEXTS")
        let call = d.call(at: shanghai("2024-03-05 10:00"))
        let sms = d.message("sms", at: shanghai("2024-03-05 11:00"))
        let letter = d.message("letter", at: shanghai("2024-03-05 12:00"))
        let secondSms = d.message("sms", at: shanghai("2024-03-06 11:00"))
        let events = [d.opened(), call, sms, letter, secondSms]
        XCTAssertEqual(try judge(events, under: ["max_calls_per_7_days": 2]).flags(), [])
        let texts = try judge(events, under: ["max_calls_per_7_days": 2, "frequency_channels": ["call", "sms"]])
        assertFlags(texts, [("calls_per_7_days", secondSms)])
        XCTAssertTrue((texts.violation("calls_per_7_days", on: secondSms)?["detail"] as? String ?? "").contains("3rd contact (sms)"))
    }

    /// A rulebook binding only agencies judges only agencies' contacts, and counts only theirs.
    func testARulebookForAgenciesJudgesOnlyAgencyContacts() throws {
        let d = Debtor("C-AGENCY")
        let collector = d.call(at: shanghai("2024-03-05 23:00"))
        let agency = d.call(at: shanghai("2024-03-05 23:10"), actor: "agency:huadong-recovery")
        // Each again, in turn: each actor's answer is its own however the two alternate.
        let collectorAgain = d.call(at: shanghai("2024-03-05 23:20"))
        let agencyAgain = d.call(at: shanghai("2024-03-05 23:30"), actor: "agency:huadong-recovery")
        let report = try judge([d.opened(), collector, agency, collectorAgain, agencyAgain],
                               under: ["contact_hours": ["start": "08:00", "end": "21:00"], "actor_kinds": ["agency"]])
        assertFlags(report, [("contact_hours", agency), ("contact_hours", agencyAgain)])
        XCTAssertEqual(report.summary["contacts_judged"] as? Int, 2)
        XCTAssertEqual(report.summary["contacts_not_judged"] as? Int, 2)
    }

    // MARK: - quiet_after_conversation

    func testAConversationWithTheDebtorStartsSevenQuietDaysCountingItsOwnDay() throws {
        let outbound = Debtor("C-OUT"), inbound = Debtor("C-IN"), thirdParty = Debtor("C-THIRD")
        let talk = outbound.call(at: shanghai("2024-03-05 10:00"), outcome: "connected")     // day 1: 5 March
        let daySeven = outbound.call(at: utc("2024-03-11 15:59"))                            // 11 March 23:59 local: day 7
        let dayEight = outbound.call(at: utc("2024-03-11 16:00"))                            // 12 March 00:00 local: day 8
        let inboundTalk = inbound.inboundCall(at: shanghai("2024-03-05 10:00"), outcome: "connected")
        let inboundDay7 = inbound.call(at: shanghai("2024-03-11 10:00"))
        let inboundDay8 = inbound.call(at: shanghai("2024-03-12 10:00"))
        let thirdPartyTalk = thirdParty.call(at: shanghai("2024-03-05 10:00"), outcome: "connected", party: "third_party")
        let afterThirdParty = thirdParty.call(at: shanghai("2024-03-06 10:00"))
        let report = try judge([outbound.opened(), talk, daySeven, dayEight,
                                inbound.opened(), inboundTalk, inboundDay7, inboundDay8,
                                thirdParty.opened(), thirdPartyTalk, afterThirdParty],
                               under: ["quiet_days_after_conversation": 7])
        assertFlags(report, [("quiet_after_conversation", daySeven), ("quiet_after_conversation", inboundDay7)])
        let detail = report.violation("quiet_after_conversation", on: daySeven)?["detail"] as? String ?? ""
        XCTAssertTrue(detail.contains("day 7") && detail.contains("2024-03-05"), detail)
    }

    // MARK: - visit_without_booking

    func testAVisitNeedsABookingThatHappenedBeforeIt() throws {
        let d = Debtor()
        let ledger = try ComplianceLedger(self)
        let rules = try ledger.rulebook(["visits_require_booking": true])
        let booked = d.visit("V-1", at: shanghai("2024-03-05 10:00"))
        let unbooked = d.visit("V-2", at: shanghai("2024-03-05 11:00"))         // V-1's booking does not cover V-2
        let bookedAfter = d.visit("V-3", at: shanghai("2024-03-05 12:00"))      // its booking, appended first, is dated an hour later
        let bookedAfterLate = d.visit("V-4", at: shanghai("2024-03-05 14:00"))  // its booking arrives in a later batch, dated later
        try ledger.record([d.opened(), d.bookVisit("V-1", at: shanghai("2024-03-04 10:00")), booked, unbooked,
                           d.bookVisit("V-3", at: shanghai("2024-03-05 13:00")), bookedAfter, bookedAfterLate])
        let expected = [("visit_without_booking", unbooked), ("visit_without_booking", bookedAfter), ("visit_without_booking", bookedAfterLate)]
        let report = try ledger.compliance(rules: rules)
        assertFlags(report, expected)
        XCTAssertTrue((report.violation("visit_without_booking", on: unbooked)?["detail"] as? String ?? "").contains("V-2"))

        // Append may refuse a booking of a visit already completed; either way it does not make the visit booked.
        try ledger.record([d.bookVisit("V-4", at: shanghai("2024-03-06 09:00"))], mayBeRefused: true)
        assertFlags(try ledger.compliance(rules: rules), expected)
    }

    // MARK: - contact_during_restriction

    func testEachRestrictionKindStopsTheContactsItCovers() throws {
        let everything: Set<String> = ["call", "sms", "home visit", "workplace visit"]
        let kinds: [(kind: String, covers: Set<String>)] = [
            ("cease_all", everything), ("dispute_hold", everything), ("hardship_hold", everything),
            ("no_calls", ["call"]), ("no_visits", ["home visit", "workplace visit"]), ("no_workplace_contact", ["workplace visit"]),
        ]
        let ledger = try ComplianceLedger(self)
        var expected: [String: [(String, LedgerEvent)]] = [:]
        for (kind, covers) in kinds {
            let d = Debtor("C-\(kind)")
            let contacts: [(name: String, event: LedgerEvent)] = [
                ("call", d.call(at: shanghai("2024-03-05 10:00"))),
                ("sms", d.message("sms", at: shanghai("2024-03-05 10:30"))),
                ("inbound call", d.inboundCall(at: shanghai("2024-03-05 11:00"))),  // never a breach
                ("home visit", d.visit("V-HOME", at: shanghai("2024-03-05 12:00"))),
                ("workplace visit", d.visit("V-WORK", at: shanghai("2024-03-05 13:00"))),
            ]
            try ledger.record([
                d.opened(),
                d.bookVisit("V-HOME", location: "home", at: shanghai("2024-03-04 10:00")),
                d.bookVisit("V-WORK", location: "workplace", at: shanghai("2024-03-04 10:00")),
                d.call(at: shanghai("2024-03-05 08:59")),  // before the restriction
                d.restrict("R-\(kind)", kind, at: shanghai("2024-03-05 09:00")),
            ] + contacts.map(\.event))
            expected[d.caseID] = contacts.filter { covers.contains($0.name) }.map { ("contact_during_restriction", $0.event) }
        }
        let report = try ledger.compliance(rules: try ledger.rulebook(["honour_restrictions": true]))
        for (kind, _) in kinds {
            assertFlags(report.only(case: "C-\(kind)"), expected["C-\(kind)"]!, "restriction kind \(kind)")
        }
        let detail = report.only(case: "C-no_calls").violations.first?["detail"] as? String ?? ""
        XCTAssertTrue(detail.contains("R-no_calls") && detail.contains("no calls"), detail)
        let workplace = report.only(case: "C-no_workplace_contact").violations.first?["detail"] as? String ?? ""
        XCTAssertTrue(workplace.contains("(no workplace contact)"), workplace)

        let ignored = try ledger.compliance(rules: try ledger.rulebook(["honour_restrictions": false], id: "ignore-restrictions"))
        XCTAssertEqual(ignored.flags(), [], "honour_restrictions false checks nothing")
    }

    func testARestrictionStopsWhenLiftedPastItsUntilOrVoided() throws {
        let lifted = Debtor("C-LIFTED"), timed = Debtor("C-UNTIL"), expired = Debtor("C-EXPIRED"), voided = Debtor("C-VOIDED")
        let beforeLift = lifted.call(at: shanghai("2024-03-05 10:00"))
        let afterLift = lifted.call(at: shanghai("2024-03-05 10:31"))
        let beforeUntil = timed.call(at: shanghai("2024-03-05 11:59"))
        let atUntil = timed.call(at: utc("2024-03-05 04:00"))  // 12:00 in Shanghai: the until, given in UTC
        let afterExpiry = expired.message("sms", at: shanghai("2024-03-05 10:00"))
        let mistaken = voided.restrict("R-4", "cease_all", at: shanghai("2024-03-05 09:00"))
        let afterVoidedRestriction = voided.call(at: shanghai("2024-03-05 10:00"))
        let report = try judge([
            lifted.opened(), lifted.restrict("R-1", "cease_all", at: shanghai("2024-03-05 09:00")), beforeLift,
            lifted.lift("R-1", at: shanghai("2024-03-05 10:30")), afterLift,
            timed.opened(), timed.restrict("R-2", "no_calls", until: shanghai("2024-03-05 12:00"), at: shanghai("2024-03-05 09:00")),
            beforeUntil, atUntil,
            expired.opened(), expired.restrict("R-3", "cease_all", until: shanghai("2024-03-03 00:00"), at: shanghai("2024-03-01 09:00")),
            afterExpiry,
            voided.opened(), mistaken, voided.void(mistaken, reason: "recorded on the wrong case", at: shanghai("2024-03-05 09:30")),
            afterVoidedRestriction,
        ], under: ["honour_restrictions": true])
        assertFlags(report, [("contact_during_restriction", beforeLift), ("contact_during_restriction", beforeUntil)])
    }

    // MARK: - third_party_contact

    func testCallsAndMessagesToAnyoneButTheDebtorBreakAForbidRule() throws {
        let d = Debtor()
        let callThirdParty = d.call(at: shanghai("2024-03-05 10:00"), party: "third_party")
        let smsEmergency = d.message("sms", at: shanghai("2024-03-05 10:10"), party: "emergency_contact")
        let callEmergency = d.call(at: shanghai("2024-03-05 10:20"), outcome: "connected", party: "emergency_contact")
        let fromThirdParty = d.inboundCall(at: shanghai("2024-03-05 10:30"), party: "third_party")
        let toDebtor = [d.call(at: shanghai("2024-03-05 10:40")), d.message("email", at: shanghai("2024-03-05 10:50"))]
        let ledger = try ComplianceLedger(self)
        try ledger.record([d.opened(), callThirdParty, smsEmergency, callEmergency, fromThirdParty] + toDebtor)

        let forbidden = try ledger.compliance(rules: try ledger.rulebook(["third_party_contact": "forbid"]))
        assertFlags(forbidden, [("third_party_contact", callThirdParty), ("third_party_contact", smsEmergency),
                                ("third_party_contact", callEmergency)])
        XCTAssertTrue((forbidden.violation("third_party_contact", on: smsEmergency)?["detail"] as? String ?? "").contains("emergency contact"))
        XCTAssertEqual(try ledger.compliance(rules: try ledger.rulebook(["third_party_contact": "allow"], id: "allow")).flags(), [])
        XCTAssertEqual(try ledger.compliance(rules: try ledger.rulebook([:], id: "unset")).flags(), [])
    }

    // MARK: - Late-arriving and voided events

    func testLateArrivingCallsAreJudgedInOccurredAtOrder() throws {
        let d = Debtor()
        let ledger = try ComplianceLedger(self)
        let rules = try ledger.rulebook(["max_calls_per_day": 3])
        let at16 = d.call(at: shanghai("2024-03-05 16:00")), at09 = d.call(at: shanghai("2024-03-05 09:00"))
        let at11 = d.call(at: shanghai("2024-03-05 11:00")), at13 = d.call(at: shanghai("2024-03-05 13:00"))
        let at18 = d.call(at: shanghai("2024-03-05 18:00"))
        // Appended 16:00, 09:00, 11:00, 13:00 (the 4th appended, 3rd by time), then 18:00.
        try ledger.record([d.opened(), at16, at09])
        try ledger.record([at11, at13, at18])
        let report = try ledger.compliance(rules: rules)
        assertFlags(report, [("calls_per_day", at16), ("calls_per_day", at18)])
        XCTAssertTrue((report.violation("calls_per_day", on: at16)?["detail"] as? String ?? "").contains("4th"))
        XCTAssertTrue((report.violation("calls_per_day", on: at18)?["detail"] as? String ?? "").contains("5th"))
    }

    func testTheInForceProjectionRejudgesTheDayWhenALateCallArrives() throws {
        let d = Debtor("C-1", region: "CN")  // cn-bank-policy-2025 from 1 July 2025: three calls a day
        let ledger = try ComplianceLedger(self)
        let at09 = d.call(at: shanghai("2025-07-02 09:00")), at11 = d.call(at: shanghai("2025-07-02 11:00"))
        let at13 = d.call(at: shanghai("2025-07-02 13:00")), at16 = d.call(at: shanghai("2025-07-02 16:00"))
        try ledger.record([d.opened(at: shanghai("2025-06-01 09:00")), at09, at11, at13, at16])
        let before = try ledger.compliance()
        XCTAssertEqual(before.json["mode"] as? String, "in_force")
        assertFlags(before, [("calls_per_day", "cn-bank-policy-2025", at16)])

        let at10 = d.call(at: shanghai("2025-07-02 10:00"))  // arrives in a second batch, dated before the others
        try ledger.record([at10])
        let after = try ledger.compliance()
        assertFlags(after, [("calls_per_day", "cn-bank-policy-2025", at13), ("calls_per_day", "cn-bank-policy-2025", at16)])
        XCTAssertTrue((after.violation("calls_per_day", on: at13)?["detail"] as? String ?? "").contains("4th"))
        XCTAssertTrue((after.violation("calls_per_day", on: at16)?["detail"] as? String ?? "").contains("5th"))
        XCTAssertEqual(try ledger.compliance(caseID: "C-1").flags(rulebooks: true), after.flags(rulebooks: true),
                       "the stored projection and a judgement of the case from its log agree")
        try ledger.assertVerifies()
    }

    func testAVoidedCallNeverCountsAndIsListedAsANotice() throws {
        let d = Debtor("C-1", region: "CN")  // in force: cn-bank-policy-2025, three calls a day
        let ledger = try ComplianceLedger(self)
        let rules = try ledger.rulebook(["max_calls_per_day": 3])
        let calls = ["09:00", "11:00", "13:00", "15:00"].map { d.call(at: shanghai("2025-07-02 \($0)")) }
        try ledger.record([d.opened(at: shanghai("2025-06-01 09:00"))] + calls)
        assertFlags(try ledger.compliance(rules: rules), [("calls_per_day", calls[3])])
        assertFlags(try ledger.compliance(), [("calls_per_day", "cn-bank-policy-2025", calls[3])])

        let void = d.void(calls[1], reason: "logged twice by the dialer", at: shanghai("2025-07-03 09:00"), actor: "supervisor:li.na")
        try ledger.record([void])
        for (mode, report) in [("--rules", try ledger.compliance(rules: rules)), ("in force", try ledger.compliance()),
                               ("in force, one case", try ledger.compliance(caseID: "C-1"))] {
            XCTAssertEqual(report.flags(), [], "\(mode): the call after the voided one is the 3rd of the day")
            XCTAssertEqual(report.summary["notices"] as? Int, 1, mode)
            XCTAssertEqual(report.notices.count, 1, "\(mode): \(report.text)")
            guard let notice = report.notices.first else { continue }
            XCTAssertEqual(notice["event_id"] as? String, calls[1].id, mode)
            XCTAssertEqual(notice["type"] as? String, "call.placed", mode)
            XCTAssertEqual(notice["case_id"] as? String, "C-1", mode)
            XCTAssertEqual(notice["actor"] as? String, "collector:zhang.wei", mode)
            XCTAssertEqual(notice["local_time"] as? String, "2025-07-02T11:00:00+08:00", mode)
            let by = notice["voided_by"] as? [String: Any] ?? [:]
            XCTAssertEqual(by["event_id"] as? String, void.id, mode)
            XCTAssertEqual(by["seq"] as? Int, 6, mode)
            XCTAssertEqual(by["actor"] as? String, "supervisor:li.na", mode)
            XCTAssertEqual(by["occurred_at"] as? String, shanghai("2025-07-03 09:00"), mode)
            XCTAssertEqual(by["reason"] as? String, "logged twice by the dialer", mode)
        }
        try ledger.assertVerifies()
    }

    // MARK: - The rulebook in force

    /// Every rulebook in force judges at once, on the debtor's local date; a later law never
    /// silently replaces the bank's stricter policy; only `supersedes` replaces a rulebook.
    func testEveryRulebookInForceJudgesOnTheDebtorsLocalDate() throws {
        let june = Debtor("C-JUNE", region: "CN"), july = Debtor("C-JULY", region: "CN"), cba = Debtor("C-2026", region: "CN-GD")
        let juneNight = june.call(at: utc("2025-06-30 13:30"))          // 30 June 21:30: the group policy (08:30–20:00)
        let julyMidnight = july.call(at: utc("2025-06-30 16:30"))       // 1 July 00:30 local, still 30 June in UTC
        let julyNight = july.call(at: utc("2025-07-01 13:30"))          // 1 July 21:30: the CN policy, which supersedes the group's
        let bankOnly = cba.call(at: utc("2026-01-30 13:30"))            // 30 Jan 2026 21:30: the CBA allows it, the bank does not
        let cbaLate = cba.call(at: utc("2026-01-30 14:00"))             // 30 Jan 2026 22:00: the bank, the standard and the CBA
        let ledger = try ComplianceLedger(self)
        try ledger.record([june.opened(at: utc("2025-06-01 01:00")), juneNight,
                           july.opened(at: utc("2025-06-01 01:00")), julyMidnight, julyNight,
                           cba.opened(at: utc("2026-01-01 01:00")), bankOnly, cbaLate])
        let report = try ledger.compliance()
        assertFlags(report, [("contact_hours", "demo-bank-policy-2024", juneNight),
                             ("contact_hours", "cn-bank-policy-2025", julyMidnight), ("contact_hours", "cn-gbt-45251-2025", julyMidnight),
                             ("contact_hours", "cn-bank-policy-2025", julyNight),
                             ("contact_hours", "cn-bank-policy-2025", bankOnly),
                             ("contact_hours", "cn-bank-policy-2025", cbaLate), ("contact_hours", "cn-cba-2026", cbaLate),
                             ("contact_hours", "cn-gbt-45251-2025", cbaLate)])
        XCTAssertEqual(report.violation("contact_hours", on: julyMidnight)?["local_time"] as? String, "2025-07-01T00:30:00+08:00")
        XCTAssertEqual(report.summary["contacts_not_judged"] as? Int, 0)
        XCTAssertEqual(try ledger.compliance(caseID: "C-JULY").flags(rulebooks: true), report.only(case: "C-JULY").flags(rulebooks: true))
    }

    /// A contact no rulebook is in force for is not judged, and says why: never a silent "no violation".
    func testAContactNoRulebookIsInForceForIsNotJudgedAndSaysWhy() throws {
        let uk = Debtor("C-GB", zone: "Europe/London", region: "GB")
        let early = uk.call(at: utc("2023-12-31 23:30"))                // before the group policy took effect
        let later = uk.call(at: utc("2024-01-01 23:30"))
        let ledger = try ComplianceLedger(self)
        try ledger.record([uk.opened(at: utc("2023-12-01 10:00")), early, later])
        let report = try ledger.compliance()
        assertFlags(report, [("contact_hours", "demo-bank-policy-2024", later)])
        XCTAssertEqual(report.summary["contacts_judged"] as? Int, 1)
        XCTAssertEqual(report.summary["contacts_not_judged"] as? Int, 1)
        let text = try ledger.run(["compliance"]).stdout
        XCTAssertTrue(text.contains("contacts judged: 1 of 2; not judged: 1"), text)

        let alone = try ComplianceLedger(self)
        try alone.record([uk.opened(at: utc("2023-12-01 10:00")), early])
        let none = try alone.compliance()
        XCTAssertEqual((none.summary["not_judged_cases"] as? [[String: Any]])?.first?["reason"] as? String,
                       "not judged: no rulebook in force for GB on 2023-12-31")
    }

    func testMassachusettsCountsCallsAndTextsAndRegulationFJudgesTheAgencies() throws {
        let ma = Debtor("C-MA", zone: "America/New_York", region: "US-MA")
        let first = ma.call(at: utc("2025-10-10 14:00"))                                   // 10:00 EDT
        let text = ma.message("sms", at: utc("2025-10-11 14:00"))
        let third = ma.call(at: utc("2025-10-12 14:00"))                                   // the third call or text in 7 days
        let agencyLate = ma.call(at: utc("2025-10-14 01:30"), actor: "agency:bay-state-recovery") // 13 Oct 21:30 EDT
        let ledger = try ComplianceLedger(self)
        try ledger.record([ma.opened(at: utc("2025-09-01 14:00")), first, text, third, agencyLate])
        let report = try ledger.compliance()
        XCTAssertEqual(Set(report.flags(rulebooks: true)), Set([
            "calls_per_7_days [us-ma-940cmr7]: \(third.label)",
            "calls_per_7_days [us-ma-940cmr7]: \(agencyLate.label)",
            "contact_hours [demo-bank-policy-2024]: \(agencyLate.label)",
            "contact_hours [us-ma-940cmr7]: \(agencyLate.label)",
            "contact_hours [us-reg-f-2021]: \(agencyLate.label)",
        ]))
        XCTAssertEqual(report.violation("contact_hours", on: agencyLate)?["local_time"] as? String, "2025-10-13T21:30:00-04:00")
    }

    // MARK: - Errors and verification

    func testABadRulebookFileOrUnknownCaseExitsOneWithAClearMessage() throws {
        let ledger = try ComplianceLedger(self)
        let d = Debtor()
        try ledger.record([d.opened(), d.call(at: shanghai("2024-03-05 10:00"))])

        let missing = ledger.folder.path("no-such-rulebook.json")
        var result = try ledger.run(["compliance", "--rules", missing, "--json"])
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no-such-rulebook.json"), result.stderr)
        XCTAssertEqual(result.stdout, "")

        let broken: [(limits: [String: Any], field: String)] = [
            (["contact_hours": ["start": "8:00", "end": "20:00"]], "contact_hours"),
            (["contact_hours": ["start": "08:00", "end": "24:00"]], "contact_hours"),
            (["contact_hours": ["start": "20:00", "end": "08:00"]], "contact_hours"),
            (["max_calls_per_day": 0], "max_calls_per_day"),
            (["third_party_contact": "sometimes"], "third_party_contact"),
            (["max_calls_per_week": 3], "max_calls_per_week"),
        ]
        for (index, (limits, field)) in broken.enumerated() {
            let path = try ledger.rulebook(limits, id: "broken-\(index)")
            result = try ledger.run(["compliance", "--rules", path, "--json"])
            XCTAssertEqual(result.exitCode, 1, "\(limits): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(field) && result.stderr.contains("broken-\(index).json"), "\(limits): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(limits)")
        }

        for arguments in [["compliance", "--case", "UNKNOWN", "--json"],
                          ["compliance", "--case", "UNKNOWN", "--rules", try ledger.rulebook(["max_calls_per_day": 3]), "--json"]] {
            result = try ledger.run(arguments)
            XCTAssertEqual(result.exitCode, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("UNKNOWN"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
    }

    func testVerifyCatchesAnEditedViolationRow() throws {
        let d = Debtor("C-1", region: "CN")
        let ledger = try ComplianceLedger(self)
        let night = d.call(at: shanghai("2025-07-02 21:30"))
        try ledger.record([d.opened(at: shanghai("2025-06-01 09:00")), night])
        assertFlags(try ledger.compliance(), [("contact_hours", "cn-bank-policy-2025", night)])
        try ledger.assertVerifies()

        // Each column edited in turn (a character added, or the seq moved), then put back.
        for column in ["case_id", "seq", "rule", "rule_limit", "rulebook", "event_id", "actor", "local_time", "detail"] {
            let (edit, undo) = column == "seq" ? ("seq + 1", "seq - 1") : ("\(column) || 'x'", "substr(\(column), 1, length(\(column)) - 1)")
            try ledger.sql("UPDATE violations SET \(column) = \(edit)")
            let result = try ledger.run(["verify"])
            XCTAssertEqual(result.exitCode, 4, "\(column): " + result.stdout + result.stderr)
            XCTAssertTrue(result.stderr.contains("projection compliance"), result.stderr)
            XCTAssertTrue(result.stderr.contains("C-1"), result.stderr)
            try ledger.sql("UPDATE violations SET \(column) = \(undo)")
            try ledger.assertVerifies()
        }
        // A second row like the first, and the row gone.
        try ledger.sql("INSERT INTO violations SELECT * FROM violations")
        XCTAssertEqual(try ledger.run(["verify"]).exitCode, 4)
        try ledger.sql("DELETE FROM violations")
        XCTAssertEqual(try ledger.run(["verify"]).exitCode, 4)
    }

    // MARK: - Evidence packs

    func testEvidencePacksForEveryComplaintOfAGeneratedPortfolio() throws {
        let ledger = try ComplianceLedger(self)
        let log = try ledger.generatedPortfolio()
        let complaints = log.filter { $0["type"] as? String == "complaint.filed" }
        XCTAssertFalse(complaints.isEmpty, "the portfolio should include complaints")
        let headHash = try XCTUnwrap(log.last?["hash"] as? String)
        var anyRulebook = false, anyVoided = false
        for filing in complaints {
            let complaintID = try XCTUnwrap((filing["data"] as? [String: Any])?["complaint_id"] as? String)
            let caseID = try XCTUnwrap(filing["case_id"] as? String)
            let pack = try ledger.evidence(complaintID)
            let context = "complaint \(complaintID)"

            let filed = (pack.json["complaint"] as? [String: Any])?["filing"] as? [String: Any] ?? [:]
            XCTAssertEqual((filed["data"] as? [String: Any])?["complaint_id"] as? String, complaintID, context)
            XCTAssertEqual(filed["event_id"] as? String, filing["event_id"] as? String, context)
            let caseViews = pack.json["case"] as? [String: Any] ?? [:]
            let asOfFiling = caseViews["as_of_filing"] as? [String: Any] ?? [:]
            XCTAssertEqual(asOfFiling["case_id"] as? String, caseID, context)
            XCTAssertTrue((asOfFiling["open_complaints"] as? [String] ?? []).contains(complaintID), "\(context): open when filed")
            XCTAssertEqual((caseViews["now"] as? [String: Any])?["case_id"] as? String, caseID, context)

            let events = pack.json["events"] as? [[String: Any]] ?? []
            let caseLog = log.filter { $0["case_id"] as? String == caseID }
            XCTAssertEqual(events.compactMap { $0["event_id"] as? String }, caseLog.compactMap { $0["event_id"] as? String }, context)
            for event in events {
                XCTAssertTrue(isHexHash(event["hash"]), "\(context): hash \(event["hash"] ?? "missing")")
            }
            let contactTypes: Set<String> = ["call.placed", "message.sent", "visit.completed"]
            let contacts = pack.json["contacts"] as? [[String: Any]] ?? []
            XCTAssertEqual(contacts.count, caseLog.filter { contactTypes.contains($0["type"] as? String ?? "") }.count, context)
            for contact in contacts {
                let local = contact["local_time"] as? String ?? ""
                XCTAssertNotNil(local.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$"#, options: .regularExpression),
                                "\(context): local_time \(local)")
            }
            for violation in pack.json["violations"] as? [[String: Any]] ?? [] {
                XCTAssertEqual(violation["case_id"] as? String, caseID, context)
                XCTAssertFalse((violation["rulebook"] as? String ?? "").isEmpty, context)
            }
            let rulebooks = (pack.json["rulebook"] as? [String: Any])?["rulebooks"] as? [[String: Any]] ?? []
            for rulebook in rulebooks {
                XCTAssertFalse((rulebook["source"] as? String ?? "").isEmpty, "\(context): \(rulebook["id"] ?? "?") has no source")
            }
            anyRulebook = anyRulebook || !rulebooks.isEmpty
            let chain = pack.json["chain"] as? [String: Any] ?? [:]
            XCTAssertEqual(chain["verified"] as? Bool, true, context)
            let first = chain["first_seq"] as? Int ?? 0, last = chain["last_seq"] as? Int ?? -1
            XCTAssertLessThanOrEqual(first, last, context)
            XCTAssertEqual(first, events.first?["seq"] as? Int, context)
            XCTAssertEqual(last, events.last?["seq"] as? Int, context)
            XCTAssertEqual(chain["head_hash"] as? String, headHash, context)

            // The page: well-formed XML naming the complaint, the case, the voids and the chain head.
            let text = try XCTUnwrap(pack.htmlText, "\(context): evidence.html is not well-formed XML")
            for needle in [complaintID, caseID, headHash] {
                XCTAssertTrue(text.contains(needle), "\(context): evidence.html lacks \(needle)")
            }
            let voidMarks = events.filter { $0["voided"] as? Bool == true }.compactMap { $0["voided_by"] as? [String: Any] }
            if !voidMarks.isEmpty {
                anyVoided = true
                XCTAssertTrue(text.contains("VOIDED"), "\(context): a voided event is not marked")
                for mark in voidMarks {
                    XCTAssertTrue(text.contains(mark["reason"] as? String ?? "?"), "\(context): void reason \(mark) not shown")
                }
            }
        }
        XCTAssertTrue(anyRulebook, "at least one complaint's case should be judged by a rulebook")
        XCTAssertTrue(anyVoided, "at least one complaint's case should have a voided event")
    }

    func testAnUnknownComplaintExitsOneWithAClearMessage() throws {
        let ledger = try ComplianceLedger(self)
        let d = Debtor()
        try ledger.record([d.opened(), d.call(at: shanghai("2024-03-05 10:00"))])
        let out = ledger.folder.path("pack")
        let result = try ledger.run(["evidence", "--complaint", "CP-NOPE", "--out", out])
        XCTAssertEqual(result.exitCode, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no complaint CP-NOPE"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/evidence.json"))
    }

    func testTheEvidencePageRendersInHeadlessChromium() throws {
        let chromium = "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: chromium) else { throw XCTSkip("\(chromium) is not installed") }
        let ledger = try ComplianceLedger(self)
        let log = try ledger.generatedPortfolio()
        let filing = try XCTUnwrap(log.first { $0["type"] as? String == "complaint.filed" })
        let complaintID = try XCTUnwrap((filing["data"] as? [String: Any])?["complaint_id"] as? String)
        let pack = try ledger.evidence(complaintID)
        let png = ledger.folder.path("evidence.png")
        let status = try runTool(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--screenshot=\(png)", "--window-size=1200,1600",
                                            "--user-data-dir=\(ledger.folder.path("chromium-profile"))", pack.html.absoluteString],
                                 in: ledger.folder, timeout: 180)
        XCTAssertEqual(status.exitCode, 0, status.stderr)
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertGreaterThan(image.count, 1000)
        XCTAssertEqual(Array(image.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
    }

    // MARK: - Assertions

    /// The report's violations are exactly `expected` (rule and event), under any rulebook.
    private func assertFlags(_ report: Report, _ expected: [(String, LedgerEvent)], _ message: String = "",
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(report.flags(), expected.map { "\($0.0): \($0.1.label)" }.sorted(), message, file: file, line: line)
    }

    /// The report's violations are exactly `expected` (rule, rulebook and event).
    private func assertFlags(_ report: Report, _ expected: [(String, String, LedgerEvent)], _ message: String = "",
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(report.flags(rulebooks: true), expected.map { "\($0.0) [\($0.1)]: \($0.2.label)" }.sorted(), message,
                       file: file, line: line)
    }

    /// One case's events judged by one rulebook with these limits, on a fresh ledger.
    private func judge(_ events: [LedgerEvent], under limits: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> Report {
        let ledger = try ComplianceLedger(self)
        try ledger.record(events, file: file, line: line)
        return try ledger.compliance(rules: try ledger.rulebook(limits), file: file, line: line)
    }
}

// MARK: - Fixtures

/// `2024-03-05 10:00` in Shanghai, as RFC 3339 with its +08:00 offset.
private func shanghai(_ time: String) -> String { time.replacingOccurrences(of: " ", with: "T") + ":00+08:00" }

/// `2024-03-05 02:00` UTC, as RFC 3339 with `Z`.
private func utc(_ time: String) -> String { time.replacingOccurrences(of: " ", with: "T") + ":00Z" }

private func isHexHash(_ value: Any?) -> Bool {
    guard let text = value as? String else { return false }
    return text.count == 64 && text.allSatisfy { "0123456789abcdef".contains($0) }
}

/// One event line, and a readable label for it (case, what, when) to name it in failures.
private struct LedgerEvent {
    let id: String
    let caseID: String
    let line: String
    let label: String
}

/// Builds the events of one debtor's case: the debtor's time zone and region decide which clock and rulebook apply.
private struct Debtor {
    let caseID: String
    let zone: String
    let region: String

    init(_ caseID: String = "C-1", zone: String = "Asia/Shanghai", region: String = "CN-SH") {
        self.caseID = caseID
        self.zone = zone
        self.region = region
    }

    func event(_ type: String, _ what: String, at time: String, actor: String = "collector:zhang.wei", _ data: String) -> LedgerEvent {
        let id = UUID().uuidString.lowercased()
        return LedgerEvent(id: id, caseID: caseID, line: Events.line(id: id, caseID: caseID, type: type, occurredAt: time, actor: actor, data: data),
                           label: "\(caseID) \(what) at \(time)")
    }

    func opened(at time: String = "2024-01-02T00:00:00Z") -> LedgerEvent {
        let currency = region.hasPrefix("US") ? "USD" : region == "GB" ? "GBP" : "CNY"
        return event("case.opened", "opening", at: time, actor: "system:intake", """
            {"debtor_ref":"D-1","account_ref":"A-1","product":"credit_card","currency":"\(currency)","principal_minor":1000000,"due_date":"2023-12-01","debtor_timezone":"\(zone)","region":"\(region)"}
            """)
    }

    func call(at time: String, outcome: String = "no_answer", party: String = "debtor", actor: String = "collector:zhang.wei") -> LedgerEvent {
        event("call.placed", "outbound \(outcome) call to \(party)", at: time, actor: actor,
              #"{"direction":"outbound","party":"\#(party)","outcome":"\#(outcome)","duration_s":0}"#)
    }

    func inboundCall(at time: String, outcome: String = "connected", party: String = "debtor") -> LedgerEvent {
        event("call.placed", "inbound \(outcome) call from \(party)", at: time,
              #"{"direction":"inbound","party":"\#(party)","outcome":"\#(outcome)","duration_s":60}"#)
    }

    func message(_ channel: String, at time: String, party: String = "debtor") -> LedgerEvent {
        event("message.sent", "\(channel) to \(party)", at: time, actor: "system:messaging",
              #"{"channel":"\#(channel)","party":"\#(party)","template":"reminder_1"}"#)
    }

    func bookVisit(_ visitID: String, location: String = "home", at time: String) -> LedgerEvent {
        event("visit.booked", "booking of \(visitID)", at: time,
              #"{"visit_id":"\#(visitID)","scheduled_for":"\#(time)","location":"\#(location)","booked_via":"call"}"#)
    }

    func visit(_ visitID: String, at time: String) -> LedgerEvent {
        event("visit.completed", "visit \(visitID)", at: time, actor: "visitor:wang.fang", #"{"visit_id":"\#(visitID)","outcome":"met_debtor"}"#)
    }

    func restrict(_ restrictionID: String, _ kind: String, until: String? = nil, at time: String) -> LedgerEvent {
        let untilField = until.map { #","until":"\#($0)""# } ?? ""
        return event("contact.restricted", "restriction \(restrictionID)", at: time, actor: "supervisor:li.na",
                     #"{"restriction_id":"\#(restrictionID)","kind":"\#(kind)","reason":"debtor request"\#(untilField)}"#)
    }

    func lift(_ restrictionID: String, at time: String) -> LedgerEvent {
        event("contact.restriction_lifted", "lift of \(restrictionID)", at: time, actor: "supervisor:li.na",
              #"{"restriction_id":"\#(restrictionID)","reason":"resolved"}"#)
    }

    func void(_ target: LedgerEvent, reason: String, at time: String, actor: String = "supervisor:li.na") -> LedgerEvent {
        event("entry.voided", "void of \(target.label)", at: time, actor: actor, #"{"voids":"\#(target.id)","reason":"\#(reason)"}"#)
    }
}

/// `compliance --json`, parsed; violations and notices named by the labels of the events recorded.
private struct Report {
    let text: String
    let json: [String: Any]
    let labels: [String: String]

    var violations: [[String: Any]] { json["violations"] as? [[String: Any]] ?? [] }
    var notices: [[String: Any]] { json["notices"] as? [[String: Any]] ?? [] }
    var summary: [String: Any] { json["summary"] as? [String: Any] ?? [:] }
    var byRule: [String: Int] { summary["by_rule"] as? [String: Int] ?? [:] }
    var byActor: [String: Int] { summary["by_actor"] as? [String: Int] ?? [:] }

    /// "rule: label" (or "rule [rulebook]: label") for every violation, sorted.
    func flags(rulebooks: Bool = false) -> [String] {
        violations.map { violation in
            let rule = violation["rule"] as? String ?? "?"
            let id = violation["event_id"] as? String ?? "?"
            return "\(rule)\(rulebooks ? " [\(violation["rulebook"] as? String ?? "?")]" : ""): \(labels[id] ?? id)"
        }.sorted()
    }

    func violation(_ rule: String, on event: LedgerEvent) -> [String: Any]? {
        violations.first { $0["rule"] as? String == rule && $0["event_id"] as? String == event.id }
    }

    /// The same report with only one case's violations and notices.
    func only(case caseID: String) -> Report {
        var json = self.json
        json["violations"] = violations.filter { $0["case_id"] as? String == caseID }
        json["notices"] = notices.filter { $0["case_id"] as? String == caseID }
        return Report(text: text, json: json, labels: labels)
    }
}

/// An evidence pack as written: evidence.json parsed, and the page's text if it is well-formed XML.
private struct EvidencePack {
    let json: [String: Any]
    let html: URL
    let htmlText: String?
}

/// A ledger file in its own temporary folder, driven through the real binary.
private final class ComplianceLedger {
    let folder: TemporaryFolder
    let db: String
    private var labels: [String: String] = [:]

    init(_ test: XCTestCase) throws {
        folder = try TemporaryFolder()
        db = try test.makeLedger(folder)
    }

    /// `caseledger arguments… --db <this file>`.
    func run(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(arguments + ["--db", db])
    }

    /// Appends the events as one batch, which must be accepted unless `mayBeRefused`.
    func record(_ events: [LedgerEvent], mayBeRefused: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        for event in events { labels[event.id] = event.label }
        let result = try CLI.run(["append", "--db", db, "--json"], stdin: events.map(\.line).joined(separator: "\n") + "\n")
        if !mayBeRefused { XCTAssertEqual(result.exitCode, 0, "append refused: \(result.stderr)", file: file, line: line) }
    }

    /// Writes a rulebook with these limits (docs/compliance.md field names) and returns its path.
    func rulebook(_ limits: [String: Any], id: String = "test-rules") throws -> String {
        var book: [String: Any] = ["id": id, "title": "Rules for ComplianceTests", "jurisdiction": "*", "effective_from": "2000-01-01",
                                   "source": "ComplianceTests.swift"]
        book.merge(limits) { $1 }
        let data = try JSONSerialization.data(withJSONObject: book, options: [.sortedKeys])
        return try folder.write("\(id).json", String(decoding: data, as: UTF8.self))
    }

    /// `compliance [--rules FILE] [--case ID] --json`.
    func compliance(rules: String? = nil, caseID: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Report {
        let result = try run(["compliance", "--json"] + (rules.map { ["--rules", $0] } ?? []) + (caseID.map { ["--case", $0] } ?? []))
        XCTAssertEqual(result.exitCode, 0, "compliance: \(result.stderr)", file: file, line: line)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                 "not a JSON object: \(result.stdout)", file: file, line: line)
        return Report(text: result.stdout, json: json, labels: labels)
    }

    func assertVerifies(file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(["verify"])
        XCTAssertEqual(result.exitCode, 0, "verify: \(result.stdout)\(result.stderr)", file: file, line: line)
    }

    /// `generate --cases 300 --seed 7`, then the whole log (`log --json`, NDJSON) in seq order.
    func generatedPortfolio(file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let generated = try run(["generate", "--cases", "300", "--seed", "7"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr, file: file, line: line)
        let log = try run(["log", "--json"])
        XCTAssertEqual(log.exitCode, 0, log.stderr, file: file, line: line)
        return try log.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], file: file, line: line)
        }
    }

    /// `evidence --complaint ID --out DIR`, which must succeed.
    func evidence(_ complaintID: String, file: StaticString = #filePath, line: UInt = #line) throws -> EvidencePack {
        let out = folder.url.appendingPathComponent("evidence-\(complaintID)")
        let result = try run(["evidence", "--complaint", complaintID, "--out", out.path])
        XCTAssertEqual(result.exitCode, 0, "evidence \(complaintID): \(result.stderr)", file: file, line: line)
        let data = try Data(contentsOf: out.appendingPathComponent("evidence.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], file: file, line: line)
        let html = out.appendingPathComponent("evidence.html")
        var text: String?
        do {
            text = try XMLDocument(contentsOf: html, options: []).rootElement()?.stringValue
        } catch {
            XCTFail("evidence.html of \(complaintID) is not well-formed: \(error)", file: file, line: line)
        }
        return EvidencePack(json: json, html: html, htmlText: text)
    }

    /// Runs SQL on the file with the sqlite3 command line tool; its output (through files, never pipes).
    @discardableResult
    func sql(_ statements: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let status = try runTool("/usr/bin/sqlite3", [db, statements], in: folder, timeout: 60)
        XCTAssertEqual(status.exitCode, 0, "sqlite3: \(status.stderr)", file: file, line: line)
        return status.stdout
    }
}
