extension CPUBackend {
    public func makeTensor(_ shape: [Int], dtype: DType) -> Tensor {
        Tensor(hostShape: shape, dtype: dtype)
    }

    public func zero(_ tensor: Tensor) {
        let raw = UnsafeMutableRawBufferPointer(start: tensor.floatsOrIntsRaw, count: tensor.count * 4)
        raw.initializeMemory(as: UInt8.self, repeating: 0)
    }

    public func fill(_ tensor: Tensor, value: Float) {
        let x = tensor.floats
        for i in 0..<x.count { x[i] = value }
    }

    public func copy(from src: Tensor, to dst: Tensor) {
        precondition(src.dtype == dst.dtype, "copy: dtype \(src.dtype) into \(dst.dtype)")
        expectCount(dst, src.count, "copy destination")
        dst.floatsOrIntsRaw.copyMemory(from: src.floatsOrIntsRaw, byteCount: src.count * 4)
    }

    public func upload(_ values: [Float], to tensor: Tensor) {
        expectCount(tensor, values.count, "upload")
        let x = tensor.floats
        for i in 0..<values.count { x[i] = values[i] }
    }

    public func upload(_ values: [Int32], to tensor: Tensor) {
        expectCount(tensor, values.count, "upload")
        let x = tensor.ints
        for i in 0..<values.count { x[i] = values[i] }
    }

    public func downloadFloats(_ tensor: Tensor) -> [Float] { Array(tensor.floats) }

    public func downloadInts(_ tensor: Tensor) -> [Int32] { Array(tensor.ints) }
}

extension Tensor {
    /// Raw host bytes regardless of dtype (both dtypes are 4 bytes wide).
    var floatsOrIntsRaw: UnsafeMutableRawPointer {
        dtype == .float32 ? UnsafeMutableRawPointer(floats.baseAddress!) : UnsafeMutableRawPointer(ints.baseAddress!)
    }
}
