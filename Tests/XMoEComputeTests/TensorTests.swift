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
}
