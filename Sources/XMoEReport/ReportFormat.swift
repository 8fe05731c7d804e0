import Foundation

/// Number formats shared by the terminal summary and the Markdown table: short, fixed precision,
/// "—" for a missing value.
public enum ReportFormat {
    public static let missing = "—"

    /// Decimal SI prefixes: `950`, `12.3k`, `4.50M`, `1.20G` (three significant digits from 1000 up).
    public static func count(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        let magnitude = abs(value)
        if magnitude < 1000 { return value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value) }
        if magnitude >= 999.5e15 { return String(format: "%.2e", value) }
        let prefixes: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        let (scale, prefix) = prefixes.first { magnitude >= $0.0 } ?? (1e3, "k")
        let scaled = value / scale
        let digits = abs(scaled) >= 100 ? 0 : abs(scaled) >= 10 ? 1 : 2
        return String(format: "%.\(digits)f", scaled) + prefix
    }

    /// Losses in nats per token, to 4 decimals.
    public static func loss(_ value: Double?) -> String {
        guard let value else { return missing }
        return value.isFinite ? String(format: "%.4f", value) : "\(value)"
    }

    /// A share as a percentage with 2 decimals.
    public static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        return String(format: "%.2f%%", value * 100)
    }

    /// A dimensionless ratio to 3 decimals.
    public static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        return String(format: "%.3f", value)
    }

    /// `42.0 s`, `4m05s`, `2h03m`.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return missing }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    public static func integer(_ value: Int?) -> String {
        value.map(String.init) ?? missing
    }
}
