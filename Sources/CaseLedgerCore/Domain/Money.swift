/// Money for people: minor units shown with the decimals of the currency (ISO 4217: JPY and
/// KRW have none, KWD and BHD three, most two), digits grouped by thousands. The one formatter
/// every command, the evidence page, the API and the console use.
///
/// ```swift
/// Money.format(1_234_567, currency: "CNY")   // "12,345.67 CNY"
/// Money.format(1_000, currency: "JPY")       // "1,000 JPY"
/// ```
public enum Money {
    static let zeroDecimal: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    static let threeDecimal: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]

    /// The ISO 4217 minor-unit exponent of `currency` (2 when unknown).
    public static func exponent(_ currency: String?) -> Int {
        guard let currency else { return 2 }
        return zeroDecimal.contains(currency) ? 0 : threeDecimal.contains(currency) ? 3 : 2
    }

    public static func format(_ minor: Int64, currency: String?) -> String {
        let places = exponent(currency)
        var divisor: UInt64 = 1
        for _ in 0..<places { divisor *= 10 }
        let magnitude = minor.magnitude
        let whole = String(magnitude / divisor)
        var grouped = ""
        for (offset, digit) in whole.enumerated() {
            if offset > 0, (whole.count - offset) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        var text = (minor < 0 ? "-" : "") + grouped
        if places > 0 {
            let fraction = String(magnitude % divisor)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return currency.map { text + " " + $0 } ?? text
    }
}
