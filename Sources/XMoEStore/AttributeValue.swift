/// The value of an attribute. Strings are stored as variable-length UTF-8 (h5py reads `str`),
/// numbers as float64/int64 scalars, arrays as 1-D float64/int64.
public enum AttributeValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case double(Double)
    case int64(Int64)
    case doubles([Double])
    case int64s([Int64])

    public var description: String {
        switch self {
        case .string(let value): "\"\(value)\""
        case .double(let value): "\(value)"
        case .int64(let value): "\(value)"
        case .doubles(let values): "\(values)"
        case .int64s(let values): "\(values)"
        }
    }

    var kindName: String {
        switch self {
        case .string: "string"
        case .double: "double"
        case .int64: "int64"
        case .doubles: "[double]"
        case .int64s: "[int64]"
        }
    }
}

extension AttributeValue: ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(integerLiteral value: Int64) { self = .int64(value) }
}
