// dtype conversion: the only op that changes a tensor's element type. fp32 → bf16/f16 rounds to
// nearest even (NaN stays NaN, overflow goes to ±inf); the way back is exact.
extension CPUBackend {
    public func convert(_ src: Tensor, to dst: Tensor) {
        expectCount(dst, src.count, "convert destination")
        switch (src.dtype, dst.dtype) {
        case (.float32, .bfloat16), (.float32, .float16):
            let x = src.floats, y = dst.halves, dtype = dst.dtype
            nonisolated(unsafe) let (xs, ys) = (x, y)
            parallelFor(x.count, minPerChunk: 1 << 16) { range in
                for i in range { ys[i] = halfBits(xs[i], dtype) }
            }
        case (.bfloat16, .float32), (.float16, .float32):
            let x = src.halves, y = dst.floats, dtype = src.dtype
            nonisolated(unsafe) let (xs, ys) = (x, y)
            parallelFor(x.count, minPerChunk: 1 << 16) { range in
                for i in range { ys[i] = halfValue(xs[i], dtype) }
            }
        case let (a, b) where a == b:
            copy(from: src, to: dst)
        default:
            preconditionFailure("convert: \(src.dtype) → \(dst.dtype) is not supported (float32 ↔ bfloat16/float16 only)")
        }
    }
}

extension Backend {
    /// A new tensor holding `src` converted to `dtype` (or `src` itself when it already has it).
    public func converted(_ src: Tensor, to dtype: DType) -> Tensor {
        if src.dtype == dtype { return src }
        let out = makeOutput(src.shape, dtype: dtype)
        convert(src, to: out)
        return out
    }
}
