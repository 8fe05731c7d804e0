import Testing
@testable import XMoEStore

@Suite struct AttributeTests {
    @Test func everyKindRoundTripsOnFileGroupDatasetAndSeries() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/attrs.h5"
            let values: [String: AttributeValue] = [
                "name": .string("xmoe — expert κ"),
                "empty": .string(""),
                "lr": .double(3.0e-4),
                "step": .int64(-1_234_567_890_123),
                "betas": .doubles([0.9, 0.95, -1e300]),
                "shape": .int64s([Int64.min, 0, Int64.max]),
                "none": .doubles([]),
            ]
            do {
                let file = try StoreFile.create(at: path)
                let group = try file.createGroup("/moe")
                let dataset = try file.write("/moe/w", [Float(0)], shape: [1])
                let series = try file.createSeries("/train/loss", of: Double.self)
                for attributes in [file.attributes, group.attributes, dataset.attributes, series.attributes] {
                    for (name, value) in values { try attributes.set(name, value) }
                }
                try file.close()
            }
            let file = try StoreFile.open(at: path)
            let holders = [file.attributes, try file.group("/moe").attributes, try file.dataset("/moe/w").attributes,
                           try file.series("/train/loss", of: Double.self).attributes]
            for attributes in holders {
                #expect(try attributes.names() == values.keys.sorted())
                for (name, value) in values {
                    #expect(try attributes.get(name) == value, "\(attributes.objectPath) \(name)")
                }
                #expect(try attributes.string("name") == "xmoe — expert κ")
                #expect(try attributes.double("lr") == 3.0e-4)
                #expect(try attributes.int64("step") == -1_234_567_890_123)
                #expect(try attributes.doubles("betas") == [0.9, 0.95, -1e300])
                #expect(try attributes.int64s("shape") == [Int64.min, 0, Int64.max])
            }
        }
    }

    @Test func replacingChangesTypeAndRemoveDeletes() throws {
        try withTemporaryDirectory { dir in
            let file = try StoreFile.create(at: dir + "/replace.h5")
            let attributes = file.attributes
            try attributes.set("units", "tokens")
            try attributes.set("units", 2.5)
            #expect(try attributes.get("units") == .double(2.5))
            try attributes.set("count", 7)
            #expect(try attributes.get("count") == .int64(7))
            #expect(try attributes.contains("count"))
            try attributes.remove("count")
            #expect(try attributes.contains("count") == false)
            #expect(try attributes.names() == ["units"])
        }
    }

    @Test func typedReadsAndMissingNamesThrow() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/typed.h5"
            let file = try StoreFile.create(at: path)
            try file.createGroup("g")
            let attributes = try file.group("g").attributes
            try attributes.set("lr", 0.1)
            let asString = storeError { _ = try attributes.string("lr") }
            #expect(asString?.kind == .typeMismatch)
            #expect(asString?.message.contains("double") == true)
            let asArray = storeError { _ = try attributes.doubles("lr") }
            #expect(asArray?.kind == .typeMismatch)
            let missing = storeError { _ = try attributes.get("beta") }
            #expect(missing?.kind == .pathNotFound)
            #expect(missing?.object == "/g")
            #expect(missing?.file == path)
            let onMissingObject = storeError { try file.dataset("g").attributes.set("x", 1) }
            #expect(onMissingObject?.kind == .wrongObjectKind)
            let removeMissing = storeError { try attributes.remove("beta") }
            #expect(removeMissing?.kind == .pathNotFound)
        }
    }
}
