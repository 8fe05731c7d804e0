/// The element types a collective can move, named without any C type so callers never see MPI.
public enum CommDatatype: String, Sendable, CaseIterable {
    case float32, float64, int32, int64, uint8

    /// Bytes per element; must equal the Swift type's stride (checked before every MPI call).
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .float64, .int64: 8
        case .uint8: 1
        }
    }
}

/// A Swift value type whose arrays can be handed to a collective as raw memory.
public protocol CommElement: BitwiseCopyable, Sendable {
    static var commDatatype: CommDatatype { get }
}

extension Float: CommElement { public static var commDatatype: CommDatatype { .float32 } }
extension Double: CommElement { public static var commDatatype: CommDatatype { .float64 } }
extension Int32: CommElement { public static var commDatatype: CommDatatype { .int32 } }
extension Int64: CommElement { public static var commDatatype: CommDatatype { .int64 } }
extension UInt8: CommElement { public static var commDatatype: CommDatatype { .uint8 } }
// Counts and offsets travel as Swift Int; every supported platform has a 64-bit Int.
extension Int: CommElement { public static var commDatatype: CommDatatype { .int64 } }

/// The reductions of `allReduce`.
public enum ReduceOp: String, Sendable, CaseIterable {
    case sum, max, min
}
