import Foundation

/// The type and allowed range of one spec key. Values from files and from overrides are checked
/// by the same rules, so `model.hidden=abc` fails exactly like `hidden: abc` in a file.
public enum SpecType: Sendable {
    case int(min: Int, max: Int)
    case float(min: Double, max: Double, minInclusive: Bool = true)
    case bool
    case string(nonEmpty: Bool)
    case choice([String])
    case stringList(nonEmpty: Bool)
    case floatList(min: Double)

    /// What is allowed, in words, for error messages and the README reference.
    public var allowed: String {
        switch self {
        case let .int(min, max):
            if max == Int.max { return "an integer ≥ \(min)" }
            return "an integer in [\(min), \(max)]"
        case let .float(min, max, minInclusive):
            let lower = minInclusive ? "[\(SpecValue.canonicalFloat(min))" : "(\(SpecValue.canonicalFloat(min))"
            if max == .infinity { return "a number \(minInclusive ? "≥" : ">") \(SpecValue.canonicalFloat(min))" }
            return "a number in \(lower), \(SpecValue.canonicalFloat(max))]"
        case .bool: return "true or false"
        case let .string(nonEmpty): return nonEmpty ? "a non-empty string" : "a string"
        case let .choice(options): return "one of " + options.joined(separator: ", ")
        case let .stringList(nonEmpty): return nonEmpty ? "a non-empty list of strings" : "a list of strings"
        case let .floatList(min): return "a list of numbers ≥ \(SpecValue.canonicalFloat(min))"
        }
    }

    /// Converts one YAML scalar (or an override's text) to a value of this type.
    /// Returns nil when the text is not of the type; `check` then reports the range.
    func parseScalar(_ text: String) -> SpecValue? {
        switch self {
        case .int:
            if let v = SpecType.parseInt(text) { return .int(v) }
            return nil
        case .float:
            if let v = SpecType.parseFloat(text) { return .float(v) }
            return nil
        case .bool:
            switch text {
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: return nil
            }
        case .string, .choice:
            return .string(text)
        case .stringList, .floatList:
            return nil
        }
    }

    /// Integers may be written `2048`, `1_000_000` or, when integral, `300e9`.
    static func parseInt(_ raw: String) -> Int? {
        let text = raw.replacingOccurrences(of: "_", with: "")
        if let v = Int(text) { return v }
        if text.contains("e") || text.contains("E"), let d = Double(text), d.isFinite,
           d == d.rounded(), abs(d) < 9.0e18 {
            return Int(d)
        }
        return nil
    }

    static func parseFloat(_ raw: String) -> Double? {
        let text = raw.replacingOccurrences(of: "_", with: "")
        guard let v = Double(text), v.isFinite else { return nil }
        // Reject Swift's leniencies that YAML readers would not accept as numbers.
        if text.lowercased().hasPrefix("0x") || text.lowercased().contains("inf") || text.lowercased().contains("nan") {
            return nil
        }
        return v
    }

    /// Range and membership check of an already-typed value; returns the problem, if any.
    func violation(of value: SpecValue) -> String? {
        switch (self, value) {
        case let (.int(min, max), .int(v)):
            return (v < min || v > max) ? "\(v) is out of range: expected \(allowed)" : nil
        case let (.float(min, max, minInclusive), .float(v)):
            let low = minInclusive ? v < min : v <= min
            return (low || v > max) ? "\(SpecValue.canonicalFloat(v)) is out of range: expected \(allowed)" : nil
        case let (.string(nonEmpty), .string(s)):
            // Strings name files and directories; a NUL would cut the path short in every system call.
            if s.unicodeScalars.contains("\u{0}") { return "must not contain a NUL character" }
            return nonEmpty && s.isEmpty ? "must not be empty" : nil
        case let (.choice(options), .string(s)):
            if options.contains(s) { return nil }
            var text = "'\(s)' is not allowed: expected \(allowed)"
            if let near = closestMatch(to: s, among: options) { text += " (did you mean '\(near)'?)" }
            return text
        case let (.stringList(nonEmpty), .list(items)):
            for case let .string(s) in items where s.unicodeScalars.contains("\u{0}") { return "must not contain a NUL character" }
            return nonEmpty && items.isEmpty ? "must not be empty" : nil
        case let (.floatList(min), .list(items)):
            for case let .float(v) in items where v < min { return "\(v) is out of range: expected \(allowed)" }
            return nil
        case (.bool, .bool):
            return nil
        default:
            return "expected \(allowed)"
        }
    }
}
