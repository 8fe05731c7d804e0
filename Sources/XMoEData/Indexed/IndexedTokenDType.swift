/// Element type of a Megatron `.bin` file, with the codes stored at byte 17 of the `.idx`
/// (identical in Megatron-DeepSpeed and megatron-core).
public enum IndexedTokenDType: UInt8, Sendable, CaseIterable {
    case uint8 = 1
    case int8 = 2
    case int16 = 3
    case int32 = 4
    case int64 = 5
    case float64 = 6
    case float32 = 7
    case uint16 = 8

    public var byteWidth: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16, .uint16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    /// Megatron's rule (`DType.optimal_dtype`, `__best_fitting_dtype`): the *unpadded* vocabulary
    /// size decides, with a threshold of 65500 rather than 65536.
    public static func optimal(forVocabularySize vocabularySize: Int) -> IndexedTokenDType {
        vocabularySize < 65500 ? .uint16 : .int32
    }

    /// Token ids are read as Int32; these are the element types whose every value fits.
    var holdsInt32Tokens: Bool {
        switch self {
        case .uint8, .int8, .int16, .uint16, .int32: true
        case .int64, .float32, .float64: false
        }
    }

    var tokenRange: ClosedRange<Int64> {
        switch self {
        case .uint8: 0...Int64(UInt8.max)
        case .int8: Int64(Int8.min)...Int64(Int8.max)
        case .int16: Int64(Int16.min)...Int64(Int16.max)
        case .uint16: 0...Int64(UInt16.max)
        case .int32: Int64(Int32.min)...Int64(Int32.max)
        case .int64, .float32, .float64: Int64.min...Int64.max
        }
    }
}
