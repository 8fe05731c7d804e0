extension CPUBackend {
    public func makeTensor(_ shape: [Int], dtype: DType) -> Tensor {
        Tensor(hostShape: shape, dtype: dtype, tally: memoryTally)
    }

    /// Zero-filled like `makeTensor`: on the CPU the fill is cheap, and a bug that reads an output
    /// before writing it then stays deterministic.
    public func makeOutput(_ shape: [Int], dtype: DType) -> Tensor { makeTensor(shape, dtype: dtype) }

    public func zero(_ tensor: Tensor) {
        tensor.hostBytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    public func fill(_ tensor: Tensor, value: Float) {
        switch tensor.dtype {
        case .bfloat16, .float16:
            let bits = halfBits(value, tensor.dtype), x = tensor.halves
            for i in 0..<x.count { x[i] = bits }
        default:
            let x = tensor.floats
            for i in 0..<x.count { x[i] = value }
        }
    }

    public func copy(from src: Tensor, to dst: Tensor) {
        precondition(src.dtype == dst.dtype, "copy: dtype \(src.dtype) into \(dst.dtype)")
        expectCount(dst, src.count, "copy destination")
        guard src.count > 0 else { return }
        dst.hostBytes.baseAddress!.copyMemory(from: src.hostBytes.baseAddress!, byteCount: src.byteCount)
    }

    /// Into a bfloat16 or float16 tensor, each value is rounded to nearest even.
    public func upload(_ values: [Float], to tensor: Tensor) {
        expectCount(tensor, values.count, "upload")
        switch tensor.dtype {
        case .bfloat16, .float16:
            let x = tensor.halves
            for i in 0..<values.count { x[i] = halfBits(values[i], tensor.dtype) }
        default:
            let x = tensor.floats
            for i in 0..<values.count { x[i] = values[i] }
        }
    }

    public func upload(_ values: [Int32], to tensor: Tensor) {
        expectCount(tensor, values.count, "upload")
        let x = tensor.ints
        for i in 0..<values.count { x[i] = values[i] }
    }

    /// A bfloat16 or float16 tensor comes back widened to Float (exactly).
    public func downloadFloats(_ tensor: Tensor) -> [Float] {
        switch tensor.dtype {
        case .bfloat16, .float16: tensor.halves.map { halfValue($0, tensor.dtype) }
        default: Array(tensor.floats)
        }
    }

    public func downloadInts(_ tensor: Tensor) -> [Int32] { Array(tensor.ints) }
}

/// The 16-bit pattern of `x` in `dtype` (bfloat16 or float16), rounded to nearest even.
@inline(__always)
func halfBits(_ x: Float, _ dtype: DType) -> UInt16 {
    dtype == .bfloat16 ? BFloat16.bits(x) : Float16(x).bitPattern
}

/// The value of a bfloat16 or float16 pattern as Float (exact).
@inline(__always)
func halfValue(_ bits: UInt16, _ dtype: DType) -> Float {
    dtype == .bfloat16 ? BFloat16.float(bits) : Float(Float16(bitPattern: bits))
}
