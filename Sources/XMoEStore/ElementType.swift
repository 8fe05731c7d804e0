internal import CHDF5

/// The element type of a stored dataset or series, independent of byte order.
public enum StoreElementType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, int8, uint8, int16, uint16, int32, uint32, int64, uint64

    public var description: String { rawValue }

    public var byteSize: Int {
        switch self {
        case .int8, .uint8: 1
        case .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    /// The in-memory HDF5 type; owned by the library, never closed.
    var nativeTypeID: hid_t {
        switch self {
        case .float32: xh5_native_float()
        case .float64: xh5_native_double()
        case .int8: xh5_native_int8()
        case .uint8: xh5_native_uint8()
        case .int16: xh5_native_int16()
        case .uint16: xh5_native_uint16()
        case .int32: xh5_native_int32()
        case .uint32: xh5_native_uint32()
        case .int64: xh5_native_int64()
        case .uint64: xh5_native_uint64()
        }
    }

    /// Classifies a stored (file) datatype; `nil` for anything that is not a plain number.
    init?(fileType type: hid_t) {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: return nil
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): self = .int8
            case (1, false): self = .uint8
            case (2, true): self = .int16
            case (2, false): self = .uint16
            case (4, true): self = .int32
            case (4, false): self = .uint32
            case (8, true): self = .int64
            case (8, false): self = .uint64
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// A Swift number type that can be stored as HDF5 data: its memory layout is the native HDF5 type.
public protocol StoreElement: BitwiseCopyable, Sendable, Equatable {
    static var storeElementType: StoreElementType { get }
}

extension Float: StoreElement { public static var storeElementType: StoreElementType { .float32 } }
extension Double: StoreElement { public static var storeElementType: StoreElementType { .float64 } }
extension Int8: StoreElement { public static var storeElementType: StoreElementType { .int8 } }
extension UInt8: StoreElement { public static var storeElementType: StoreElementType { .uint8 } }
extension Int16: StoreElement { public static var storeElementType: StoreElementType { .int16 } }
extension UInt16: StoreElement { public static var storeElementType: StoreElementType { .uint16 } }
extension Int32: StoreElement { public static var storeElementType: StoreElementType { .int32 } }
extension UInt32: StoreElement { public static var storeElementType: StoreElementType { .uint32 } }
extension Int64: StoreElement { public static var storeElementType: StoreElementType { .int64 } }
extension UInt64: StoreElement { public static var storeElementType: StoreElementType { .uint64 } }

/// Values read from a dataset, row-major, with the stored shape (`[]` for a scalar).
public struct StoreArray<Element: StoreElement>: Sendable, Equatable {
    public var values: [Element]
    public var shape: [Int]

    public init(values: [Element], shape: [Int]) {
        self.values = values
        self.shape = shape
    }
}
