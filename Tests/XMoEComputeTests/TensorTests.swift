import Testing
@testable import XMoECompute

@Suite struct TensorTests {
    @Test func reshapedSharesStorage() {
        let backend = CPUBackend()
        let x = backend.makeTensor([2, 3])
        let y = x.reshaped([3, 2])
        y.floats[4] = 7
        #expect(x.floats[4] == 7)
        #expect(x.rows == 2 && x.columns == 3)
    }

    @Test func copyAndZeroAreExplicit() {
        let backend = CPUBackend()
        let x = backend.makeTensor([4])
        backend.upload([1, 2, 3, 4] as [Float], to: x)
        let y = backend.makeTensor([2, 2])
        backend.copy(from: x, to: y)
        backend.zero(x)
        #expect(backend.downloadFloats(y) == [1, 2, 3, 4])
        #expect(backend.downloadFloats(x) == [0, 0, 0, 0])
    }

    /// Views at byte offsets: ops read and write only their own elements, and a GEMM over views of
    /// one flat buffer gives the same bits as over separate tensors.
    @Test func viewsOfOneFlatBufferBehaveLikeSeparateTensors() {
        let backend = CPUBackend()
        let flat = backend.makeTensor([3 + 6 + 6 + 4 + 1])
        backend.fill(flat, value: -1)
        let a = flat.view(offset: 3, shape: [2, 3]), b = flat.view(offset: 9, shape: [3, 2]).reshaped([3, 2])
        #expect(a.byteOffset == 12 && b.byteOffset == 36)
        let (aValues, bValues): ([Float], [Float]) = ([1, 2, 3, 4, 5, 6], [0.5, -1, 2, 0.25, 3, -2])
        backend.upload(aValues, to: a)
        backend.upload(bValues, to: b)
        let c = flat.view(offset: 9 + 6, shape: [2, 2])
        backend.gemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: a, aOffset: 0, lda: 3,
                     b: b, bOffset: 0, ldb: 2, beta: 0, c: c, cOffset: 0, ldc: 2)
        let (sa, sb, sc) = (backend.makeTensor([2, 3]), backend.makeTensor([3, 2]), backend.makeTensor([2, 2]))
        backend.upload(aValues, to: sa)
        backend.upload(bValues, to: sb)
        backend.gemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: sa, aOffset: 0, lda: 3,
                     b: sb, bOffset: 0, ldb: 2, beta: 0, c: sc, cOffset: 0, ldc: 2)
        let viewBits = backend.downloadFloats(c).map(\.bitPattern), separateBits = backend.downloadFloats(sc).map(\.bitPattern)
        #expect(viewBits == separateBits)
        backend.scale(a, by: 2)
        let all = backend.downloadFloats(flat)
        let expected: [Float] = [-1, -1, -1, 2, 4, 6, 8, 10, 12] + bValues + backend.downloadFloats(sc) + [-1]
        #expect(all == expected)
    }
}
