import Foundation

/// Tick positions and labels for chart axes.
public enum Ticks {
    /// The multiples of the smallest 1-2-5 step (1, 2 or 5 × 10^k) that puts at most `maxCount`
    /// ticks inside `lo...hi`.
    public static func linear(_ lo: Double, _ hi: Double, maxCount: Int) -> [Double] {
        guard lo.isFinite, hi.isFinite else { return [] }
        guard hi > lo else { return [lo] }
        let limit = max(2, maxCount)
        var exponent = Int((log10((hi - lo) / Double(limit))).rounded(.down)) - 1
        while true {
            for mantissa in [1.0, 2.0, 5.0] {
                let step = mantissa * pow(10, Double(exponent))
                let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
                if last - first + 1 <= Double(limit) {
                    return stride(from: first, through: last, by: 1).map { clean($0 * step, step: step) }
                }
            }
            exponent += 1
        }
    }

    /// Ticks for a log axis over `lo...hi` (data units, both > 0): powers of ten (every n-th decade
    /// when there are too many), else 1-2-5 multiples within the decade, else linear ticks.
    public static func log(_ lo: Double, _ hi: Double, maxCount: Int) -> [Double] {
        guard lo > 0, hi >= lo, lo.isFinite, hi.isFinite else { return [] }
        let limit = max(2, maxCount)
        let lowDecade = Int((log10(lo) - 1e-9).rounded(.up)), highDecade = Int((log10(hi) + 1e-9).rounded(.down))
        let decadeCount = highDecade - lowDecade + 1
        if decadeCount >= 2 {
            let every = (decadeCount + limit - 1) / limit
            return (lowDecade...highDecade).filter { $0 % every == 0 }.map { pow(10, Double($0)) }
        }
        let firstDecade = Int(log10(lo).rounded(.down)), lastDecade = Int(log10(hi).rounded(.down))
        for mantissas in [[1.0, 2.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]] {
            var ticks = [Double]()
            for decade in firstDecade...lastDecade {
                for m in mantissas {
                    let value = m * pow(10, Double(decade))
                    if value >= lo * (1 - 1e-9) && value <= hi * (1 + 1e-9) { ticks.append(value) }
                }
            }
            if ticks.count >= 2 && ticks.count <= limit { return ticks }
        }
        return linear(lo, hi, maxCount: limit).filter { $0 > 0 }
    }

    /// A compact label: "0", "0.25", "15", "1k", "2.5M", "0.001", "1e-4".
    public static func format(_ value: Double, step: Double? = nil) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let magnitude = abs(value)
        let resolution = step.map { abs($0) } ?? magnitude
        if magnitude == 0 || (resolution > 0 && magnitude < resolution * 1e-9) { return "0" }
        let sign = value < 0 ? "-" : ""
        if magnitude < 1e-3 || magnitude >= 1e15 { return sign + scientific(magnitude) }
        for (unit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where magnitude >= unit {
            return sign + decimal(magnitude / unit, resolution: resolution / unit) + suffix
        }
        return sign + decimal(magnitude, resolution: resolution)
    }

    /// The fewest decimals (at most 6) that show `value` to within a millionth of `resolution`.
    private static func decimal(_ value: Double, resolution: Double) -> String {
        let tolerance = max(resolution, value) * 1e-6
        var decimals = 0
        while decimals < 6 {
            let scale = pow(10, Double(decimals))
            if abs((value * scale).rounded() / scale - value) <= tolerance { break }
            decimals += 1
        }
        return String(format: "%.\(decimals)f", value)
    }

    private static func scientific(_ magnitude: Double) -> String {
        var exponent = Int(log10(magnitude).rounded(.down))
        var mantissa = magnitude / pow(10, Double(exponent))
        if (mantissa * 100).rounded() >= 1000 {
            exponent += 1
            mantissa /= 10
        }
        return decimal((mantissa * 100).rounded() / 100, resolution: 0.01) + "e\(exponent)"
    }

    /// Removes the floating-point residue of `index * step` (0.30000000000000004 → 0.3).
    private static func clean(_ value: Double, step: Double) -> Double {
        let decimals = max(0, min(300, -Int(log10(step).rounded(.down)) + 1))
        let scale = pow(10, Double(decimals))
        return (value * scale).rounded() / scale
    }
}
