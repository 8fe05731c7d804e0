import Testing
@testable import XMoEComputeCUDA

/// The expert GEMMs' cuBLASLt algorithm cache: a router's row counts fall into few shape classes,
/// the model's widths stay exact, and stored matrices keep valid leading dimensions.
@Suite struct LtShapeClassTests {
    @Test func rowCountsFallIntoFewClassesAndWidthsStayExact() {
        #expect(LtShapeClass.bucket(1) == 16)
        #expect(LtShapeClass.bucket(16) == 16)
        #expect(LtShapeClass.bucket(17) == 32)
        #expect(LtShapeClass.bucket(128) == 128)
        #expect(LtShapeClass.bucket(129) == 256)
        #expect(LtShapeClass.bucket(1408) == 1408)
        #expect(LtShapeClass.bucket(2048) == 2048)
        // Every count up to 3 · 768 (an untrained router's spread at X-MoE Small) in ≤ 26 classes,
        // each class at least the count and less than 128 above it.
        let classes = Set((1...2304).map(LtShapeClass.bucket))
        #expect(classes.count <= 26)
        for count in 1...2304 {
            let b = LtShapeClass.bucket(count)
            #expect(b >= count && b - count < 128, "count \(count) → \(b)")
        }
    }

    /// The forward of expert g as cuBLAS sees it: the varying row count is column-major n (of the
    /// second operand and the output), never a leading dimension.
    @Test func forwardClassBucketsOnlyTheRowCount() {
        let p = UnsafeMutableRawPointer(bitPattern: 0x1000)!
        let rows = 757
        let q = ColumnMajorGemm(RowMajorGemm(transA: false, transB: false, m: rows, n: 1408, k: 2048,
                                             a: p, lda: 2048, b: p, ldb: 1408, c: p, ldc: 1408))
        let bucketed = LtShapeClass(q, outputType: CUBLASAPI.dataFloat32)
        let exact = LtShapeClass(q, outputType: CUBLASAPI.dataFloat32, exact: true)
        #expect(exact.m == 1408 && exact.n == rows && exact.k == 2048)
        #expect(bucketed.m == 1408 && bucketed.n == 768 && bucketed.k == 2048)
        #expect(bucketed.ldFirst == 1408 && bucketed.ldSecond == 2048 && bucketed.ldc == 1408)
        let first = bucketed.firstStored, second = bucketed.secondStored
        #expect(first == (1408, 2048) && second == (2048, 768))
        #expect(Int(bucketed.ldSecond) >= second.0 && Int(bucketed.ldc) >= bucketed.m)
    }

    @Test func missingCublasLtIsAnErrorNamingIt() throws {
        let error = try #require(throws: CUDAError.self) { _ = try CUBLASLtAPI(candidates: ["libxmoe-no-such-cublasLt.so.13"]) }
        let text = error.description
        #expect(text.contains("libcublasLt"))
    }
}
