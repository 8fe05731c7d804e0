import Testing
@testable import XMoEStore

@Suite struct GroupTests {
    @Test func createsIntermediateGroupsAndListsChildren() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/groups.h5")
            let attn = try file.createGroup("/model/layer_00/attn")
            #expect(attn.path == "/model/layer_00/attn")
            #expect(try file.exists("/model"))
            #expect(try file.exists("model/layer_00"))
            #expect(try file.exists("/model/layer_00/attn"))
            #expect(try file.exists("/model/layer_01") == false)
            // A missing intermediate group answers false rather than failing inside HDF5.
            #expect(try file.exists("/nothing/here/at/all") == false)

            try file.createGroup("/model/layer_01")
            let layer = try file.group("/model")
            try layer.write("embed", [Float](repeating: 0, count: 4), shape: [2, 2])
            #expect(try layer.children() == ["embed", "layer_00", "layer_01"])
            #expect(try file.root.children() == ["model"])
            #expect(try layer.kind(of: "embed") == .dataset)
            #expect(try layer.kind(of: "layer_00") == .group)
            #expect(try layer.group("layer_00").children() == ["attn"])

            // Creating an existing group again is not an error (mkdir -p).
            let again = try file.createGroup("/model/layer_00")
            #expect(try again.children() == ["attn"])
        }
    }

    @Test func relativeAndAbsolutePathsResolveAgainstTheGroup() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/paths.h5")
            let moe = try file.createGroup("moe")
            try moe.write("layer_00/load", [Int64(1), 2], shape: [2])
            try moe.write("/top", [Int64(3)], shape: [1])
            #expect(try file.read("/moe/layer_00/load", as: Int64.self).values == [1, 2])
            #expect(try moe.read("/top", as: Int64.self).values == [3])
            #expect(try moe.dataset("layer_00/load").path == "/moe/layer_00/load")
        }
    }

    @Test func wrongKindAndMissingPathsAreNamed() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/kinds.h5"
            let file = try StoreFile.create(at: path)
            try file.write("/a/w", [Float(1)], shape: [1])
            let groupAsDataset = storeError { _ = try file.group("/a/w") }
            #expect(groupAsDataset?.kind == .wrongObjectKind)
            #expect(groupAsDataset?.object == "/a/w")
            let datasetAsGroup = storeError { _ = try file.read("/a", as: Float.self) }
            #expect(datasetAsGroup?.kind == .wrongObjectKind)
            let overDataset = storeError { try file.createGroup("/a/w") }
            #expect(overDataset?.kind == .wrongObjectKind)
            let missing = storeError { _ = try file.read("/a/missing", as: Float.self) }
            #expect(missing?.kind == .pathNotFound)
            #expect(missing?.file == path)
            #expect(missing?.object == "/a/missing")
            #expect(missing?.detail == "")
            let missingGroup = storeError { _ = try file.group("/b/c").children() }
            #expect(missingGroup?.kind == .pathNotFound)
            let removeMissing = storeError { try file.root.remove("/b") }
            #expect(removeMissing?.kind == .pathNotFound)
            let badName = storeError { try file.createGroup("/") }
            #expect(badName?.kind == .invalidArgument)
        }
    }

    @Test func removeUnlinksAGroupWithItsContents() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/remove.h5")
            try file.write("/ckpt/a/w", [Int32(1)], shape: [1])
            try file.write("/ckpt/b", [Int32(2)], shape: [1])
            try file.root.remove("/ckpt/a")
            #expect(try file.group("/ckpt").children() == ["b"])
            #expect(try file.exists("/ckpt/a/w") == false)
        }
    }
}
