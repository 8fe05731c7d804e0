import Foundation
import Testing
@testable import XMoEData

@Suite struct LoaderAndCacheTests {
    private func corpus() throws -> (IndexedDataset, GPTSampleIndex) {
        let dataset = try IndexedDataset(prefix: MegatronFixtures.root + "/gpt/corpusA")
        let index = try GPTSampleIndex.build(sizes: dataset.sequenceLengths, sequences: 0..<59,
                                             config: .init(sequenceLength: 8, seed: 1234, sampleCount: 40))
        return (dataset, index)
    }

    /// Megatron's MegatronPretrainingSampler: groups of mbs*dp consecutive indices, rank r takes
    /// slice r; written out independently here as the expected index lists.
    @Test func rankSlicingFollowsMegatronSampler() throws {
        let (dataset, index) = try corpus()
        let source = GPTDatasetSamples(dataset: dataset, index: index)
        let total = source.sampleCount, mbs = 3, dp = 4
        for rank in 0..<dp {
            var loader = try GPTBatchLoader(source: source, microBatchSize: mbs, dataParallelSize: dp, dataParallelRank: rank)
            var expectedBatches: [[Int]] = []
            var group: [Int] = []
            for i in 0..<total {
                group.append(i)
                if group.count == mbs * dp {
                    expectedBatches.append(Array(group[(rank * mbs)..<((rank + 1) * mbs)]))
                    group = []
                }
            }
            var batches: [[Int]] = []
            while let indices = loader.nextSampleIndices() {
                let next = loader.next()
                let tokens_BS = try #require(next)
                #expect(tokens_BS == indices.flatMap { source.sample($0) })
                #expect(tokens_BS.count == mbs * 9)
                batches.append(Array(indices))
            }
            #expect(batches == expectedBatches)
            #expect(loader.consumedSamples == expectedBatches.count * mbs * dp)
        }
    }

    @Test func resumeYieldsTheSameBatches() throws {
        let (dataset, index) = try corpus()
        let source = GPTDatasetSamples(dataset: dataset, index: index)
        var uninterrupted = try GPTBatchLoader(source: source, microBatchSize: 2, dataParallelSize: 2, dataParallelRank: 1)
        var all: [(Int, [Int32])] = []
        while true {
            let position = uninterrupted.consumedSamples
            guard let batch = uninterrupted.next() else { break }
            all.append((position, batch))
        }
        #expect(all.count == source.sampleCount / 4)
        for (k, (position, _)) in all.enumerated() {
            var resumed = try GPTBatchLoader(source: source, microBatchSize: 2, dataParallelSize: 2,
                                             dataParallelRank: 1, consumedSamples: position)
            var rest: [[Int32]] = []
            while let batch = resumed.next() { rest.append(batch) }
            #expect(rest == all[k...].map { $0.1 })
        }
        #expect(throws: SampleIndexError.self) {
            try GPTBatchLoader(source: source, microBatchSize: 2, dataParallelSize: 2, dataParallelRank: 2)
        }
    }

    /// The cache writes .npy files megatron-core's dtypes and reads them back; its arrays must be
    /// megatron's (compared against the fixture written by NumPy), and a second call must load them.
    @Test func cacheStoresMegatronReadableNpy() throws {
        let dir = try TemporaryDirectory()
        let dataset = try IndexedDataset(prefix: MegatronFixtures.root + "/gpt/corpusA")
        let cache = SampleIndexCache(directory: dir.file("cache"))
        let config = GPTSampleIndexConfig(sequenceLength: 8, seed: 1234, sampleCount: 40)
        let built = try cache.loadOrBuild(sizes: dataset.sequenceLengths, sequences: 0..<59, config: config)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("cache")).sorted()
        #expect(files.count == 4)
        let sampleFile = try #require(files.first { $0.hasSuffix("-sample_index.npy") })
        let sample = try NPYFile.read(dir.file("cache/" + sampleFile))
        #expect(sample.dtype == .int32 && sample.shape == [built.sampleCount + 1, 2])
        let megatron = try NPYFile.read(MegatronFixtures.root + "/gpt/single_epoch-train-sample_index.npy")
        #expect(sample.values == megatron.values && sample.dtype == megatron.dtype)
        // The NPY header bytes are NumPy's own for the same array.
        let ours = try Data(contentsOf: URL(fileURLWithPath: dir.file("cache/" + sampleFile)))
        let theirs = try Data(contentsOf: URL(fileURLWithPath: MegatronFixtures.root + "/gpt/single_epoch-train-sample_index.npy"))
        #expect(ours == theirs)

        // Corrupt the cached shuffle index: the reload must say so and rebuild, not return wrong data.
        let loaded = try cache.loadOrBuild(sizes: dataset.sequenceLengths, sequences: 0..<59, config: config)
        #expect(loaded == built)
        let shuffleFile = try #require(files.first { $0.hasSuffix("-shuffle_index.npy") })
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir.file("cache/" + shuffleFile)))
        var notices: [String] = []
        let rebuilt = try cache.loadOrBuild(sizes: dataset.sequenceLengths, sequences: 0..<59, config: config) {
            notices.append($0)
        }
        #expect(rebuilt == built)
        #expect(notices.count == 1 && notices[0].contains(shuffleFile) && notices[0].contains("rebuilding"), "\(notices)")
    }
}
