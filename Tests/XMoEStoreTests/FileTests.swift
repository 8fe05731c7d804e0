import Foundation
import Testing
@testable import XMoEStore

@Suite struct FileTests {
    @Test func missingFileIsNamed() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/absent.h5"
            let error = storeError { _ = try StoreFile.open(at: path) }
            #expect(error?.kind == .fileNotFound)
            #expect(error?.file == path)
            #expect(error?.description.contains(path) == true)
            let noDirectory = storeError { _ = try StoreFile.create(at: dir + "/no/such/dir/x.h5") }
            #expect(noDirectory?.kind == .io)
        }
    }

    @Test func notAnHDF5FileCarriesTheLibraryMessage() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/text.h5"
            try "not hdf5".write(toFile: path, atomically: false, encoding: .utf8)
            let error = storeError { _ = try StoreFile.open(at: path) }
            #expect(error?.kind == .io)
            // The captured HDF5 stack names the failing API call instead of printing it to stderr.
            #expect(error?.detail.contains("H5Fopen") == true)
        }
    }

    @Test func readOnlyRefusesWritesAndClosedFileRefusesEverything() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/mode.h5"
            let created = try StoreFile.create(at: path)
            try created.write("w", [UInt8(7)], shape: [1])
            try created.close()
            try created.close()
            let closedRead = storeError { _ = try created.read("w", as: UInt8.self) }
            #expect(closedRead?.kind == .fileClosed)
            #expect(created.isOpen == false)

            let reader = try StoreFile.open(at: path)
            #expect(try reader.read("w", as: UInt8.self).values == [7])
            let write = storeError { try reader.write("v", [UInt8(1)], shape: [1]) }
            #expect(write?.kind == .readOnly)
            let attribute = storeError { try reader.attributes.set("a", 1) }
            #expect(attribute?.kind == .readOnly)
            try reader.close()

            let writer = try StoreFile.open(at: path, mode: .readWrite)
            try writer.write("v", [UInt8(1)], shape: [1])
            try writer.flush()
            try writer.close()
            #expect(try StoreFile.open(at: path).root.children() == ["v", "w"])
        }
    }

    @Test func noCallLeavesAnHDF5HandleOpen() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/leaks.h5")
            try file.createGroup("/g/h")
            try file.write("/g/w", [Float(1), 2], shape: [2], options: .deflate())
            _ = try file.read("/g/w", as: Float.self)
            _ = try file.dataset("/g/w").info()
            let series = try file.createSeries("/s", of: Int32.self, rowWidth: 2)
            try series.append(row: [1, 2])
            try series.truncate(toCount: 1)
            _ = try series.rows()
            try file.attributes.set("a", "text")
            try series.attributes.set("b", .doubles([1]))
            _ = try file.attributes.get("a")
            _ = try series.attributes.names()
            _ = try file.group("/g").children()
            _ = storeError { _ = try file.read("/g/w", as: Double.self) }
            _ = storeError { try file.attributes.remove("zzz") }
            #expect(file.openObjectCount == 1)
        }
    }

    @Test func createTruncatesAnExistingFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/trunc.h5"
            try StoreFile.create(at: path).write("old", [Float(1)], shape: [1])
            let file = try StoreFile.create(at: path)
            #expect(try file.root.children().isEmpty)
        }
    }

    @Test func deinitClosesSoTheFileCanBeReopenedForWriting() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/deinit.h5"
            do {
                let file = try StoreFile.create(at: path)
                try file.write("w", [Int16(-3)], shape: [1])
            }
            let again = try StoreFile.open(at: path, mode: .readWrite)
            #expect(try again.read("w", as: Int16.self).values == [-3])
        }
    }
}

@Suite struct AtomicWriteTests {
    @Test func replacesTheFileAndLeavesNoTemporary() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/ckpt.h5"
            try Store.writeAtomically(to: path) { file in
                try file.write("w", [Double(1)], shape: [1])
            }
            let answer = try Store.writeAtomically(to: path) { file in
                try file.write("w", [Double(2)], shape: [1])
                return 42
            }
            #expect(answer == 42)
            #expect(try StoreFile.open(at: path).read("w", as: Double.self).values == [2])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ckpt.h5"])
        }
    }

    @Test func aThrowingBodyLeavesTheOldFileIntactAndRemovesTheTemporary() throws {
        struct Interrupted: Error {}
        try withTemporaryDirectory { dir in
            let path = dir + "/ckpt.h5"
            try Store.writeAtomically(to: path) { file in
                try file.write("w", [Float(1), 2, 3], shape: [3])
            }
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            var caught = false
            do {
                try Store.writeAtomically(to: path) { file in
                    try file.write("w", [Float(9)], shape: [1])
                    throw Interrupted()
                }
            } catch is Interrupted {
                caught = true
            }
            #expect(caught)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            #expect(try StoreFile.open(at: path).read("w", as: Float.self).values == [1, 2, 3])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ckpt.h5"])
        }
    }

    @Test func aFailedFirstWriteCreatesNothing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/never.h5"
            let error = storeError {
                try Store.writeAtomically(to: path) { file in
                    _ = try file.read("/missing", as: Float.self)
                }
            }
            #expect(error?.kind == .pathNotFound)
            let left = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(left.isEmpty)
        }
    }
}
