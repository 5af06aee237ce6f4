import Foundation

/// Generates a synthetic, realistic collections portfolio: cases walked through the life in
/// DOMAIN.md — calls with a realistic outcome mix at mostly lawful hours (a small share breaks the
/// contact rules: late calls, call bursts, third-party calls, unbooked visits, contact during a
/// restriction), messages, booked visits, plans offered/accepted/declined, promises, payments,
/// voids, restrictions, escalations, complaints, closes — in several time zones and currencies.
///
/// Deterministic: the same `cases` and `seed` give the same events, event ids included. Events
/// come out in append order (cases interleaved by time, a few arriving late), streamed in chunks.
///
/// ```swift
/// try PortfolioGenerator(cases: 100, seed: 42).forEachEvent { envelope in print(CanonicalJSON.string(envelope)) }
/// ```
public struct PortfolioGenerator: Sendable {
    public let cases: Int
    public let seed: UInt64
    /// First day a case may open (days since 1970-01-01); cases open over `spanDays` from it.
    public let startDay: Int
    public let spanDays: Int
    /// Cases generated together and merged by time before they are emitted.
    static let chunkCases = 256
    /// The text of waiting events kept in memory, with their bookkeeping, before they are
    /// written to a temporary file (`ArrivalQueue`). A portfolio of 10^6 events never reaches it.
    public static let waitingBytesInMemory = 64 << 20

    /// How event ids are made: time-ordered UUIDv7 (the default, as modern producers do) or random UUIDv4.
    public enum IDStyle: String, Sendable, CaseIterable {
        case v7, v4
    }

    public let idStyle: IDStyle

    public init(cases: Int, seed: UInt64, idStyle: IDStyle = .v7, startDate: String = "2024-01-02", spanDays: Int = 540) {
        self.cases = cases
        self.seed = seed
        self.idStyle = idStyle
        self.startDay = CalendarDate.days(startDate) ?? 19_724
        self.spanDays = spanDays
    }

    public func forEachEvent(_ body: (JSONValue) throws -> Void) throws {
        try forEachArrival { envelope, _ in try body(envelope) }
    }

    /// Each event with when it reached the ledger (Unix seconds): minutes after it happened for a
    /// dialer or a collector's screen, hours for payment and field-app feeds, days for the few that
    /// arrive late. Appended with these as `recorded_at`, a generated ledger answers `--known-at`
    /// questions as a real one would. Events come in arrival order within each chunk of cases.
    public func forEachArrival(_ body: (JSONValue, Int64) throws -> Void) throws {
        try forEachCanonicalArrival { text, arrival in
            // Text the generator has just written from a tree, in canonical form: it always parses.
            try body(try! JSONParser.parse(bytes: text), arrival)
        }
    }

    /// The same events as their RFC 8785 text (valid only during `body`), which is what waits.
    ///
    /// Chunks of cases overlap in time (a case lives for months), so events wait until no later
    /// chunk can hold an earlier arrival: no case of a later chunk opens before its first day. At
    /// 333,333 cases, months of a portfolio's events wait at once: the process peaked at 862.4 MiB
    /// when they waited as parsed trees, 422.3 MiB as text in memory. Beyond `waitingBytes` they
    /// wait in a temporary file (`ArrivalQueue`), in `spillFolder`.
    public func forEachCanonicalArrival(waitingBytes: Int = Self.waitingBytesInMemory,
                                        spillFolder: String = FileManager.default.temporaryDirectory.path,
                                        _ body: (UnsafeBufferPointer<UInt8>, Int64) throws -> Void) throws {
        var waiting = ArrivalQueue(memoryBytes: waitingBytes, folder: spillFolder)
        var first = 0
        while first < cases {
            let last = min(cases, first + Self.chunkCases)
            var chunk: [ArrivalQueue.Entry] = []
            for index in first..<last {
                var random = SeededRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(index))
                var script = CaseScript(index: index, generator: self, random: random)
                script.live()
                random = script.random
                for (position, entry) in script.arrivalOrder().enumerated() {
                    chunk.append((entry.key, index * 10_000 + position, CanonicalJSON.bytes(entry.event)))
                }
            }
            try waiting.add(chunk)
            // The next chunk's cases open on or after this day (a day's margin for time zones).
            let watermark = last < cases ? Int64(startDay + last * spanDays / max(cases, 1) - 1) * 86_400 : Int64.max
            try waiting.takeBefore(watermark, body)
            first = last
        }
    }
}

/// Where debtors live: region code, IANA zone, currency, staff.
struct Region {
    let code: String
    let zone: String
    let currency: String
    let collectors: [String]
    let visitors: [String]
    let supervisor: String
    let agency: String
    let paymentChannels: [String]
    let branches: [String]
    let chinese: Bool

    static let all: [(Region, Int)] = [
        (Region(code: "CN-SH", zone: "Asia/Shanghai", currency: "CNY", collectors: ["zhang.wei", "li.na", "wang.fang"],
                visitors: ["huang.min", "zhou.jie"], supervisor: "sun.li", agency: "huadong-recovery",
                paymentChannels: ["wechat", "alipay", "bank_transfer"], branches: ["SH-Pudong", "SH-Xuhui"], chinese: true), 30),
        (Region(code: "CN-GD", zone: "Asia/Shanghai", currency: "CNY", collectors: ["liu.yang", "chen.jing"],
                visitors: ["guo.qiang"], supervisor: "he.ping", agency: "nanyue-collect",
                paymentChannels: ["wechat", "alipay", "bank_transfer"], branches: ["GZ-Tianhe", "SZ-Futian"], chinese: true), 20),
        (Region(code: "CN-BJ", zone: "Asia/Shanghai", currency: "CNY", collectors: ["zhao.lei", "wu.xia"],
                visitors: ["ma.tao"], supervisor: "sun.li", agency: "huabei-recovery",
                paymentChannels: ["alipay", "bank_transfer", "cash"], branches: ["BJ-Chaoyang"], chinese: true), 10),
        (Region(code: "HK", zone: "Asia/Hong_Kong", currency: "HKD", collectors: ["w.tan", "c.wong"], visitors: ["k.lau"],
                supervisor: "m.cheung", agency: "harbour-credit", paymentChannels: ["bank_transfer", "card"],
                branches: ["HK-Central"], chinese: true), 5),
        (Region(code: "SG", zone: "Asia/Singapore", currency: "SGD", collectors: ["r.lim"], visitors: ["d.ng"],
                supervisor: "s.goh", agency: "lion-city-collect", paymentChannels: ["bank_transfer", "card"],
                branches: ["SG-Raffles"], chinese: false), 5),
        (Region(code: "US-NY", zone: "America/New_York", currency: "USD", collectors: ["j.smith", "m.garcia", "a.johnson"],
                visitors: ["t.miller"], supervisor: "r.brown", agency: "atlas-collect", paymentChannels: ["card", "bank_transfer"],
                branches: ["NYC-Midtown"], chinese: false), 12),
        (Region(code: "US-MA", zone: "America/New_York", currency: "USD", collectors: ["k.lee", "p.walsh"],
                visitors: ["d.murphy"], supervisor: "e.sullivan", agency: "bay-state-recovery",
                paymentChannels: ["card", "bank_transfer"], branches: ["BOS-Back-Bay"], chinese: false), 6),
        (Region(code: "US-CA", zone: "America/Los_Angeles", currency: "USD", collectors: ["l.nguyen", "s.patel"],
                visitors: ["j.hernandez"], supervisor: "c.davis", agency: "pacific-recovery",
                paymentChannels: ["card", "bank_transfer", "other"], branches: ["LA-Downtown"], chinese: false), 8),
        (Region(code: "US-IL", zone: "America/Chicago", currency: "USD", collectors: ["b.wilson"], visitors: ["m.kowalski"],
                supervisor: "g.martin", agency: "lakeshore-collect", paymentChannels: ["card", "bank_transfer"],
                branches: ["CHI-Loop"], chinese: false), 4),
    ]
}

/// One case's life, event by event, in the order things happened.
struct CaseScript {
    let index: Int
    let generator: PortfolioGenerator
    var random: SeededRandom
    let region: Region
    let zone: TimeZone
    let caseID: String
    var events: [(occurred: Int64, type: String, id: String, event: JSONValue)] = []

    var owed: Int64 = 0
    var paid: Int64 = 0
    var clock: Int64 = 0  // seconds since 1970: the case's "now" as the script advances
    var restrictedUntil: Int64 = 0
    var callIDs: [String] = []
    var paymentIDs: [String] = []

    init(index: Int, generator: PortfolioGenerator, random: SeededRandom) {
        self.index = index
        self.generator = generator
        self.random = random
        region = self.random.weighted(Region.all)
        zone = TimeZone(identifier: region.zone)!
        let year = CalendarDate.civilFromDays(generator.startDay + index * generator.spanDays / max(generator.cases, 1)).year
        caseID = "C-\(year)-\(pad(index + 1, 6))"
    }

    /// Seconds since 1970 of local wall time `hour:minute` on `day` (days since 1970) in the debtor's zone.
    func localTime(day: Int, hour: Int, minute: Int) -> Int64 {
        let approx = Int64(day) * 86_400 + Int64(hour * 3600 + minute * 60)
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(approx))))
        return approx - offset
    }

    func day(of seconds: Int64) -> Int {
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
        return Int((seconds + offset) / 86_400)
    }

    /// How the occurred_at is written: the debtor's local offset, or UTC for system feeds.
    func stamp(_ seconds: Int64, utc: Bool) -> String {
        let time = Timestamp(epochMicros: seconds * 1_000_000)
        if utc { return time.string(offsetMinutes: 0) }
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))) / 60
        return time.string(offsetMinutes: offset)
    }

    @discardableResult
    mutating func add(_ type: EventType, at seconds: Int64, actor: String, utc: Bool = false, _ data: JSONValue) -> String {
        let id = generator.idStyle == .v7 ? random.uuidV7(unixMillis: seconds * 1000) : random.uuid()
        let envelope: JSONValue = .object(JSONObject([
            ("event_id", .string(id)), ("case_id", .string(caseID)), ("type", .string(type.rawValue)),
            ("occurred_at", .string(stamp(seconds, utc: utc))), ("actor", .string(actor)), ("data", data),
        ]))
        events.append((seconds, type.rawValue, id, envelope))
        return id
    }

    var collector: String { "collector:" + region.collectors[index % region.collectors.count] }

    mutating func live() {
        let openDay = generator.startDay + index * generator.spanDays / max(generator.cases, 1) + random.int(0...3)
        let product = random.weighted([("credit_card", 45), ("personal_loan", 35), ("business_loan", 12), ("mortgage", 8)])
        let majorUnits: Int = switch product {
        case "credit_card": random.int(800...60_000)
        case "personal_loan": random.int(5_000...200_000)
        case "business_loan": random.int(50_000...2_000_000)
        default: random.int(20_000...500_000)
        }
        let principal = Int64(majorUnits) * 100 + Int64(random.int(0...99))
        let fees = principal * Int64(random.int(0...8)) / 100
        owed = principal + fees
        clock = localTime(day: openDay, hour: random.int(8...16), minute: random.int(0...59))
        var opening = JSONObject([
            ("debtor_ref", .string("D-\(pad(random.int(0...99_999_999), 8))")),
            ("account_ref", .string("A-\(pad(random.int(0...999_999_999), 10))")),
            ("product", .string(product)), ("currency", .string(region.currency)), ("principal_minor", .int(principal)),
            ("due_date", .string(CalendarDate.string(days: openDay - random.int(30...120)))),
            ("debtor_timezone", .string(region.zone)), ("region", .string(region.code)),
            ("branch", .string(random.pick(region.branches))),
        ])
        if fees > 0 { opening["fees_minor"] = .int(fees) }
        add(.caseOpened, at: clock, actor: "system:intake", utc: true, .object(opening))

        let lifeDays = random.int(20...150)
        let lastDay = openDay + lifeDays
        var workDay = openDay + 1
        var visitsBooked = 0
        var planOffered = false
        var escalated = false
        var complaintFiled = false
        var restrictionCount = 0
        let troubled = random.chance(0.06)  // a case whose collector breaks the rules more often

        var lastConversationDay = Int.min / 2
        while workDay < lastDay, paid < owed {
            let restricted = clock < restrictedUntil
            // After a conversation, collectors mostly give the debtor a quiet week (some do not).
            let quietWeek = workDay - lastConversationDay < 7 && random.chance(troubled ? 0.5 : 0.93)
            // Outbound calls: usually 1–2 a day, sometimes a burst.
            if !quietWeek, !restricted || random.chance(0.08) {
                let calls = random.chance(troubled ? 0.25 : 0.025) ? random.int(4...8) : random.int(1...2)
                for _ in 0..<calls {
                    let (hour, minute) = callHour(troubled: troubled)
                    let at = max(clock + 60, localTime(day: workDay, hour: hour, minute: minute))
                    let outcome = placeCall(at: at, troubled: troubled)
                    if outcome == "connected" {
                        lastConversationDay = workDay
                        afterConversation(day: workDay, planOffered: &planOffered)
                        break
                    }
                }
            }
            // The debtor calls in now and then.
            if random.chance(0.05) {
                clock = max(clock + 60, localTime(day: workDay, hour: random.int(9...18), minute: random.int(0...59)))
                callIDs.append(add(.callPlaced, at: clock, actor: collector, .object(JSONObject([
                    ("direction", "inbound"), ("party", "debtor"), ("outcome", "connected"),
                    ("duration_s", .int(Int64(random.int(60...900)))),
                ]))))
            }
            // Reminders.
            if random.chance(0.12) {
                let channel = random.weighted([("sms", 6), ("letter", 2), ("email", 1), ("app", 2)])
                let (hour, minute) = random.chance(troubled ? 0.15 : 0.01) ? (22, random.int(5...55)) : (random.int(9...17), random.int(0...59))
                clock = max(clock + 60, localTime(day: workDay, hour: hour, minute: minute))
                add(.messageSent, at: clock, actor: channel == "letter" ? collector : "system:messaging", .object(JSONObject([
                    ("channel", .string(channel)), ("party", "debtor"),
                    ("template", .string(random.pick(["reminder-1", "reminder-2", "final-notice", "plan-confirmation"]))),
                ])))
            }
            // A field visit for some cases, usually booked in advance.
            if visitsBooked < 2, workDay - openDay > 15, random.chance(0.03) {
                visitsBooked += 1
                visit(day: workDay)
            }
            // Restrictions: a dispute, hardship, a cease request.
            if restrictionCount == 0, random.chance(0.004) {
                restrictionCount += 1
                restrict(day: workDay)
            }
            // Escalation of long-running cases.
            if !escalated, workDay - openDay > 45, random.chance(0.01) {
                escalated = true
                let to = random.weighted([("supervisor", 5), ("agency", 3), ("legal", 1)])
                clock = max(clock + 60, localTime(day: workDay, hour: random.int(9...17), minute: random.int(0...59)))
                var escalation = JSONObject([("to", .string(to)), ("reason", .string(random.pick([
                    "no payment after 45 days", "broken promise to pay", "debtor unreachable", "plan defaulted",
                ])))])
                if to == "agency" { escalation["agency_id"] = .string(region.agency) }
                add(.caseEscalated, at: clock, actor: "supervisor:" + region.supervisor, .object(escalation))
            }
            // A complaint, sometimes resolved.
            if !complaintFiled, random.chance(troubled ? 0.02 : 0.0015) {
                complaintFiled = true
                complain(day: workDay)
            }
            // Mistakes happen and are corrected by a void.
            if random.chance(0.01), let target = (random.chance(0.5) ? callIDs.last : paymentIDs.last) {
                let targetTime = events.first(where: { $0.id == target })!.occurred
                let isPayment = paymentIDs.last == target
                add(.entryVoided, at: max(clock, targetTime) + Int64(random.int(600...7200)), actor: "supervisor:" + region.supervisor, .object(JSONObject([
                    ("voids", .string(target)),
                    ("reason", .string(isPayment ? "payment reversed by the bank" : "duplicate entry from the dialer feed")),
                ])))
                if isPayment { paymentIDs.removeLast() } else { callIDs.removeLast() }
            }
            workDay += random.int(2...5)
        }
        close(lastDay: lastDay)
    }

    mutating func callHour(troubled: Bool) -> (Int, Int) {
        if random.chance(troubled ? 0.2 : 0.02) {
            return random.chance(0.6) ? (random.int(21...22), random.int(0...59)) : (7, random.int(0...59))
        }
        return (random.int(9...19), random.int(0...59))
    }

    mutating func placeCall(at seconds: Int64, troubled: Bool) -> String {
        clock = seconds
        let outcome = random.weighted([("no_answer", 45), ("connected", 25), ("voicemail", 15), ("refused", 8), ("wrong_number", 4)])
        let party = random.chance(troubled ? 0.08 : 0.015) ? random.pick(["third_party", "emergency_contact"]) : "debtor"
        var call = JSONObject([("direction", "outbound"), ("party", .string(party)), ("outcome", .string(outcome))])
        let seconds = outcome == "connected" ? random.int(40...1200) : (outcome == "voicemail" ? random.int(15...60) : 0)
        call["duration_s"] = .int(Int64(seconds))
        if outcome == "connected" { call["recording_ref"] = .string("rec/\(caseID)/\(random.int(100_000...999_999))") }
        if outcome == "connected", random.chance(0.3) { call["notes"] = .string(callNote()) }
        callIDs.append(add(.callPlaced, at: clock, actor: random.chance(0.85) ? collector : "system:dialer", .object(call)))
        return outcome
    }

    mutating func callNote() -> String {
        if region.chinese {
            return random.pick([
                "债务人称本月失业，\n下月可还款。", "债务人同意本周五前还款。", "家人生病住院，\t请求延期。",
                "债务人情绪激动，已安抚。", "承诺分期还款，待确认方案。",
            ])
        }
        return random.pick([
            "Debtor lost job last month; can pay from next month.", "Agreed to pay by Friday.",
            "Family illness; asked for a deferral.", "Disputes the fee amount; sent statement.",
            "Wants an installment plan; will confirm.",
        ])
    }

    /// After a conversation about the debt: a promise, a plan, or payments.
    mutating func afterConversation(day: Int, planOffered: inout Bool) {
        if random.chance(0.1) {
            clock += 120
            add(.noteRecorded, at: clock, actor: collector, .object(JSONObject([("text", .string(callNote()))])))
        }
        let balance = owed - paid
        if !planOffered, random.chance(0.2), balance > 10_000 {
            planOffered = true
            offerPlan(day: day, balance: balance)
        } else if random.chance(0.35) {
            let amount = max(1, balance / Int64(random.int(1...4)))
            let promised = day + random.int(2...14)
            clock += 60
            add(.promiseMade, at: clock, actor: collector, .object(JSONObject([
                ("amount_minor", .int(amount)), ("promised_date", .string(CalendarDate.string(days: promised))),
            ])))
            if random.chance(0.6) {
                pay(amount: random.chance(0.8) ? amount : amount / 2, day: promised)
            }
        }
    }

    mutating func offerPlan(day: Int, balance: Int64) {
        let planID = "P-\(caseID)-1"
        let kind = random.weighted([("installments", 6), ("deferral", 2), ("settlement", 2)])
        let total = kind == "settlement" ? balance * Int64(random.int(50...85)) / 100 : balance
        let count = kind == "installments" ? random.int(3...12) : 1
        let firstDue = day + (kind == "deferral" ? 90 : 30)
        var installments: [JSONValue] = []
        var remaining = total
        for n in 0..<count {
            let amount = n == count - 1 ? remaining : total / Int64(count)
            remaining -= amount
            installments.append(.object(JSONObject([
                ("due_date", .string(CalendarDate.string(days: firstDue + 30 * n))), ("amount_minor", .int(max(1, amount))),
            ])))
        }
        clock += 300
        add(.planOffered, at: clock, actor: collector, .object(JSONObject([
            ("plan_id", .string(planID)), ("kind", .string(kind)), ("installments", .array(installments)),
            ("total_minor", .int(max(1, total))), ("grace_days", .int(Int64(random.int(0...10)))),
        ])))
        let decided = localTime(day: day + random.int(1...5), hour: random.int(9...18), minute: random.int(0...59))
        if random.chance(0.6) {
            add(.planAccepted, at: decided, actor: collector, .object(JSONObject([("plan_id", .string(planID))])))
            if kind == "settlement" { owed = paid + total }
            for (n, installment) in installments.enumerated() where random.chance(0.8) {
                pay(amount: installment["amount_minor"]!.intValue!, day: firstDue + 30 * n - random.int(0...3))
            }
        } else {
            add(.planDeclined, at: decided, actor: collector, .object(JSONObject([("plan_id", .string(planID))])))
        }
    }

    mutating func pay(amount requested: Int64, day: Int) {
        let amount = max(1, requested)
        // Payment feeds arrive on their own schedule: they do not move the collector's day along.
        let at = max(clock + 60, localTime(day: day, hour: random.int(0...23), minute: random.int(0...59)))
        paid += amount
        paymentIDs.append(add(.paymentReceived, at: at, actor: "system:payments", utc: true, .object(JSONObject([
            ("amount_minor", .int(amount)), ("currency", .string(region.currency)),
            ("channel", .string(random.pick(region.paymentChannels))), ("reference", .string("PAY-\(random.int(10_000_000...99_999_999))")),
        ]))))
    }

    mutating func visit(day: Int) {
        let visitID = "V-\(caseID)-\(events.count)"
        let visitor = "visitor:" + random.pick(region.visitors)
        let visitDay = day + random.int(2...7)
        let when = localTime(day: visitDay, hour: random.int(9...17), minute: random.chance(0.5) ? 0 : 30)
        if random.chance(0.93) {
            clock = max(clock + 60, localTime(day: day, hour: random.int(9...18), minute: random.int(0...59)))
            add(.visitBooked, at: clock, actor: collector, .object(JSONObject([
                ("visit_id", .string(visitID)), ("scheduled_for", .string(stamp(when, utc: false))),
                ("location", .string(random.weighted([("home", 7), ("workplace", 2), ("other", 1)]))),
                ("booked_via", .string(random.pick(["call", "sms", "letter"]))),
            ])))
            if random.chance(0.15) {
                add(.visitCancelled, at: max(clock + 60, when - 86_400), actor: visitor, .object(JSONObject([
                    ("visit_id", .string(visitID)), ("reason", .string("debtor asked to reschedule")),
                ])))
                return
            }
        }
        let outcome = random.weighted([("met_debtor", 6), ("not_home", 3), ("refused_entry", 1)])
        var report = JSONObject([("visit_id", .string(visitID)), ("outcome", .string(outcome))])
        if outcome == "met_debtor" {
            let hardship = random.chance(0.3)
            report["hardship"] = .bool(hardship)
            report["findings"] = .string(region.chinese
                ? (hardship ? "家中有病人，收入减少。" : "债务人在家，表示愿意还款。")
                : (hardship ? "Household income fell after an illness." : "Debtor at home, willing to pay."))
        }
        add(.visitCompleted, at: max(clock + 60, when), actor: visitor, .object(report))
    }

    mutating func restrict(day: Int) {
        let restrictionID = "R-\(caseID)-1"
        let kind = random.weighted([("dispute_hold", 3), ("hardship_hold", 3), ("cease_all", 1), ("no_calls", 1),
                                    ("no_visits", 1), ("no_workplace_contact", 1)])
        clock = max(clock + 60, localTime(day: day, hour: random.int(9...17), minute: random.int(0...59)))
        let days = random.int(7...30)
        let ends = clock + Int64(days) * 86_400
        var restriction = JSONObject([("restriction_id", .string(restrictionID)), ("kind", .string(kind)),
                                      ("reason", .string(kind == "hardship_hold" ? "medical hardship reported" : "debtor request"))])
        let expires = random.chance(0.4)
        if expires { restriction["until"] = .string(stamp(ends, utc: false)) }
        add(.contactRestricted, at: clock, actor: "supervisor:" + region.supervisor, .object(restriction))
        restrictedUntil = ends
        if !expires, random.chance(0.6) {
            add(.contactRestrictionLifted, at: ends, actor: "supervisor:" + region.supervisor, .object(JSONObject([
                ("restriction_id", .string(restrictionID)), ("reason", "dispute resolved"),
            ])))
        }
    }

    mutating func complain(day: Int) {
        let complaintID = "CP-\(caseID)-1"
        clock = max(clock + 60, localTime(day: day, hour: random.int(9...17), minute: random.int(0...59)))
        let category = random.weighted([("contact_time", 3), ("contact_frequency", 3), ("harassment", 1),
                                        ("privacy_disclosure", 1), ("wrong_amount", 1), ("other", 1)])
        add(.complaintFiled, at: clock, actor: "system:complaints", .object(JSONObject([
            ("complaint_id", .string(complaintID)), ("channel", .string(random.pick(["phone", "letter", "branch", "regulator"]))),
            ("category", .string(category)),
            ("description", .string(Self.complaintText(category, chinese: region.chinese))),
            ("period_from", .string(CalendarDate.string(days: day - 30))), ("period_to", .string(CalendarDate.string(days: day))),
        ])))
        if random.chance(0.6) {
            add(.complaintResolved, at: clock + Int64(random.int(2...10)) * 86_400, actor: "supervisor:" + region.supervisor, .object(JSONObject([
                ("complaint_id", .string(complaintID)),
                ("finding", .string(random.pick(["upheld", "partially_upheld", "rejected"]))),
                ("remedy", .string("apology letter; contact schedule reviewed")),
            ])))
        }
    }

    /// What a debtor says, for each kind of complaint.
    static func complaintText(_ category: String, chinese: Bool) -> String {
        switch (category, chinese) {
        case ("contact_time", true): "晚上十点后还在打催收电话，早上七点也打来。"
        case ("contact_time", false): "They called me after 9 pm and again before 8 in the morning."
        case ("contact_frequency", true): "催收电话太频繁，一天打了好几次。"
        case ("contact_frequency", false): "Too many calls: several a day, every day this week."
        case ("harassment", true): "催收员态度恶劣，多次辱骂和威胁。"
        case ("harassment", false): "The collector was abusive on the phone and would not let me speak."
        case ("privacy_disclosure", true): "催收员把我的欠款告诉了我的同事和家人。"
        case ("privacy_disclosure", false): "The collector told my employer and my neighbour about the debt."
        case ("wrong_amount", true): "催收金额与账单不符，多收了费用。"
        case ("wrong_amount", false): "The amount they ask for is higher than my statement; the fees are wrong."
        case (_, true): "对催收方式不满意，要求说明。"
        default: "I am unhappy with how my account is being collected and ask for an explanation."
        }
    }

    mutating func close(lastDay: Int) {
        let latest = events.map(\.occurred).max() ?? clock
        let at = max(latest + 3600, localTime(day: lastDay, hour: 17, minute: 30))
        if paid >= owed {
            add(.caseClosed, at: at, actor: "system:intake", .object(JSONObject([("reason", "paid_in_full")])))
        } else if random.chance(0.25) {
            add(.caseClosed, at: at, actor: "supervisor:" + region.supervisor, .object(JSONObject([
                ("reason", .string(random.weighted([("settled", 2), ("written_off", 2), ("transferred", 1)]))),
            ])))
        }
    }

    /// When each event reaches the ledger, and so the order the ledger receives them: a dialer's
    /// call or a collector's note minutes later, a payment or field-app record hours later, and a
    /// few calls and payments days late, as real feeds do. A case's opening always arrives first.
    mutating func arrivalOrder() -> [(key: Int64, event: JSONValue)] {
        var arrivals: [(arrival: Int64, order: Int, event: JSONValue)] = []
        for (order, entry) in events.enumerated() {
            let delay: Int64
            switch entry.type {
            case "case.opened": delay = 0
            case "payment.received": delay = random.chance(0.02) ? Int64(random.int(2...6)) * 86_400 : Int64(random.int(1...12)) * 3600
            case "visit.completed", "visit.cancelled": delay = Int64(random.int(30...360)) * 60
            case "call.placed": delay = random.chance(0.01) ? Int64(random.int(1...4)) * 86_400 : Int64(random.int(1...20)) * 60
            case "complaint.filed", "complaint.resolved", "case.escalated", "entry.voided": delay = Int64(random.int(10...240)) * 60
            default: delay = Int64(random.int(1...30)) * 60
            }
            arrivals.append((entry.occurred + delay, order, entry.event))
        }
        // What the ledger requires of the order: the opening first, a void after what it voids,
        // and the close last (nothing may follow it).
        let opening = arrivals.first?.arrival ?? 0
        for index in arrivals.indices.dropFirst() { arrivals[index].arrival = max(arrivals[index].arrival, opening + 1) }
        for (index, entry) in events.enumerated() where entry.type == "entry.voided" {
            if let target = entry.event["data"]?["voids"]?.stringValue, let targetIndex = events.firstIndex(where: { $0.id == target }) {
                arrivals[index].arrival = max(arrivals[index].arrival, arrivals[targetIndex].arrival + 60)
            }
        }
        if let close = events.firstIndex(where: { $0.type == "case.closed" }) {
            let others = arrivals.indices.filter { $0 != close }.map { arrivals[$0].arrival }.max() ?? 0
            arrivals[close].arrival = max(arrivals[close].arrival, others + 60)
        }
        return arrivals.sorted { ($0.arrival, $0.order) < ($1.arrival, $1.order) }.map { ($0.arrival, $0.event) }
    }
}
