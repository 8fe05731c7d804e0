import Foundation
import Testing
@testable import XMoEComputeCUDA

@Suite struct LaunchAndSourceTests {
    @Test func elementwiseGridCoversEveryElementOrLoops() {
        #expect(LaunchShape.elementwise(count: 0) == nil)
        for count in [1, 255, 256, 257, 1_000_003, 256 * 65_535, 256 * 65_535 + 1, 17_000_001] {
            let shape = LaunchShape.elementwise(count: count)!
            let threads = Int(shape.grid.x) * Int(shape.block.x)
            // Either one thread per element, or the largest grid with a grid-stride loop.
            let covers = threads >= count || shape.grid.x == UInt32(LaunchShape.maxElementwiseBlocks)
            #expect(covers, "count \(count): \(shape.grid.x) blocks")
            #expect(threads - count < Int(shape.block.x) || threads < count, "count \(count): a block too many")
        }
    }

    @Test func perRowIsOneBlockPerRow() {
        #expect(LaunchShape.perRow(rows: 0) == nil)
        let shape = LaunchShape.perRow(rows: 8192)!
        #expect(shape.grid.x == 8192)
        #expect(Int(shape.block.x) == KernelSource.reductionBlock)
        let single = LaunchShape.singleBlock(threads: 5)
        #expect(single.block.x == 32)  // at least a warp
        let wide = LaunchShape.singleBlock(threads: 5000)
        #expect(wide.block.x == 1024)
    }

    /// A block per 32 columns (per segment on y), `columnLanes` row lanes; segment-bias blocks cover
    /// the longest segment's rows.
    /// The row chunks of a column sum cover every row once, none is empty, short sums stay in one
    /// chunk, and the X-MoE Small shapes fill the GPU (≥ 528 blocks, 4 per SM of an H200).
    @Test func columnChunksCoverTheRowsAndFillTheGPU() {
        for (columns, rows) in [(2048, 8192), (6144, 8192), (131, 39), (256, 600), (300, 1000), (1, 1), (2048, 2600), (50304, 8192)] {
            let chunks = LaunchShape.columnChunks(columns: columns, rows: rows)
            let per = LaunchShape.rowsPerChunk(rows: rows, chunks: chunks)
            #expect(chunks >= 1 && chunks * per >= rows && (chunks - 1) * per < rows, "\(columns) × \(rows): \(chunks) chunks of \(per)")
            if rows < 512 { #expect(chunks == 1, "\(rows) rows") }
        }
        for columns in [2048, 6144] {
            let chunks = LaunchShape.columnChunks(columns: columns, rows: 8192)
            #expect((columns + 31) / 32 * chunks >= 528, "\(columns) columns: \(chunks) chunks")
        }
    }

    @Test func columnSumsAndSegmentRowsCoverTheirShapes() {
        #expect(LaunchShape.columnSums(columns: 0) == nil)
        #expect(LaunchShape.segmentRows(longest: 0, segments: 3) == nil)
        for (columns, segments) in [(1, 1), (32, 1), (33, 64), (2048, 1), (1408, 64)] {
            let shape = LaunchShape.columnSums(columns: columns, segments: segments)!
            let covered = Int(shape.grid.x) * Int(shape.block.x)
            #expect(shape.block.x == 32 && Int(shape.block.y) == LaunchShape.columnLanes)
            #expect(covered >= columns && covered - columns < 32, "\(columns) columns: \(shape.grid.x) blocks")
            #expect(Int(shape.grid.y) == segments)
        }
        for longest in [1, 7, 8, 9, 3000] {
            let shape = LaunchShape.segmentRows(longest: longest, segments: 5)!
            let rows = Int(shape.grid.x) * LaunchShape.segmentRows
            #expect(rows >= longest && rows - longest < LaunchShape.segmentRows, "longest \(longest)")
            #expect(shape.grid.y == 5)
        }
    }

    @Test func groupedPlanSkipsZeroRowExperts() {
        let plan = GroupedGemmPlan(rowOffsets: [0, 0, 7, 8, 8], rowCounts: [0, 7, 1, 0, 20])
        #expect(plan.groups == [1, 2, 4])
        #expect(plan.rowOffsets == [0, 7, 8])
        #expect(plan.rowCounts == [7, 1, 20])
        let empty = GroupedGemmPlan(rowOffsets: [0, 0], rowCounts: [0, 0])
        #expect(empty.groups.isEmpty)
    }

    @Test func everyKernelIsDefinedOnceAndTheSourceFollowsTheBlockSize() {
        let source = KernelSource.source()
        for name in KernelSource.kernelNames {
            let definitions = source.components(separatedBy: "extern \"C\" __global__ void \(name)(").count - 1
            #expect(definitions == 1, "\(name) defined \(definitions) times")
        }
        let opens = source.filter { $0 == "{" }.count, closes = source.filter { $0 == "}" }.count
        #expect(opens == closes)
        let small = KernelSource.source(reductionBlock: 128)
        #expect(small.contains("#define XMOE_BLOCK 128"))
        #expect(small != source)
    }

    /// Every kernel name the backend launches is one the module loads (a typo would only show on a GPU).
    @Test func everyLaunchedKernelIsInTheModule() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/XMoEComputeCUDA").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
        let pattern = try NSRegularExpression(pattern: #"launch\("(\w+)""#)
        var launched = Set<String>()
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                launched.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        #expect(launched.count >= 25)
        let unknown = launched.subtracting(KernelSource.modules.flatMap(\.kernelNames))
        #expect(unknown.isEmpty, "launched but not in any module's kernel names (KernelSource.modules): \(unknown)")
    }

    @Test func kernelArgumentsArePackedAsTheirCTypes() {
        let target = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 4)
        defer { target.deallocate() }
        let arguments: [KernelArgument] = [.int64(-5_000_000_000), .float(0.375), .int32(-7), .pointer(target)]
        arguments.withKernelParameters { parameters in
            #expect(parameters[0]!.load(as: Int64.self) == -5_000_000_000)
            #expect(parameters[1]!.load(as: Float.self) == 0.375)
            #expect(parameters[2]!.load(as: Int32.self) == -7)
            let pointer = parameters[3]!.load(as: UnsafeMutableRawPointer?.self)
            #expect(pointer == target)
        }
    }
}

@Suite struct GroupedGemmCallTests {
    func problem(m: Int, address: UInt) -> ColumnMajorGemm {
        let p = UnsafeMutableRawPointer(bitPattern: address)!
        return ColumnMajorGemm(RowMajorGemm(transA: false, transB: false, m: m, n: 8, k: 4, a: p, lda: 4, b: p + 64, ldb: 8,
                                            c: p + 128, ldc: 8))
    }

    /// Experts with equal row counts share a cuBLAS group; a different count starts a new one.
    @Test func consecutiveEqualShapesShareAGroup() {
        let counts = [5, 5, 5, 3, 5, 5]
        let call = GroupedGemmCall(counts.enumerated().map { problem(m: $0.element, address: UInt(0x1000 * ($0.offset + 1))) })
        let sizes: [Int32] = call.groupSizes, rows: [Int32] = call.n, problems = call.problemCount
        #expect(sizes == [3, 1, 2])
        #expect(rows == [5, 3, 5])  // row-major m is column-major n
        #expect(problems == 6)
        let firstOperands: [UInt] = Array(call.pointers[0..<6]), outputs: [UInt] = Array(call.pointers[12..<18])
        let expectedFirst: [UInt] = (1...6).map { UInt(0x1000 * $0 + 64) }  // row-major B first, in problem order
        let expectedOutputs: [UInt] = (1...6).map { UInt(0x1000 * $0 + 128) }
        #expect(firstOperands == expectedFirst)
        #expect(outputs == expectedOutputs)
    }
}
