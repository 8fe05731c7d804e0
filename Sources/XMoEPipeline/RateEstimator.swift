/// Rate and ETA for long work (documents/s while preparing data, tokens/s while training), measured
/// over a sliding window so the estimate follows the current speed rather than the whole history.
public struct RateEstimator: Sendable {
    public let total: Double?
    public let window: Double
    private var samples: [(time: Double, done: Double)] = []

    public init(total: Double?, window: Double = 30) {
        self.total = total
        self.window = window
    }

    /// `done` units finished by `time` (seconds on any monotonic clock).
    public mutating func record(done: Double, at time: Double) {
        samples.append((time, done))
        // Keep one sample at or before the window start as the anchor, so the span covers the window.
        while samples.count > 2 && samples[1].time <= time - window {
            samples.removeFirst()
        }
    }

    public var done: Double { samples.last?.done ?? 0 }

    /// Units per second over the window; nil until two samples span some time.
    public var rate: Double? {
        guard let first = samples.first, let last = samples.last, last.time > first.time else { return nil }
        return (last.done - first.done) / (last.time - first.time)
    }

    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(max(done / total, 0), 1)
    }

    /// Seconds left at the current rate; nil without a total or a positive rate.
    public var etaSeconds: Double? {
        guard let total, let rate, rate > 0 else { return nil }
        return max(total - done, 0) / rate
    }

    /// "1.20k docs/s, ETA 3m05s" (`unit` "docs"), or "35.0 MB/s, ETA 20s" (`unit` "B", shown in bytes).
    public func summary(unit: String) -> String {
        guard let rate else { return "measuring…" }
        let rateText = unit == "B"
            ? ProgressFormat.bytes(rate) + "/s" : ProgressFormat.count(rate) + " \(unit)/s"
        guard let eta = etaSeconds else { return rateText }
        return rateText + ", ETA " + ProgressFormat.duration(eta)
    }
}

/// Short human forms for progress lines.
public enum ProgressFormat {
    /// "42s", "3m05s", "2h03m".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + twoDigits(whole % 60) + "s" }
        return "\(whole / 3600)h" + twoDigits(whole / 60 % 60) + "m"
    }

    /// "950", "12.3k", "4.50M", "1.20G" — decimal prefixes, three significant digits.
    public static func count(_ value: Double) -> String {
        scaled(value, units: ["", "k", "M", "G", "T"], separator: "")
    }

    /// "512 B", "1.50 MB" — decimal (1 MB = 10^6 bytes), as disk and network rates are quoted.
    public static func bytes(_ value: Double) -> String {
        scaled(value, units: ["B", "kB", "MB", "GB", "TB"], separator: " ")
    }

    public static func percent(_ fraction: Double) -> String {
        "\(Int((min(max(fraction, 0), 1) * 100).rounded(.down)))%"
    }

    private static func scaled(_ value: Double, units: [String], separator: String) -> String {
        // Past the largest prefix, "1.23e+18" reads better than "1230000T".
        let largest = (1..<units.count).reduce(999.5) { product, _ in product * 1000 }
        if abs(value) >= largest || !value.isFinite {
            return scientific(value) + separator + units[0]
        }
        var scaled = value
        var unit = 0
        while abs(scaled) >= 999.5 && unit < units.count - 1 {
            scaled /= 1000
            unit += 1
        }
        let text: String
        if unit == 0 {
            text = "\(Int(scaled.rounded()))"
        } else if abs(scaled) < 9.995 {
            text = fixed(scaled, digits: 2)
        } else if abs(scaled) < 99.95 {
            text = fixed(scaled, digits: 1)
        } else {
            text = "\(Int(scaled.rounded()))"
        }
        return text + separator + units[unit]
    }

    /// "1.23e+18" (three significant digits), as C's %.2e writes it.
    public static func scientific(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value == 0 { return "0.00e+00" }
        var mantissa = abs(value), exponent = 0
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        var hundredths = Int((mantissa * 100).rounded())
        if hundredths >= 1000 { hundredths /= 10; exponent += 1 }
        return (value < 0 ? "-" : "") + "\(hundredths / 100)." + twoDigits(hundredths % 100)
            + "e" + (exponent < 0 ? "-" : "+") + twoDigits(abs(exponent))
    }

    /// `digits` decimals up to 10^5, scientific beyond (a diverging loss or gradient norm).
    public static func decimal(_ value: Double, digits: Int) -> String {
        guard value.isFinite, abs(value) < 1e5 else { return scientific(value) }
        let factor = (0..<digits).reduce(1.0) { product, _ in product * 10 }
        let scaled = Int((abs(value) * factor).rounded())
        let whole = scaled / Int(factor), fraction = String(scaled % Int(factor))
        let padded = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        return (value < 0 && scaled != 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + padded : "")
    }

    private static func fixed(_ value: Double, digits: Int) -> String {
        let factor = digits == 1 ? 10.0 : 100.0
        let rounded = Int((abs(value) * factor).rounded())
        let sign = value < 0 ? "-" : ""
        let fractional = rounded % Int(factor)
        let padded = digits == 2 && fractional < 10 ? "0\(fractional)" : "\(fractional)"
        return "\(sign)\(rounded / Int(factor)).\(padded)"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
