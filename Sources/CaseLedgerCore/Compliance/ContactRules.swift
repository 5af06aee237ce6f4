import Foundation

/// The contact rules of docs/compliance.md, judged for one case in the debtor's local time (from the
/// case's IANA `debtor_timezone`, so correct across daylight-saving changes), contacts in
/// `occurred_at` order (then `seq`), whatever order they were appended in.
///
/// Every rulebook in force for the case on a contact's debtor-local day judges it, each on its
/// own: it counts, toward its caps, only the contacts it judges (its actor kinds, its channels,
/// from its effective date). Inbound calls and voided events never count; a voided contact is a
/// notice. A contact no rulebook judges is reported as *not judged*, with the reason. Pure: the
/// same case and rulebooks always give the same outcome.
public enum ContactRules {
    public struct Outcome: Sendable, Equatable {
        public var violations: [Violation] = []
        public var notices: [VoidNotice] = []
        /// Every outbound contact that is not voided, in occurred_at order, judged or not.
        public var contacts: [ContactJudgement] = []

        /// Counted in place: a filtered copy of the contacts cost about 9,000 instructions a case.
        public var contactsJudged: Int { contacts.reduce(0) { $1.judged ? $0 + 1 : $0 } }
        public var contactsNotJudged: Int { contacts.count - contactsJudged }
        /// True when the case has outbound contacts and no rulebook judged any of them.
        public var unchecked: Bool { !contacts.isEmpty && contactsJudged == 0 }

        public init() {}
    }

    public static func judge(_ record: ComplianceCase, by choice: RulebookChoice) -> Outcome {
        var outcome = Outcome()
        var clock = ZoneClock(TimeZoneCache.zone(record.timeZone) ?? TimeZone(identifier: "UTC")!)
        let facts = CaseFacts(record)
        // By rulebook id, in the order first met: a case is judged by a few rulebooks, and so
        // short a list, whose ids are the very strings asked for, is searched without hashing.
        // A dictionary hashed the id at every contact: 7.6 % of the judge's instructions.
        var counters: [(rulebook: String, counter: FrequencyCounter)] = []
        var lastConversation: Conversation?
        var judges = JudgesCache(choice: choice, region: record.region)
        var findings: [Finding] = []

        for contact in Self.inTimeOrder(record.contacts) {
            let when = LocalTime(contact.occurredMicros, clock: &clock)
            if let mark = record.voidMark(of: contact.id) {
                outcome.notices.append(VoidNotice(eventID: contact.eventID, seq: contact.seq, type: contact.type.rawValue,
                                                  caseID: record.caseID, actor: record.actor(of: contact), localTime: when.time, voidedBy: mark))
                continue
            }
            if contact.isOutbound {
                let actor = record.actor(of: contact)
                let judging = judges.judging(day: when.day, actorIndex: contact.actorIndex, actor: actor)
                outcome.contacts.append(ContactJudgement(
                    id: contact.id, seq: contact.seq, actor: actor, when: when, rulebooks: judging.ids,
                    notJudged: judging.rulebooks.isEmpty
                        ? notJudgedReason(region: record.region, day: when.day, actor: actor, inForce: judges.dayRulebooks) : nil))
                for rulebook in judging.rulebooks {
                    findings.removeAll(keepingCapacity: true)
                    Self.findings(contact, when: when, rulebook: rulebook, facts: facts, conversation: lastConversation, into: &findings)
                    let slot = counters.firstIndex { $0.rulebook == rulebook.id } ?? counters.endIndex
                    if slot == counters.endIndex { counters.append((rulebook.id, FrequencyCounter())) }
                    counters[slot].counter.count(contact, when: when, rulebook: rulebook, into: &findings)
                    for finding in findings {
                        outcome.violations.append(Violation(limit: finding.limit, rulebook: rulebook.id, eventID: contact.eventID, seq: contact.seq,
                                                            caseID: record.caseID, actor: actor, localTime: when.time, detail: finding.detail))
                    }
                }
            }
            if case .call(let call) = contact.kind, call.connected, call.party == "debtor" {
                lastConversation = Conversation(day: when.day, seq: contact.seq)
            }
        }
        return outcome
    }

    /// The contacts in occurred_at order, then seq. They are kept in the order they were
    /// appended, which for most cases is already that order: checked first, then sorted only
    /// when not (a sort of every case's contacts took about 3,900 instructions a case).
    static func inTimeOrder(_ contacts: [ComplianceCase.Contact]) -> [ComplianceCase.Contact] {
        let precedes = { (a: ComplianceCase.Contact, b: ComplianceCase.Contact) in (a.occurredMicros, a.seq) < (b.occurredMicros, b.seq) }
        for index in contacts.indices.dropFirst() where !precedes(contacts[index - 1], contacts[index]) {
            return contacts.sorted(by: precedes)
        }
        return contacts
    }

    static func notJudgedReason(region: String?, day: Int, actor: String, inForce: [Rulebook]) -> String {
        let date = CalendarDate.string(days: day)
        guard inForce.isEmpty else {
            return "not judged: no rulebook in force for \(region ?? "a case without a region") on \(date) binds \(actor.prefix { $0 != ":" }) contacts"
        }
        return "not judged: no rulebook in force for \(region ?? "a case without a region") on \(date)"
    }

    /// A breach found: the limit exceeded and what happened, in words.
    struct Finding {
        let limit: RuleLimit
        let detail: String
    }

    struct Conversation {
        let day: Int
        let seq: Int64
    }

    /// What the rules need of the rest of the case: bookings, restrictions and lifts, voids removed.
    struct CaseFacts {
        let timeZone: String
        let bookings: [ComplianceCase.Booking]
        let restrictions: [ComplianceCase.Restriction]
        let lifts: [(eventID: String, restrictionID: String, at: Int64, seq: Int64)]

        init(_ record: ComplianceCase) {
            timeZone = record.timeZone
            bookings = record.bookings.filter { record.voidMark(of: $0.eventID) == nil }
            restrictions = record.restrictions.filter { record.voidMark(of: $0.eventID) == nil }
            lifts = record.lifts.filter { record.voidMark(of: $0.eventID) == nil }
        }
    }

    /// The rulebooks that judge a case's contacts, looked up once for each stretch of days in which
    /// the same rulebooks are in force, and once for each actor within it (a case's every contact
    /// asks, and the answer rarely changes).
    struct JudgesCache {
        let choice: RulebookChoice
        let region: String?
        /// The days for which `dayRulebooks` holds.
        private var days = 0..<0
        private(set) var dayRulebooks: [Rulebook] = []
        /// By actor (its position in the case's actors, a few from 0): the rulebooks in force
        /// that judge its contacts, and their ids, made once and shared by every judgement that
        /// names them. An array: a dictionary cost about 230 instructions a contact.
        private var byActor: [(rulebooks: [Rulebook], ids: [String])?] = []

        init(choice: RulebookChoice, region: String?) {
            self.choice = choice
            self.region = region
        }

        mutating func judging(day: Int, actorIndex: Int32, actor: String) -> (rulebooks: [Rulebook], ids: [String]) {
            if !days.contains(day) {
                (days, dayRulebooks) = choice.stretch(region: region, around: day)
                byActor.removeAll(keepingCapacity: true)
            }
            let slot = Int(actorIndex)
            if slot < byActor.count, let known = byActor[slot] { return known }
            let rulebooks = dayRulebooks.filter { $0.judges(actor: actor) }
            let judging = (rulebooks, rulebooks.map(\.id))
            while byActor.count <= slot { byActor.append(nil) }
            byActor[slot] = judging
            return judging
        }
    }

    /// Every rule but the frequency caps, for one contact under one rulebook, in a fixed order:
    /// the breaches found are appended to `findings`.
    static func findings(_ contact: ComplianceCase.Contact, when: LocalTime, rulebook: Rulebook, facts: CaseFacts,
                         conversation: Conversation?, into findings: inout [Finding]) {
        if let found = contactHours(contact, when: when, rulebook: rulebook, facts: facts) { findings.append(found) }
        if let found = thirdParty(contact, rulebook: rulebook) { findings.append(found) }
        if let found = restriction(contact, rulebook: rulebook, facts: facts) { findings.append(found) }
        if let found = visitBooking(contact, rulebook: rulebook, facts: facts) { findings.append(found) }
        if let found = quietAfterConversation(contact, when: when, rulebook: rulebook, conversation: conversation) { findings.append(found) }
    }

    /// contact_hours: outbound calls, sms/email/app messages and completed visits; letters do not count.
    static func contactHours(_ contact: ComplianceCase.Contact, when: LocalTime, rulebook: Rulebook, facts: CaseFacts) -> Finding? {
        guard let hours = rulebook.contactHours else { return nil }
        if case .message(.letter, _) = contact.kind { return nil }
        guard when.minute < hours.start || when.minute >= hours.end else { return nil }
        return Finding(limit: .contactHours, detail: "\(contact.what) at \(Rulebook.clock(when.minute)) debtor-local (\(facts.timeZone)), outside \(Rulebook.clock(hours.start))–\(Rulebook.clock(hours.end))")
    }

    /// third_party_contact: outbound calls and messages to anyone but the debtor.
    static func thirdParty(_ contact: ComplianceCase.Contact, rulebook: Rulebook) -> Finding? {
        guard rulebook.forbidsThirdPartyContact, let party = contact.party, party != "debtor" else { return nil }
        return Finding(limit: .thirdPartyContact, detail: "\(contact.what) to the \(party.codeAsWords); \(rulebook.id) forbids third-party contact")
    }

    /// contact_during_restriction: a contact of a kind an active restriction covers.
    static func restriction(_ contact: ComplianceCase.Contact, rulebook: Rulebook, facts: CaseFacts) -> Finding? {
        guard rulebook.honourRestrictions else { return nil }
        let now = (contact.occurredMicros, contact.seq)
        for restriction in facts.restrictions where (restriction.at, restriction.seq) < now {
            if facts.lifts.contains(where: { $0.restrictionID == restriction.restrictionID && ($0.at, $0.seq) < now }) { continue }
            if let until = restriction.untilMicros, contact.occurredMicros >= until { continue }
            let covered: Bool
            switch (restriction.kind, contact.kind) {
            case (.ceaseAll, _), (.disputeHold, _), (.hardshipHold, _): covered = true
            case (.noCalls, .call): covered = true
            case (.noVisits, .visit): covered = true
            case (.noWorkplaceContact, .visit(let visitID, _)):
                let booking = facts.bookings.last { $0.visitID == visitID && ($0.at, $0.seq) < now }
                covered = booking?.location == "workplace"
            default: covered = false
            }
            if covered {
                return Finding(limit: .honourRestrictions, detail: "\(contact.what) while restriction \(restriction.restrictionID) (\(restriction.kind.rawValue.codeAsWords)) is active")
            }
        }
        return nil
    }

    /// visit_without_booking: a completed visit with no earlier booking of it.
    static func visitBooking(_ contact: ComplianceCase.Contact, rulebook: Rulebook, facts: CaseFacts) -> Finding? {
        guard rulebook.visitsRequireBooking, case .visit(let visitID, _) = contact.kind else { return nil }
        let now = (contact.occurredMicros, contact.seq)
        if facts.bookings.contains(where: { $0.visitID == visitID && ($0.at, $0.seq) < now }) { return nil }
        return Finding(limit: .visitsRequireBooking, detail: "visit \(visitID) completed with no earlier visit.booked")
    }

    /// quiet_after_conversation: an outbound call within N debtor-local days of a conversation
    /// with the debtor (either direction), the conversation's day being day 1.
    static func quietAfterConversation(_ contact: ComplianceCase.Contact, when: LocalTime, rulebook: Rulebook,
                                       conversation: Conversation?) -> Finding? {
        guard let quiet = rulebook.quietDaysAfterConversation, case .call = contact.kind, let conversation,
            when.day - conversation.day < quiet
        else { return nil }
        return Finding(limit: .quietDaysAfterConversation, detail: "outbound call on day \(when.day - conversation.day + 1) after a conversation on \(CalendarDate.string(days: conversation.day)) (seq \(conversation.seq)); quiet for \(quiet) days")
    }

    /// The frequency caps of one rulebook, counting only the contacts it judges in its channels:
    /// attempts and connected calls per debtor-local day, and attempts in seven consecutive
    /// debtor-local days (the contact's own day and the six before it).
    struct FrequencyCounter {
        var byDay = DayCounts()
        var connectedByDay = DayCounts()

        mutating func count(_ contact: ComplianceCase.Contact, when: LocalTime, rulebook: Rulebook, into findings: inout [Finding]) {
            guard let channel = contact.channel, rulebook.countsFrequency(of: channel) else { return }
            // The words are made only for a breach: most contacts break no cap.
            var date: String { CalendarDate.string(days: when.day) }
            var noun: String { rulebook.countsOnlyCalls ? "outbound call" : "contact (\(channel.rawValue))" }
            let count = byDay.increment(when.day)
            if let cap = rulebook.maxCallsPerDay, count > cap {
                findings.append(Finding(limit: .maxCallsPerDay, detail: "\(ordinal(count)) \(noun) on \(date) (debtor-local); the limit is \(cap) a day"))
            }
            if case .call(let call) = contact.kind, call.connected {
                let connected = connectedByDay.increment(when.day)
                if let cap = rulebook.maxConnectedCallsPerDay, connected > cap {
                    findings.append(Finding(limit: .maxConnectedCallsPerDay, detail: "\(ordinal(connected)) connected call on \(date) (debtor-local); the limit is \(cap) connected calls a day"))
                }
            }
            if let cap = rulebook.maxCallsPer7Days {
                let inWindow = byDay.sum((when.day - 6)...when.day)
                if inWindow > cap {
                    findings.append(Finding(limit: .maxCallsPer7Days, detail: "\(ordinal(inWindow)) \(noun) in the seven days \(CalendarDate.string(days: when.day - 6))–\(date) (debtor-local); the limit is \(cap)"))
                }
            }
        }
    }

    /// Counts by debtor-local day, kept in an array from the earliest day counted to the latest
    /// (a case's contacts span months): a seven-day window is read as seven neighbours, where a
    /// dictionary by day cost seven hash lookups for every contact and rulebook. Days may come
    /// in any order (a zone that falls back at midnight repeats part of a day).
    struct DayCounts {
        private var first = 0
        private var counts: [Int] = []

        /// Adds one to `day`'s count; returns the new count.
        mutating func increment(_ day: Int) -> Int {
            if counts.isEmpty {
                first = day
                // Room for a case's months of contacts at once: grown from one day, the array
                // was copied about four times a case.
                counts.reserveCapacity(128)
                counts.append(0)
            } else if day < first {
                counts.insert(contentsOf: repeatElement(0, count: first - day), at: 0)
                first = day
            } else {
                // One zero at a time: a case's next day is most often the one after its last,
                // and `append(contentsOf: repeatElement(…))` cost about 330 instructions a call.
                while day >= first + counts.count { counts.append(0) }
            }
            counts[day - first] += 1
            return counts[day - first]
        }

        /// The counts of `days` together.
        func sum(_ days: ClosedRange<Int>) -> Int {
            let lower = max(days.lowerBound, first), upper = min(days.upperBound, first + counts.count - 1)
            guard lower <= upper else { return 0 }
            return counts[(lower - first)...(upper - first)].reduce(0, +)
        }
    }

    /// A contact's time on the debtor's clock; the text is made only for what is reported.
    struct LocalTime: Sendable, Equatable {
        let micros: Int64
        let offsetSeconds: Int
        let day: Int
        let minute: Int

        init(_ micros: Int64, clock: inout ZoneClock) {
            let seconds = Timestamp(epochMicros: micros).epochSeconds
            let offset = clock.offset(at: seconds)
            let localSeconds = seconds + Int64(offset)
            self.micros = micros
            offsetSeconds = offset
            day = Int(localSeconds >= 0 ? localSeconds / 86_400 : (localSeconds - 86_399) / 86_400)
            minute = Int(localSeconds - Int64(day) * 86_400) / 60
        }

        var time: String { Timestamp(epochMicros: micros).string(offsetMinutes: offsetSeconds / 60) }
    }

    static func ordinal(_ n: Int) -> String {
        let suffix = (11...13).contains(n % 100) ? "th" : ["th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"][n % 10]
        return "\(n)\(suffix)"
    }
}

/// One outbound contact as the rules saw it: which rulebooks judged it, or why none did.
public struct ContactJudgement: Sendable, Equatable {
    let id: CompactUUID
    public let seq: Int64
    public let actor: String
    /// Kept as the instant and its offset; the text is made only when asked for (a case's every
    /// contact is judged, and only a few are ever shown).
    let when: ContactRules.LocalTime
    public let rulebooks: [String]
    /// Set when no rulebook judged the contact: why, e.g. "not judged: no rulebook in force for CN-SH on 2024-03-05".
    public let notJudged: String?

    public var judged: Bool { notJudged == nil }
    public var eventID: String { id.string }
    /// On the debtor's clock, RFC 3339 with the offset.
    public var localTime: String { when.time }
}

extension ComplianceCase.Contact {
    /// How the contact reads in a violation's detail.
    var what: String {
        switch kind {
        case .call(let call): call.outbound ? "outbound call" : "inbound call"
        case .message(let channel, _): "\(channel.rawValue) message"
        case .visit(let visitID, _): "visit \(visitID)"
        }
    }

    /// Who was contacted, for calls and messages.
    var party: String? {
        switch kind {
        case .call(let call): call.party
        case .message(_, let party): party
        case .visit: nil
        }
    }

    /// The channel a frequency cap may count it under (outbound only; visits never count).
    var channel: ContactChannel? {
        switch kind {
        case .call(let call): call.outbound ? .call : nil
        case .message(let channel, _): ContactChannel(channel)
        case .visit: nil
        }
    }
}
