/// One human sentence per event, for the audit trail:
/// "zhang.wei called the debtor (outbound): no answer, 0 s".
public enum AuditSummary {
    /// `currency` is the case's, for the amounts of events whose data carries none (promises, plans).
    public static func sentence(type: EventType, actor: String, data: JSONValue, currency caseCurrency: String? = nil) -> String {
        let who = actor.split(separator: ":", maxSplits: 1).last.map(String.init) ?? actor
        func s(_ key: String) -> String { data[key]?.stringValue ?? "?" }
        func words(_ key: String) -> String { s(key).codeAsWords }
        func money(_ key: String, _ currency: String? = nil) -> String {
            Money.format(data[key]?.intValue ?? 0, currency: currency ?? caseCurrency)
        }
        switch type {
        case .caseOpened:
            return "\(who) opened the case: \(words("product")), \(money("principal_minor", s("currency"))) owed, due \(s("due_date")), debtor in \(s("debtor_timezone"))"
        case .callPlaced:
            let duration = data["duration_s"]?.intValue.map { ", \($0) s" } ?? ""
            let verb = s("direction") == "inbound" ? "took a call from" : "called"
            let campaign = data["dialer_campaign"]?.stringValue.map { ", campaign \($0)" } ?? ""
            return "\(who) \(verb) the \(words("party")) (\(s("direction"))): \(words("outcome"))\(duration)\(campaign)"
        case .messageSent:
            let channel = ["sms": "an SMS", "letter": "a letter", "email": "an e-mail", "app": "an app notice"][s("channel")] ?? s("channel")
            return "\(who) sent the \(words("party")) \(channel) (\(s("template")))"
        case .visitBooked:
            return "\(who) booked visit \(s("visit_id")) at the debtor's \(s("location")) for \(s("scheduled_for")) (by \(words("booked_via")))"
        case .visitCompleted:
            let hardship = data["hardship"]?.boolValue == true ? "; hardship found" : ""
            return "\(who) made visit \(s("visit_id")): \(words("outcome"))\(hardship)"
        case .visitCancelled:
            return "\(who) cancelled visit \(s("visit_id")): \(s("reason"))"
        case .planOffered:
            let count = data["installments"]?.arrayValue?.count ?? 0
            return "\(who) offered plan \(s("plan_id")): \(s("kind")), \(money("total_minor")) in \(count) installment\(count == 1 ? "" : "s")"
        case .planAccepted:
            return "\(who) recorded that the debtor accepted plan \(s("plan_id"))"
        case .planDeclined:
            return "\(who) recorded that the debtor declined plan \(s("plan_id"))"
        case .promiseMade:
            return "\(who) recorded a promise to pay \(money("amount_minor")) by \(s("promised_date"))"
        case .paymentReceived:
            return "\(who) received a payment of \(money("amount_minor", s("currency"))) by \(words("channel")) (ref \(s("reference")))"
        case .caseEscalated:
            let agency = data["agency_id"]?.stringValue.map { " (\($0))" } ?? ""
            return "\(who) escalated the case to \(s("to"))\(agency): \(s("reason"))"
        case .complaintFiled:
            return "\(who) filed complaint \(s("complaint_id")) (\(words("category")), by \(s("channel")))"
        case .complaintResolved:
            return "\(who) resolved complaint \(s("complaint_id")): \(words("finding")); \(s("remedy"))"
        case .contactRestricted:
            let until = data["until"]?.stringValue.map { " until \($0)" } ?? ""
            return "\(who) restricted contact (\(words("kind")))\(until): \(s("reason"))"
        case .contactRestrictionLifted:
            return "\(who) lifted restriction \(s("restriction_id")): \(s("reason"))"
        case .noteRecorded:
            let text = s("text").replacingOccurrences(of: "\n", with: " ")
            return "\(who) noted: \(text.count > 120 ? String(text.prefix(120)) + "…" : text)"
        case .entryVoided:
            return "\(who) voided event \(s("voids")): \(s("reason"))"
        case .caseClosed:
            return "\(who) closed the case: \(words("reason"))"
        }
    }
}
