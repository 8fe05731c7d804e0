/// A single resolved spec value. Specs hold only scalars and flat lists of scalars.
public enum SpecValue: Sendable, Equatable, Hashable {
    case int(Int)
    case float(Double)
    case bool(Bool)
    case string(String)
    case list([SpecValue])

    /// The canonical text of the value: the same value always prints the same way, whatever
    /// spelling the YAML used (`3e-4`, `0.0003`, `3.0E-4` all print `0.0003`). Hashes are taken
    /// over this text, so they ignore formatting and change with any value.
    public var canonical: String {
        switch self {
        case let .int(v): return String(v)
        case let .float(v): return SpecValue.canonicalFloat(v)
        case let .bool(v): return v ? "true" : "false"
        case let .string(v): return SpecValue.quoted(v)
        case let .list(items): return "[" + items.map(\.canonical).joined(separator: ", ") + "]"
        }
    }

    /// Human text for messages ("256", "3e-4" → "0.0003", strings unquoted).
    public var display: String {
        if case let .string(s) = self { return s }
        return canonical
    }

    static func canonicalFloat(_ v: Double) -> String {
        // Swift prints the shortest text that round-trips; keep a decimal point so the YAML
        // reader sees a float, and prefer exponent form for very large or small magnitudes.
        var text = "\(v)"
        if v.isFinite, v == v.rounded(), abs(v) < 1e15, !text.contains("e") {
            if !text.contains(".") { text += ".0" }
        }
        return text
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
