/// The arguments of one cuBLAS grouped-GEMM call. cuBLAS's "group" is a set of problems of one
/// shape (it can batch those like a strided-batched GEMM), so consecutive problems with equal
/// shapes and leading dimensions share a group; pointers stay in problem order.
struct GroupedGemmCall {
    var opFirst: [Int32] = [], opSecond: [Int32] = []
    var m: [Int32] = [], n: [Int32] = [], k: [Int32] = []
    var ldFirst: [Int32] = [], ldSecond: [Int32] = [], ldc: [Int32] = []
    var groupSizes: [Int32] = []
    /// All first operands, then all second operands, then all outputs (device addresses).
    var pointers: [UInt] = []
    var groupCount: Int { groupSizes.count }
    var problemCount: Int { pointers.count / 3 }

    init(_ problems: [ColumnMajorGemm]) {
        for (i, q) in problems.enumerated() {
            if i > 0, Self.sameShape(q, problems[i - 1]) {
                groupSizes[groupSizes.count - 1] += 1
                continue
            }
            opFirst.append(q.opFirst); opSecond.append(q.opSecond)
            m.append(q.m); n.append(q.n); k.append(q.k)
            ldFirst.append(q.ldFirst); ldSecond.append(q.ldSecond); ldc.append(q.ldc)
            groupSizes.append(1)
        }
        pointers = problems.map { UInt(bitPattern: $0.first) } + problems.map { UInt(bitPattern: $0.second) }
            + problems.map { UInt(bitPattern: $0.c) }
    }

    private static func sameShape(_ a: ColumnMajorGemm, _ b: ColumnMajorGemm) -> Bool {
        a.opFirst == b.opFirst && a.opSecond == b.opSecond && a.m == b.m && a.n == b.n && a.k == b.k
            && a.ldFirst == b.ldFirst && a.ldSecond == b.ldSecond && a.ldc == b.ldc
    }
}

extension CUDABackend {
    /// Copies the call's pointer arrays to device scratch (stream-ordered) and returns the three
    /// device arrays.
    func uploadPointers(_ call: GroupedGemmCall) -> (first: UnsafeMutableRawPointer, second: UnsafeMutableRawPointer, c: UnsafeMutableRawPointer) {
        let device = scratchCopy(call.pointers, "grouped GEMM pointers")
        let p = call.problemCount * 8
        return (device, device + p, device + 2 * p)
    }
}
