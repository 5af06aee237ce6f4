import Foundation

/// The contact rules of CONTRACT §7, judged for one case in the debtor's local time (from the
/// case's IANA `debtor_timezone`, so correct across daylight-saving changes), contacts in
/// `occurred_at` order (then `seq`), whatever order they were appended in. Inbound calls and
/// voided events never count; each contact is judged by the rulebook in force on its own
/// debtor-local day. Pure: the same case and rulebooks always give the same violations.
public enum ContactRules {
    public struct Outcome: Sendable, Equatable {
        public var violations: [Violation] = []
        public var notices: [VoidNotice] = []
        /// True when no rulebook applied to any of the case's contacts.
        public var unchecked = false
    }

    public static func judge(_ record: ComplianceCase, by choice: RulebookChoice) -> Outcome {
        var outcome = Outcome()
        var clock = ZoneClock(TimeZoneCache.zone(record.timeZone) ?? TimeZone(identifier: "UTC")!)
        let ordered = record.contacts.sorted { ($0.occurredMicros, $0.seq) < ($1.occurredMicros, $1.seq) }

        func local(_ micros: Int64) -> LocalTime {
            let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
            let offset = clock.offset(at: seconds)
            let localSeconds = seconds + Int64(offset)
            let day = Int(localSeconds >= 0 ? localSeconds / 86_400 : (localSeconds - 86_399) / 86_400)
            let minute = Int(localSeconds - Int64(day) * 86_400) / 60
            return LocalTime(micros: micros, offsetSeconds: offset, day: day, minute: minute)
        }

        let liveBookings = record.bookings.filter { record.voidMark(of: $0.eventID) == nil }
        let liveRestrictions = record.restrictions.filter { record.voidMark(of: $0.eventID) == nil }
        let liveLifts = record.lifts.filter { record.voidMark(of: $0.eventID) == nil }

        var callsByDay: [Int: Int] = [:]
        var connectedByDay: [Int: Int] = [:]
        var recentCalls: [Int64] = []
        var lastConversation: (day: Int, seq: Int64, date: String)?
        var anyChecked = false
        // Contacts come in time order: the rulebook in force changes at most at a day boundary.
        var rulebookDay = Int.min
        var dayRulebook: Rulebook?

        for contact in ordered {
            let when = local(contact.occurredMicros)
            if !record.voids.isEmpty, let mark = record.voids[contact.id] {
                outcome.notices.append(VoidNotice(eventID: contact.eventID, seq: contact.seq, type: contact.type.rawValue,
                                                  caseID: record.caseID, actor: record.actor(of: contact), localTime: when.time, voidedBy: mark))
                continue
            }
            if when.day != rulebookDay {
                rulebookDay = when.day
                dayRulebook = choice.rulebook(region: record.region, localDay: when.day)
            }
            let rulebook = dayRulebook
            if rulebook != nil { anyChecked = true }
            func flag(_ rule: String, _ detail: String) {
                guard let rulebook else { return }
                outcome.violations.append(Violation(rule: rule, rulebook: rulebook.id, eventID: contact.eventID, seq: contact.seq,
                                                    caseID: record.caseID, actor: record.actor(of: contact), localTime: when.time, detail: detail))
            }
            let what: String
            var party: String?
            switch contact.kind {
            case .call(let call):
                what = call.outbound ? "outbound call" : "inbound call"
                party = call.party
            case .message(let channel, let to):
                what = "\(channel.rawValue) message"
                party = to
            case .visit(let visitID, _):
                what = "visit \(visitID)"
            }

            // contact_hours: outbound calls, sms/email/app messages and completed visits; letters do not count.
            if let hours = rulebook?.contactHours, contact.isOutbound {
                var counts = true
                if case .message(.letter, _) = contact.kind { counts = false }
                if counts, when.minute < hours.start || when.minute >= hours.end {
                    flag("contact_hours", "\(what) at \(Rulebook.clock(when.minute)) debtor-local (\(record.timeZone)), outside \(Rulebook.clock(hours.start))–\(Rulebook.clock(hours.end))")
                }
            }

            // third_party_contact: outbound calls and messages to anyone but the debtor.
            if rulebook?.forbidsThirdPartyContact == true, contact.isOutbound, let party, party != "debtor" {
                flag("third_party_contact", "\(what) to the \(party.replacingOccurrences(of: "_", with: " ")); \(rulebook!.id) forbids third-party contact")
            }

            // contact_during_restriction.
            if rulebook?.honourRestrictions == true, contact.isOutbound {
                for restriction in liveRestrictions where (restriction.at, restriction.seq) < (contact.occurredMicros, contact.seq) {
                    let lifted = liveLifts.filter { $0.restrictionID == restriction.restrictionID && ($0.at, $0.seq) < (contact.occurredMicros, contact.seq) }
                    if !lifted.isEmpty { continue }
                    if let until = restriction.untilMicros, contact.occurredMicros >= until { continue }
                    let covered: Bool
                    switch (restriction.kind, contact.kind) {
                    case (.ceaseAll, _), (.disputeHold, _), (.hardshipHold, _): covered = true
                    case (.noCalls, .call): covered = true
                    case (.noVisits, .visit): covered = true
                    case (.noWorkplaceContact, .visit(let visitID, _)):
                        let booking = liveBookings.last { $0.visitID == visitID && ($0.at, $0.seq) < (contact.occurredMicros, contact.seq) }
                        covered = booking?.location == "workplace"
                    default: covered = false
                    }
                    if covered {
                        flag("contact_during_restriction", "\(what) while restriction \(restriction.restrictionID) (\(restriction.kind.rawValue.replacingOccurrences(of: "_", with: " "))) is active")
                        break
                    }
                }
            }

            switch contact.kind {
            case .visit(let visitID, _):
                // visit_without_booking.
                if rulebook?.visitsRequireBooking == true,
                    !liveBookings.contains(where: { $0.visitID == visitID && ($0.at, $0.seq) < (contact.occurredMicros, contact.seq) })
                {
                    flag("visit_without_booking", "visit \(visitID) completed with no earlier visit.booked")
                }
            case .call(let call):
                if call.outbound {
                    // calls_per_day: every outbound attempt counts, whatever its outcome.
                    let count = (callsByDay[when.day] ?? 0) + 1
                    callsByDay[when.day] = count
                    let date = CalendarDate.string(days: when.day)
                    if let cap = rulebook?.maxCallsPerDay, count > cap {
                        flag("calls_per_day", "\(ordinal(count)) outbound call on \(date) (debtor-local); the limit is \(cap) a day")
                    }
                    if call.connected {
                        let connected = (connectedByDay[when.day] ?? 0) + 1
                        connectedByDay[when.day] = connected
                        if let cap = rulebook?.maxConnectedCallsPerDay, connected > cap {
                            flag("calls_per_day", "\(ordinal(connected)) connected call on \(date) (debtor-local); the limit is \(cap) connected calls a day")
                        }
                    }
                    // calls_per_7_days: this call and those in the 7×24 h before it.
                    recentCalls.append(contact.occurredMicros)
                    let windowStart = contact.occurredMicros - 7 * 86_400 * 1_000_000
                    recentCalls.removeAll { $0 <= windowStart }
                    if let cap = rulebook?.maxCallsPer7Days, recentCalls.count > cap {
                        flag("calls_per_7_days", "\(ordinal(recentCalls.count)) outbound call within 7×24 h; the limit is \(cap)")
                    }
                    // quiet_after_conversation: day 1 is the conversation's local day.
                    if let quiet = rulebook?.quietDaysAfterConversation, let conversation = lastConversation,
                        when.day - conversation.day < quiet
                    {
                        flag("quiet_after_conversation", "outbound call on day \(when.day - conversation.day + 1) after a conversation on \(conversation.date) (seq \(conversation.seq)); quiet for \(quiet) days")
                    }
                }
                if call.connected, call.party == "debtor" {
                    lastConversation = (when.day, contact.seq, CalendarDate.string(days: when.day))
                }
            case .message:
                break
            }
        }
        outcome.unchecked = !anyChecked && !ordered.isEmpty
        return outcome
    }

    /// A contact's time on the debtor's clock; the text is made only for what is reported.
    struct LocalTime {
        let micros: Int64
        let offsetSeconds: Int
        let day: Int
        let minute: Int
        var time: String { Timestamp(epochMicros: micros).string(offsetMinutes: offsetSeconds / 60) }
    }

    static func ordinal(_ n: Int) -> String {
        let suffix = (11...13).contains(n % 100) ? "th" : ["th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"][n % 10]
        return "\(n)\(suffix)"
    }
}
