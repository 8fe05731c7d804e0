import Foundation

/// Maps data values on one axis to pixels, linearly or in log10 space.
struct AxisScale: Sendable {
    /// Limits in data units.
    let lower: Double
    let upper: Double
    let isLog: Bool

    /// The value in the space the axis is linear in; nil where it cannot be drawn (≤ 0 on a log axis).
    static func transform(_ value: Double, log isLog: Bool) -> Double? {
        guard value.isFinite else { return nil }
        if isLog { return value > 0 ? log10(value) : nil }
        return value
    }

    /// Fraction 0...1 of the way from `lower` to `upper`; nil for values the axis cannot show.
    func fraction(_ value: Double) -> Double? {
        guard let t = Self.transform(value, log: isLog), let lo = Self.transform(lower, log: isLog),
              let hi = Self.transform(upper, log: isLog), hi > lo else { return nil }
        return (t - lo) / (hi - lo)
    }

    /// Limits around finite `values` with a 5 % margin each side (matplotlib's default), widened when
    /// the values are all equal; 0...1 (or 1...10 on a log axis) when there are none.
    static func autoscaled(_ values: [Double], log isLog: Bool, margin: Double = 0.05) -> AxisScale {
        var lo = Double.infinity, hi = -Double.infinity
        for value in values {
            guard let t = transform(value, log: isLog) else { continue }
            lo = min(lo, t)
            hi = max(hi, t)
        }
        if lo > hi {
            return isLog ? AxisScale(lower: 1, upper: 10, isLog: true) : AxisScale(lower: 0, upper: 1, isLog: false)
        }
        if hi == lo {
            let delta = isLog ? 0.3 : (lo == 0 ? 1 : abs(lo) * 0.1)
            lo -= delta
            hi += delta
        } else {
            let pad = (hi - lo) * margin
            lo -= pad
            hi += pad
        }
        return isLog ? AxisScale(lower: pow(10, lo), upper: pow(10, hi), isLog: true)
            : AxisScale(lower: lo, upper: hi, isLog: false)
    }

    func ticks(maxCount: Int) -> [Double] {
        isLog ? Ticks.log(lower, upper, maxCount: maxCount) : Ticks.linear(lower, upper, maxCount: maxCount)
    }

    /// Labels for `ticks`, formatted to the resolution of their spacing.
    static func labels(_ ticks: [Double], log isLog: Bool) -> [String] {
        guard ticks.count >= 2, !isLog else { return ticks.map { Ticks.format($0) } }
        let step = abs(ticks[1] - ticks[0])
        return ticks.map { Ticks.format($0, step: step) }
    }
}
