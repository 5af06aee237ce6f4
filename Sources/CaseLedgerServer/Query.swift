import CaseLedgerCore
import Hummingbird

/// A request's query parameters, read with the checks every endpoint shares: a wrong value is
/// 400 naming the parameter and what it takes.
struct Query {
    let request: Request

    init(_ request: Request) { self.request = request }

    func string(_ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init)
    }

    func required(_ name: String) throws -> String {
        guard let value = string(name), !value.isEmpty else { throw APIError.badRequest("the query parameter \(name) is required") }
        return value
    }

    func int(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = string(name) else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw APIError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound); got \(JSONText.quoted(text))")
        }
        return value
    }

    /// Seconds, possibly fractional (`wait=0.5`).
    func seconds(_ name: String, max: Int) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0, value <= Double(max) else {
            throw APIError.badRequest("\(name) must be a number of seconds from 0 to \(max); got \(JSONText.quoted(text))")
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        switch string(name) {
        case nil: return nil
        case "true", "1": return true
        case "false", "0": return false
        case let other?: throw APIError.badRequest("\(name) must be true or false; got \(JSONText.quoted(other))")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError.badRequest("\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")); got \(JSONText.quoted(text))")
        }
        return value
    }

    /// A time's text. A `+` of an offset left unescaped in a URL arrives as a space: it is read back as `+`.
    func time(_ name: String) -> String? {
        string(name).map { $0.replacingOccurrences(of: " ", with: "+") }
    }

    /// An instant (RFC 3339).
    func timestamp(_ name: String) throws -> Timestamp? {
        guard let text = time(name) else { return nil }
        guard let time = Timestamp(rfc3339: text), time.isInLedgerRange else {
            throw APIError.badRequest("\(name): " + (Timestamp.problem(rfc3339: text) ?? "\(JSONText.quoted(text)) is not an RFC 3339 time in \(Limits.earliestDate)…\(Limits.latestDate)"))
        }
        return time
    }

    /// A bound of a period: an RFC 3339 time, or a date (that day on the debtor's clock).
    func timeBound(_ name: String) throws -> TimeBound? {
        guard let text = time(name) else { return nil }
        guard let bound = TimeBound(text) else { throw APIError.badRequest(TimeBound.problem(text, option: name)) }
        return bound
    }
}
