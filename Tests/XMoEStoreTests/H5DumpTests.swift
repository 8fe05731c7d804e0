import Testing
@testable import XMoEStore

/// Files written by the Store, read back by HDF5's own `h5dump` (an independent reader).
@Suite struct H5DumpTests {
    private func object(_ dump: String, _ kind: String, _ name: String) throws -> H5DumpObject {
        try #require(H5DumpObject(in: dump, kind: kind, name: name), "no \(kind) \(name) in:\n\(dump)")
    }

    @Test func seriesLayoutTypeAndValues() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/metrics.h5"
            let losses: [Float] = [2.5, 2.25, -1.75, 0.125, 1e-3]
            let load: [[Int64]] = [[1, 2, 3], [-4, 5, Int64.max]]
            do {
                let file = try StoreFile.create(at: path)
                let loss = try file.createSeries("/train/loss", of: Float.self, chunkRows: 4, deflateLevel: 4)
                for value in losses { try loss.append(value) }
                try loss.attributes.set("units", "nats")
                let counts = try file.createSeries("/moe/layer_00/load", of: Int64.self, rowWidth: 3, chunkRows: 8)
                try counts.append(rows: load)
                try file.close()
            }

            let lossDump = try h5dump(["-p", "-y", "-w", "0", "-d", "/train/loss", path])
            let loss = try object(lossDump, "DATASET", "/train/loss")
            #expect(loss.datatype == "H5T_IEEE_F32LE")
            #expect(loss.dataspace == "SIMPLE{(5)/(H5S_UNLIMITED)}")
            #expect(loss.text.contains("CHUNKED ( 4 )"))
            #expect(loss.text.contains("COMPRESSION DEFLATE { LEVEL 4 }"))
            #expect(loss.values.map { Float($0) } == losses.map { Optional($0) })
            let units = try object(lossDump, "ATTRIBUTE", "units")
            #expect(units.datatype.contains("STRSIZEH5T_VARIABLE;"))
            #expect(units.datatype.contains("CSETH5T_CSET_UTF8;"))
            #expect(units.dataspace == "SCALAR")
            #expect(units.values == ["\"nats\""])

            let loadDump = try h5dump(["-y", "-w", "0", "-d", "/moe/layer_00/load", path])
            let counts = try object(loadDump, "DATASET", "/moe/layer_00/load")
            #expect(counts.datatype == "H5T_STD_I64LE")
            #expect(counts.dataspace == "SIMPLE{(2,3)/(H5S_UNLIMITED,3)}")
            #expect(counts.values == load.joined().map { String($0) })
        }
    }

    @Test func truncatedSeriesShrinksOnDisk() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/resume.h5"
            do {
                let file = try StoreFile.create(at: path)
                let steps = try file.createSeries("steps", of: Int32.self)
                try steps.append(rows: Array(Int32(0)..<Int32(9)))
                try steps.truncate(toCount: 4)
                try file.close()
            }
            let steps = try object(try h5dump(["-y", "-w", "0", "-d", "/steps", path]), "DATASET", "/steps")
            #expect(steps.datatype == "H5T_STD_I32LE")
            #expect(steps.dataspace == "SIMPLE{(4)/(H5S_UNLIMITED)}")
            #expect(steps.values == ["0", "1", "2", "3"])
        }
    }

    @Test func datasetTypesShapesAndAttributes() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/model.h5"
            do {
                let file = try StoreFile.create(at: path)
                try file.write("/model/layer_00/w", (0..<6).map { Double($0) / 8 }, shape: [2, 3])
                try file.write("/model/ids", [UInt16(0), 65535, 7], shape: [3])
                try file.write("/model/signs", [Int8(-128), 127], shape: [1, 2])
                try file.write("/model/bytes", [UInt8(255)], shape: [])
                let attributes = file.attributes
                try attributes.set("lr", .double(0.375))
                try attributes.set("step", .int64(-42))
                try attributes.set("betas", .doubles([0.5, -2]))
                try attributes.set("dims", .int64s([4, 8, 15]))
                try file.close()
            }
            let dump = try h5dump(["-y", "-w", "0", path])
            let w = try object(dump, "DATASET", "w")
            #expect(w.datatype == "H5T_IEEE_F64LE")
            #expect(w.dataspace == "SIMPLE{(2,3)/(2,3)}")
            #expect(w.values.map { Double($0) } == (0..<6).map { Optional(Double($0) / 8) })
            let ids = try object(dump, "DATASET", "ids")
            #expect(ids.datatype == "H5T_STD_U16LE")
            #expect(ids.values == ["0", "65535", "7"])
            let signs = try object(dump, "DATASET", "signs")
            #expect(signs.datatype == "H5T_STD_I8LE")
            #expect(signs.dataspace == "SIMPLE{(1,2)/(1,2)}")
            #expect(signs.values == ["-128", "127"])
            let scalar = try object(dump, "DATASET", "bytes")
            #expect(scalar.datatype == "H5T_STD_U8LE")
            #expect(scalar.dataspace == "SCALAR")
            #expect(scalar.values == ["255"])

            let lr = try object(dump, "ATTRIBUTE", "lr")
            #expect(lr.datatype == "H5T_IEEE_F64LE")
            #expect(lr.dataspace == "SCALAR")
            #expect(lr.values == ["0.375"])
            let step = try object(dump, "ATTRIBUTE", "step")
            #expect(step.datatype == "H5T_STD_I64LE")
            #expect(step.values == ["-42"])
            let betas = try object(dump, "ATTRIBUTE", "betas")
            #expect(betas.dataspace == "SIMPLE{(2)/(2)}")
            #expect(betas.values == ["0.5", "-2"])
            let dims = try object(dump, "ATTRIBUTE", "dims")
            #expect(dims.datatype == "H5T_STD_I64LE")
            #expect(dims.values == ["4", "8", "15"])
        }
    }
}
