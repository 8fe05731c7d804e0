/// One argument of a kernel launch, in the C type the kernel declares.
enum KernelArgument {
    case pointer(UnsafeMutableRawPointer?)
    case int64(Int64)
    case int32(Int32)
    case float(Float)
}

extension Array where Element == KernelArgument {
    /// Calls `body` with the `void**` array cuLaunchKernel takes: one pointer per argument, each to
    /// an 8-byte slot holding the value.
    func withKernelParameters<R>(_ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws -> R) rethrows -> R {
        let slots = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * 8, alignment: 8)
        defer { slots.deallocate() }
        var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: Swift.max(count, 1))
        for (i, argument) in enumerated() {
            let slot = slots + i * 8
            switch argument {
            case .pointer(let p): slot.storeBytes(of: p, as: UnsafeMutableRawPointer?.self)
            case .int64(let v): slot.storeBytes(of: v, as: Int64.self)
            case .int32(let v): slot.storeBytes(of: v, as: Int32.self)
            case .float(let v): slot.storeBytes(of: v, as: Float.self)
            }
            pointers[i] = slot
        }
        return try pointers.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}
