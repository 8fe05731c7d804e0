/// Element type of a tensor. The 16-bit float types are storage formats: host memory holds their
/// raw bit patterns, and ops that accept them (gemm operands, `convert`) widen to fp32 to compute.
public enum DType: Sendable, Equatable {
    case float32
    case int32
    case bfloat16
    case float16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .bfloat16, .float16: 2
        }
    }
}

/// Memory that holds a tensor's elements. The CPU backend uses `HostStorage`; a GPU backend adds
/// its own class (device pointer) without changing `Tensor` or model code.
public protocol TensorStorage: AnyObject, Sendable {
    var byteCount: Int { get }
}

/// Host memory, 64-byte aligned, zero-initialised, freed with its last reference.
public final class HostStorage: TensorStorage, @unchecked Sendable {
    public let raw: UnsafeMutableRawPointer
    public let byteCount: Int
    /// Where this storage's bytes are counted while it lives (the CPU backend's tally), if anywhere.
    let tally: HostMemoryTally?

    public init(byteCount: Int, tally: HostMemoryTally? = nil) {
        self.byteCount = byteCount
        self.tally = tally
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        tally?.allocated(byteCount)
    }

    deinit {
        tally?.freed(byteCount)
        raw.deallocate()
    }
}

/// A dense, contiguous, row-major tensor: shape, a reference to its storage and the byte offset
/// where its elements start there, so one flat buffer can hold many tensors (parameter groups).
///
/// Tensors are reference types on purpose: ops write into tensors the caller passes in, so every
/// mutation is visible at the call site and nothing is copied behind the caller's back (no
/// copy-on-write). `reshaped` and `view` share storage; `Backend.copy` is the only way to duplicate data.
/// CPU kernels reach memory only through `floats`/`ints`/`halves`/`hostBytes`, which honour
/// `byteOffset`; offsets and views count elements of the tensor's own dtype.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let dtype: DType
    public let count: Int
    public let storage: TensorStorage
    /// Where element 0 lives in `storage`, in bytes (a multiple of the element size).
    public let byteOffset: Int

    public init(shape: [Int], dtype: DType, storage: TensorStorage, byteOffset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let count = shape.reduce(1, *)
        precondition(byteOffset >= 0 && byteOffset % dtype.byteSize == 0,
                     "byte offset \(byteOffset) is not a non-negative multiple of \(dtype.byteSize) (\(dtype))")
        precondition(storage.byteCount >= byteOffset + count * dtype.byteSize,
                     "storage of \(storage.byteCount) bytes is too small for shape \(shape) at byte offset \(byteOffset)")
        self.shape = shape
        self.dtype = dtype
        self.count = count
        self.storage = storage
        self.byteOffset = byteOffset
    }

    /// A zero-filled host tensor (what `CPUBackend.makeTensor` returns).
    public convenience init(hostShape shape: [Int], dtype: DType = .float32, tally: HostMemoryTally? = nil) {
        self.init(shape: shape, dtype: dtype, storage: HostStorage(byteCount: shape.reduce(1, *) * dtype.byteSize, tally: tally))
    }

    public var rank: Int { shape.count }

    /// Size of dimension `axis`; negative axes count from the end.
    public func dim(_ axis: Int) -> Int { shape[axis < 0 ? shape.count + axis : axis] }

    /// Product of all dimensions but the last: the row count of the 2-D view ops use.
    public var rows: Int { shape.isEmpty ? 1 : count / max(shape[shape.count - 1], 1) }

    /// The last dimension: the row width of the 2-D view ops use.
    public var columns: Int { shape.last ?? 1 }

    /// The same storage under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, dtype: dtype, storage: storage, byteOffset: byteOffset)
    }

    /// A tensor of `shape` over this one's storage, starting `offset` ELEMENTS after this one's first
    /// element; it must lie inside this tensor. Writes through either are visible in both.
    public func view(offset: Int, shape newShape: [Int]) -> Tensor {
        let n = newShape.reduce(1, *)
        precondition(offset >= 0 && offset + n <= count, "view of \(newShape) at element \(offset) exceeds tensor \(shape)")
        return Tensor(shape: newShape, dtype: dtype, storage: storage, byteOffset: byteOffset + offset * dtype.byteSize)
    }

    /// Bytes of the elements: count · element size.
    public var byteCount: Int { count * dtype.byteSize }

    /// Host float elements, for CPU kernels. Invariant: the tensor lives in host memory.
    public var floats: UnsafeMutableBufferPointer<Float> {
        precondition(dtype == .float32, "tensor \(shape) is \(dtype), expected float32")
        return UnsafeMutableBufferPointer(start: (host.raw + byteOffset).bindMemory(to: Float.self, capacity: count), count: count)
    }

    /// Host int32 elements, for CPU kernels. Invariant: the tensor lives in host memory.
    public var ints: UnsafeMutableBufferPointer<Int32> {
        precondition(dtype == .int32, "tensor \(shape) is \(dtype), expected int32")
        return UnsafeMutableBufferPointer(start: (host.raw + byteOffset).bindMemory(to: Int32.self, capacity: count), count: count)
    }

    /// Host 16-bit patterns of a bfloat16 or float16 tensor, for CPU kernels. Invariant: host memory.
    public var halves: UnsafeMutableBufferPointer<UInt16> {
        precondition(dtype.byteSize == 2, "tensor \(shape) is \(dtype), expected a 16-bit float type")
        return UnsafeMutableBufferPointer(start: (host.raw + byteOffset).bindMemory(to: UInt16.self, capacity: count), count: count)
    }

    /// Host bytes of the elements, whatever the dtype. Invariant: host memory.
    public var hostBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: host.raw + byteOffset, count: byteCount)
    }

    private var host: HostStorage {
        guard let host = storage as? HostStorage else {
            fatalError("tensor \(shape) is not in host memory; a CPU kernel was handed a device tensor")
        }
        return host
    }
}
