internal import CMPIShim

/// Maps xmoe's element and reduction names to MPI handles, and lends MPI raw buffers.
enum MPIDatatype {
    static func of<T: CommElement>(_ type: T.Type) -> MPI_Datatype {
        let kind = T.commDatatype
        guard MemoryLayout<T>.stride == kind.byteSize else {
            fatalError("\(T.self) declares \(kind) but its stride is \(MemoryLayout<T>.stride) bytes")
        }
        switch kind {
        case .float32: return xmpi_float()
        case .float64: return xmpi_double()
        case .int32: return xmpi_int32()
        case .int64: return xmpi_int64()
        case .uint8: return xmpi_uint8()
        }
    }

    static func op(_ op: ReduceOp) -> MPI_Op {
        switch op {
        case .sum: xmpi_sum()
        case .max: xmpi_max()
        case .min: xmpi_min()
        }
    }

    /// Offsets of consecutive blocks; the caller has checked that the total fits in an Int32.
    static func displacements(_ counts: [Int]) -> [Int32] {
        var offset: Int32 = 0
        return counts.map { count in
            defer { offset += Int32(count) }
            return offset
        }
    }

    /// A non-null pointer to `send`'s elements, even when it is empty (MPI rejects null buffers
    /// in some argument checks regardless of the count).
    static func withSendPointer<T: CommElement, R>(_ send: [T], _ body: (UnsafeRawPointer) throws -> R) throws -> R {
        try send.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { return try body(base) }
            return try withUnsafeTemporaryAllocation(byteCount: 16, alignment: 16) { try body(UnsafeRawPointer($0.baseAddress!)) }
        }
    }

    /// A fresh array of `count` elements that `fill` writes through a non-null pointer.
    static func receive<T: CommElement>(_ type: T.Type, count: Int,
                                        _ fill: (UnsafeMutableRawPointer) throws -> Void) throws -> [T] {
        // One spare slot keeps the pointer non-null when nothing arrives.
        try [T](unsafeUninitializedCapacity: max(count, 1)) { buffer, initialized in
            try fill(UnsafeMutableRawPointer(buffer.baseAddress!))
            initialized = count
        }
    }
}
