import Foundation
import Testing
@testable import XMoEData

@Suite struct GPTSampleIndexTests {
    /// Golden vectors of reference notes §6 (megatron-core 0.19.2, split 8,1,1 on 10 sequences).
    @Test func notesGoldenVectors() throws {
        let sizes: [Int32] = [5, 3, 8, 2, 6, 4, 7, 1, 9, 3]
        let train = try #require(try SplitRanges.ranges(split: "8,1,1", sequenceCount: 10)[0])
        #expect(train == 0..<8)
        let a = try GPTSampleIndex.build(sizes: sizes, sequences: train, config: .init(sequenceLength: 4, seed: 1234, sampleCount: 6))
        #expect(a.epochs == 1)
        #expect(a.documentIndex == [2, 1, 6, 0, 4, 5, 3, 7])
        #expect(a.sampleIndex_N2 == [0, 0, 0, 4, 1, 0, 2, 1, 2, 5, 3, 2, 4, 1, 4, 5, 5, 3])
        #expect(a.shuffleIndex == [5, 0, 3, 4, 2, 6, 1, 7])

        let b = try GPTSampleIndex.build(sizes: sizes, sequences: train, config: .init(sequenceLength: 4, seed: 1234, sampleCount: 20))
        #expect(b.epochs == 3 && b.separateFinalEpoch)
        #expect(b.documentIndex == [5, 3, 0, 4, 6, 2, 2, 7, 1, 1, 0, 4, 5, 6, 3, 7, 5, 1, 3, 4, 0, 7, 6, 2])
        let rows: [(Int64, Int64)] = [(0, 0), (1, 0), (2, 2), (3, 1), (3, 5), (4, 3), (5, 0), (5, 4), (6, 0), (6, 4), (7, 0), (9, 0), (10, 1), (11, 0), (11, 4), (12, 2), (13, 2), (13, 6), (16, 0), (17, 0), (18, 1), (19, 3), (20, 1), (21, 0), (22, 3), (23, 0), (23, 4)]
        #expect(b.sampleIndex_N2 == rows.flatMap { [$0.0, $0.1] })
        #expect(b.shuffleIndex == [7, 10, 4, 1, 12, 8, 3, 15, 14, 13, 5, 11, 0, 2, 6, 9, 16, 17, 22, 25, 23, 24, 18, 21, 20, 19])

        let c = try GPTSampleIndex.build(sizes: sizes, sequences: train, config: .init(sequenceLength: 4, seed: 1234, sampleCount: 25))
        #expect(c.epochs == 3 && !c.separateFinalEpoch)
        #expect(c.documentIndex == [7, 0, 2, 3, 1, 2, 5, 4, 0, 0, 5, 5, 2, 6, 4, 6, 3, 1, 1, 7, 4, 6, 3, 7])
        #expect(c.shuffleIndex == [22, 21, 4, 8, 10, 19, 17, 14, 1, 13, 20, 24, 25, 23, 9, 0, 11, 7, 3, 6, 2, 5, 12, 16, 18, 15])

        // Sample contents: sequence i holds tokens 100(i+1)+k.
        let dir = try TemporaryDirectory()
        let writer = try IndexedDatasetWriter(prefix: dir.file("g"), vocabularySize: 50257)
        for (i, size) in sizes.enumerated() {
            try writer.addDocument(sequences: [(0..<size).map { Int32(100 * (i + 1)) + $0 }])
        }
        try writer.finalize()
        let dataset = try IndexedDataset(prefix: dir.file("g"))
        #expect(a.sampleTokens(0, dataset: dataset) == [102, 103, 104, 500, 501])
        #expect(b.sampleTokens(0, dataset: dataset) == [304, 305, 306, 307, 300])
        #expect(c.sampleTokens(0, dataset: dataset) == [200, 201, 202, 800, 500])
    }

    private func npy(_ name: String) throws -> [Int64] {
        try NPYFile.read(MegatronFixtures.root + "/gpt/" + name).values
    }

    private func expectEqual(_ ours: GPTSampleIndex, _ entry: [String: Any], dataset: IndexedDataset, _ label: String) throws {
        let files = entry["files"] as! [String: String]
        #expect(ours.documentIndex.map(Int64.init) == (try npy(files["document_index"]!)), "\(label) document_index")
        #expect(ours.sampleIndex_N2 == (try npy(files["sample_index"]!)), "\(label) sample_index")
        #expect(ours.shuffleIndex == (try npy(files["shuffle_index"]!)), "\(label) shuffle_index")
        #expect(ours.sampleCount == entry["length"] as! Int, "\(label) length")
        for (i, tokens) in (entry["first_samples"] as! [Any]).enumerated() {
            #expect(ours.sampleTokens(i, dataset: dataset) == int32s(tokens), "\(label) sample \(i)")
        }
    }

    /// Every split of every single-dataset case built by megatron-core's BlendedMegatronDatasetBuilder.
    @Test func equalsMegatronSingleDatasetCases() throws {
        let cases = try MegatronFixtures.json("gpt/cases.json")["cases"] as! [[String: Any]]
        var checked = 0
        for c in cases where (c["corpora"] as! [String]).count == 1 {
            let name = c["name"] as! String
            let dataset = try IndexedDataset(prefix: MegatronFixtures.root + "/gpt/" + (c["corpora"] as! [String])[0])
            let ranges = try SplitRanges.ranges(split: c["split"] as! String, sequenceCount: dataset.sequenceCount)
            let sizes = c["sizes"] as! [Any]
            for (k, entry) in (c["splits"] as! [Any]).enumerated() {
                guard let entry = entry as? [String: Any] else {
                    #expect(ranges[k] == nil, "\(name) split \(k) should be absent")
                    continue
                }
                let range = try #require(ranges[k])
                #expect(ints(entry["range"]!) == [range.lowerBound, range.upperBound], "\(name) split \(k) range")
                let count = (sizes[k] as? NSNumber)?.intValue
                let config = GPTSampleIndexConfig(sequenceLength: c["sequence_length"] as! Int,
                                                  seed: UInt32(c["seed"] as! Int), sampleCount: count)
                let ours = try GPTSampleIndex.build(sizes: dataset.sequenceLengths, sequences: range, config: config)
                try expectEqual(ours, entry, dataset: dataset, "\(name)/\(k)")
                checked += 1
            }
        }
        #expect(checked == 12)
    }

    @Test func separateFinalEpochCasesAreCovered() throws {
        let dataset = try IndexedDataset(prefix: MegatronFixtures.root + "/gpt/corpusA")
        let sizes = dataset.sequenceLengths
        let hint = try MegatronFixtures.json("gpt/cases.json")["per_epoch_hint"] as! Int
        let separate = try GPTSampleIndex.build(sizes: sizes, sequences: 0..<59, config: .init(sequenceLength: 8, seed: 1234, sampleCount: 2 * hint + 2))
        let joined = try GPTSampleIndex.build(sizes: sizes, sequences: 0..<59, config: .init(sequenceLength: 8, seed: 99, sampleCount: 3 * hint - 2))
        #expect(separate.separateFinalEpoch && separate.epochs == 3)
        #expect(!joined.separateFinalEpoch && joined.epochs == 3)
    }

    /// The weighted blends built by megatron-core (per-dataset indices and the blending arrays).
    @Test func equalsMegatronBlendedCases() throws {
        let cases = try MegatronFixtures.json("gpt/cases.json")["cases"] as! [[String: Any]]
        var checked = 0
        for c in cases where (c["corpora"] as! [String]).count > 1 {
            let name = c["name"] as! String
            let datasets = try (c["corpora"] as! [String]).map { try IndexedDataset(prefix: MegatronFixtures.root + "/gpt/" + $0) }
            let weights = (c["weights"] as! [Any]).map { ($0 as! NSNumber).doubleValue }
            let sizes = c["sizes"] as! [Any]
            for (k, entry) in (c["splits"] as! [Any]).enumerated() {
                guard let entry = entry as? [String: Any] else { continue }
                let components = try datasets.map { dataset in
                    BlendComponent(sizes: dataset.sequenceLengths,
                                   sequences: try #require(try SplitRanges.ranges(split: c["split"] as! String, sequenceCount: dataset.sequenceCount)[k]))
                }
                let ours = try BlendedGPTSampleIndex.build(
                    components: components, weights: weights, sampleCount: (sizes[k] as! NSNumber).intValue,
                    sequenceLength: c["sequence_length"] as! Int, seed: UInt32(c["seed"] as! Int))
                #expect(ours.datasetIndex.map(Int64.init) == (try npy(entry["dataset_index"] as! String)), "\(name)/\(k) dataset_index")
                #expect(ours.datasetSampleIndex == (try npy(entry["dataset_sample_index"] as! String)), "\(name)/\(k) dataset_sample_index")
                for (j, sub) in (entry["datasets"] as! [[String: Any]]).enumerated() {
                    try expectEqual(ours.datasets[j], sub, dataset: datasets[j], "\(name)/\(k)/ds\(j)")
                }
                let samples = BlendedGPTSamples(
                    datasets: zip(datasets, ours.datasets).map { GPTDatasetSamples(dataset: $0, index: $1) }, index: ours)
                for (i, tokens) in (entry["first_samples"] as! [Any]).enumerated() {
                    #expect(samples.sample(i) == int32s(tokens), "\(name)/\(k) blended sample \(i)")
                }
                checked += 1
            }
        }
        #expect(checked == 3)
    }

    @Test func blendingExampleFromNotes() {
        let (datasets, samples) = Blending.blendingIndices(weights: Blending.normalize([0.3, 0.7]), size: 12)
        #expect(datasets == [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1])
        #expect(samples == [0, 0, 1, 2, 1, 3, 4, 2, 5, 6, 3, 7])
    }
}
