import Testing
@testable import XMoEStore

/// Values that exercise each type's range ends, not just small positive numbers.
private func sample<T: StoreElement & FixedWidthInteger>(_ type: T.Type, count: Int) -> [T] {
    (0..<count).map { index in
        switch index % 4 {
        case 0: T.min
        case 1: T.max
        case 2: T(truncatingIfNeeded: index * 37 + 5)
        default: T(truncatingIfNeeded: -index)
        }
    }
}

private func sample<T: StoreElement & BinaryFloatingPoint>(_ type: T.Type, count: Int) -> [T] {
    (0..<count).map { index in
        switch index % 4 {
        case 0: T.greatestFiniteMagnitude
        case 1: -T.leastNonzeroMagnitude
        case 2: T(index) / 3
        default: -T.pi * T(index)
        }
    }
}

private let shapes: [[Int]] = [[], [1], [7], [3, 5], [2, 3, 4], [2, 1, 3, 2]]

private func roundTrip<T: StoreElement>(_ makeValues: (Int) -> [T], options: DatasetOptions = .contiguous) throws {
    try withTemporaryDirectory { dir in
        let path = dir + "/data.h5"
        var written: [[Int]: [T]] = [:]
        do {
            let file = try StoreFile.create(at: path)
            for (index, shape) in shapes.enumerated() {
                let values = makeValues(shape.reduce(1, *))
                written[shape] = values
                try file.write("/arrays/a\(index)", values, shape: shape,
                               options: shape.isEmpty ? .contiguous : options)
            }
            try file.close()
        }
        let file = try StoreFile.open(at: path)
        for (index, shape) in shapes.enumerated() {
            let array = try file.read("/arrays/a\(index)", as: T.self, shape: shape)
            #expect(array.shape == shape)
            #expect(array.values == written[shape], "\(T.self) shape \(shape)")
            #expect(try file.dataset("arrays/a\(index)").info().elementType == T.storeElementType)
        }
    }
}

@Suite struct DatasetTests {
    @Test func roundTripsEveryElementTypeAndShape() throws {
        try roundTrip { sample(Float.self, count: $0) }
        try roundTrip { sample(Double.self, count: $0) }
        try roundTrip { sample(Int8.self, count: $0) }
        try roundTrip { sample(UInt8.self, count: $0) }
        try roundTrip { sample(Int16.self, count: $0) }
        try roundTrip { sample(UInt16.self, count: $0) }
        try roundTrip { sample(Int32.self, count: $0) }
        try roundTrip { sample(UInt32.self, count: $0) }
        try roundTrip { sample(Int64.self, count: $0) }
        try roundTrip { sample(UInt64.self, count: $0) }
    }

    @Test func roundTripsCompressedAndChunked() throws {
        try roundTrip({ sample(Float.self, count: $0) }, options: .deflate(level: 6))
        try roundTrip({ sample(Int64.self, count: $0) }, options: .deflate(level: 1))
    }

    @Test func recordsLayoutInInfo() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/layout.h5")
            let values = (0..<600).map { Float($0) }
            try file.write("w", values, shape: [20, 30], options: DatasetOptions(chunkShape: [10, 30], deflateLevel: 5))
            try file.write("plain", values, shape: [600])
            let chunked = try file.dataset("w").info()
            #expect(chunked.shape == [20, 30])
            #expect(chunked.maxShape == [20, 30])
            #expect(chunked.chunkShape == [10, 30])
            #expect(chunked.deflateLevel == 5)
            let plain = try file.dataset("plain").info()
            #expect(plain.chunkShape == nil)
            #expect(plain.deflateLevel == nil)
        }
    }

    @Test func automaticChunkStaysUnderOneMebibyte() {
        let chunk = DatasetOptions.automaticChunk(for: [4096, 1408], elementSize: 4)
        #expect(chunk.reduce(4, *) <= 1 << 20)
        let withinShape = zip(chunk, [4096, 1408]).allSatisfy { $0 >= 1 && $0 <= $1 }
        #expect(withinShape)
        #expect(DatasetOptions.automaticChunk(for: [3, 0], elementSize: 8) == [3, 1])
    }

    @Test func emptyDatasetRoundTrips() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/empty.h5")
            try file.write("e", [Int32](), shape: [0, 4])
            let array = try file.read("e", as: Int32.self)
            #expect(array.shape == [0, 4])
            #expect(array.values.isEmpty)
        }
    }

    @Test func typeMismatchNamesStoredAndRequestedTypes() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/types.h5"
            let file = try StoreFile.create(at: path)
            try file.write("/model/w", [Float](repeating: 1, count: 6), shape: [2, 3])
            let error = storeError { _ = try file.read("/model/w", as: Double.self) }
            #expect(error?.kind == .typeMismatch)
            #expect(error?.file == path)
            #expect(error?.object == "/model/w")
            #expect(error?.message.contains("float32") == true)
            #expect(error?.message.contains("float64") == true)
            let asInt = storeError { _ = try file.read("/model/w", as: Int32.self) }
            #expect(asInt?.kind == .typeMismatch)
        }
    }

    @Test func shapeMismatchOnReadAndWrite() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/shapes.h5")
            try file.write("w", [Int8](repeating: 0, count: 6), shape: [2, 3])
            let onRead = storeError { _ = try file.read("w", as: Int8.self, shape: [3, 2]) }
            #expect(onRead?.kind == .shapeMismatch)
            #expect(onRead?.message.contains("[2, 3]") == true)
            let onWrite = storeError { try file.write("v", [Int8](repeating: 0, count: 5), shape: [2, 3]) }
            #expect(onWrite?.kind == .shapeMismatch)
            #expect(try file.exists("v") == false)
        }
    }

    @Test func refusesToOverwriteAndRejectsBadOptions() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/twice.h5")
            try file.write("w", [1.0], shape: [1])
            let twice = storeError { try file.write("w", [2.0], shape: [1]) }
            #expect(twice?.kind == .alreadyExists)
            #expect(try file.read("w", as: Double.self).values == [1.0])
            let badChunk = storeError {
                try file.write("c", [Float](repeating: 0, count: 4), shape: [4], options: DatasetOptions(chunkShape: [2, 2]))
            }
            #expect(badChunk?.kind == .invalidArgument)
            let badLevel = storeError { try file.write("d", [Float(0)], shape: [1], options: .deflate(level: 12)) }
            #expect(badLevel?.kind == .invalidArgument)
            try file.root.remove("w")
            try file.write("w", [3.0], shape: [1])
            #expect(try file.read("w", as: Double.self).values == [3.0])
        }
    }
}
