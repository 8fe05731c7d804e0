import Testing
@testable import XMoEStore

@Suite struct SeriesTests {
    @Test func appendsAcrossReopenAndTruncates() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/metrics.h5"
            let losses = (0..<10).map { Float(10 - $0) / 4 }
            do {
                let file = try StoreFile.create(at: path)
                let loss = try file.createSeries("/train/loss", of: Float.self, chunkRows: 4)
                for value in losses[0..<6] { try loss.append(value) }
                #expect(try loss.count() == 6)
                try file.close()
            }
            do {
                let file = try StoreFile.open(at: path, mode: .readWrite)
                let loss = try file.series("/train/loss", of: Float.self)
                #expect(loss.rowWidth == nil)
                try loss.append(rows: Array(losses[6..<10]))
                try file.close()
            }
            let reader = try StoreFile.open(at: path)
            let all = try reader.series("/train/loss", of: Float.self).readAll()
            #expect(all.shape == [10])
            #expect(all.values == losses)
            try reader.close()

            // Resume from a checkpoint at step 7: rows 7... were written after it and must go.
            let writer = try StoreFile.open(at: path, mode: .readWrite)
            let loss = try writer.series("/train/loss", of: Float.self)
            try loss.truncate(toCount: 7)
            try loss.append(-1)
            #expect(try loss.readAll().values == Array(losses[0..<7]) + [-1])
        }
    }

    @Test func twoDimensionalRowsKeepTheirWidth() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/load.h5"
            let rows: [[Int64]] = (0..<5).map { step in (0..<4).map { Int64(step * 10 + $0) } }
            do {
                let file = try StoreFile.create(at: path)
                let load = try file.createSeries("/moe/layer_00/load", of: Int64.self, rowWidth: 4, chunkRows: 2,
                                                 deflateLevel: 4)
                try load.append(row: rows[0])
                try load.append(rows: Array(rows[1..<3]))
                try file.close()
            }
            let file = try StoreFile.open(at: path, mode: .readWrite)
            let load = try file.openOrCreateSeries("/moe/layer_00/load", of: Int64.self, rowWidth: 4)
            #expect(load.rowWidth == 4)
            try load.append(rows: rows[3] + rows[4])
            #expect(try load.rows() == rows)
            #expect(try load.readAll().shape == [5, 4])
            let info = try file.dataset("/moe/layer_00/load").info()
            #expect(info.maxShape == [nil, 4])
            #expect(info.chunkShape == [2, 4])
            #expect(info.deflateLevel == 4)

            try load.truncate(toCount: 0)
            #expect(try load.count() == 0)
            #expect(try load.rows().isEmpty)
        }
    }

    @Test func rejectsBadRowsTypesAndWidths() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/bad.h5")
            let counts = try file.createSeries("counts", of: Int32.self, rowWidth: 3)
            let shortRow = storeError { try counts.append(row: [1, 2]) }
            #expect(shortRow?.kind == .shapeMismatch)
            let ragged = storeError { try counts.append(rows: [Int32(1), 2, 3, 4]) }
            #expect(ragged?.kind == .shapeMismatch)
            let raggedNested = storeError { try counts.append(rows: [[Int32(1), 2, 3], [4]]) }
            #expect(raggedNested?.kind == .shapeMismatch)
            #expect(try counts.count() == 0)

            let wrongType = storeError { _ = try file.series("counts", of: Float.self) }
            #expect(wrongType?.kind == .typeMismatch)
            let wrongWidth = storeError { _ = try file.openOrCreateSeries("counts", of: Int32.self, rowWidth: 4) }
            #expect(wrongWidth?.kind == .shapeMismatch)
            let tooLong = storeError { try counts.truncate(toCount: 1) }
            #expect(tooLong?.kind == .invalidArgument)

            try file.write("fixed", [Double](repeating: 0, count: 3), shape: [3])
            let notSeries = storeError { _ = try file.series("fixed", of: Double.self) }
            #expect(notSeries?.kind == .wrongObjectKind)
            let exists = storeError { try file.createSeries("fixed", of: Double.self) }
            #expect(exists?.kind == .alreadyExists)
            let missing = storeError { _ = try file.series("/nope", of: Double.self) }
            #expect(missing?.kind == .pathNotFound)
        }
    }
}
