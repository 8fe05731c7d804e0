import Foundation

/// Weighted blending of several GPT datasets as megatron-core 0.19 does it (notes §3.9).
public enum Blending {
    /// NumPy's float64 `sum`: pairwise, with 8 accumulators for 8…128 items; the exact order
    /// matters because the normalized weights decide ties in the blending loop.
    public static func numpySum(_ values: [Double]) -> Double {
        pairwiseSum(values[...])
    }

    private static func pairwiseSum(_ a: ArraySlice<Double>) -> Double {
        let n = a.count, start = a.startIndex
        if n < 8 {
            var sum = 0.0
            for v in a { sum += v }
            return sum
        }
        if n <= 128 {
            var r = (0..<8).map { a[start + $0] }
            var i = 8
            while i < n - n % 8 {
                for k in 0..<8 { r[k] += a[start + i + k] }
                i += 8
            }
            var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n { sum += a[start + i]; i += 1 }
            return sum
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwiseSum(a[start..<(start + n2)]) + pairwiseSum(a[(start + n2)...])
    }

    /// megatron `normalize`: `w / numpy.sum(w)`.
    public static func normalize(_ weights: [Double]) -> [Double] {
        let total = numpySum(weights)
        return weights.map { $0 / total }
    }

    /// Samples to build for each dataset: `ceil(ceil(N * w_i) * (1 + surplus))`; with surplus 0
    /// this is the per-dataset target whose sum is the blend's length.
    public static func samplesPerDataset(normalizedWeights: [Double], sampleCount: Int, surplus: Double) -> [Int] {
        normalizedWeights.map { weight in
            let target: Double = (Double(sampleCount) * weight).rounded(.up)
            return Int((target * (1 + surplus)).rounded(.up))
        }
    }

    /// `helpers.cpp build_blending_indices`: each sample goes to the dataset furthest behind its share.
    public static func blendingIndices(weights: [Double], size: Int) -> (datasetIndex: [Int16], datasetSampleIndex: [Int64]) {
        precondition(!weights.isEmpty && weights.count <= Int(Int16.max), "1…32767 datasets")
        var current = [Int64](repeating: 0, count: weights.count)
        var datasetIndex = [Int16](repeating: 0, count: size)
        var datasetSampleIndex = [Int64](repeating: 0, count: size)
        for s in 0..<size {
            let x = max(Double(s), 1.0)
            var best = 0
            var bestError = weights[0] * x - Double(current[0])
            for d in 1..<weights.count {
                let error = weights[d] * x - Double(current[d])
                if error > bestError {
                    bestError = error
                    best = d
                }
            }
            datasetIndex[s] = Int16(best)
            datasetSampleIndex[s] = current[best]
            current[best] += 1
        }
        return (datasetIndex, datasetSampleIndex)
    }
}

/// One input of a blend: the sequence lengths of its `.idx` and the split's sequence range.
public struct BlendComponent: Sendable {
    public var sizes: [Int32]
    public var sequences: Range<Int>

    public init(sizes: [Int32], sequences: Range<Int>) {
        self.sizes = sizes
        self.sequences = sequences
    }
}

/// megatron-core's `BlendedDataset` over `GPTDataset`s for one split.
public struct BlendedGPTSampleIndex: Sendable, Equatable {
    public var datasets: [GPTSampleIndex]
    public var datasetIndex: [Int16]
    public var datasetSampleIndex: [Int64]

    public var sampleCount: Int { datasetIndex.count }

    /// - Parameters:
    ///   - weights: unnormalized blend weights, one per component.
    ///   - sampleCount: samples requested for this split.
    ///   - surplus: `--mid-level-dataset-surplus` (megatron-core default 0.005).
    public static func build(components: [BlendComponent], weights: [Double], sampleCount: Int,
                             sequenceLength: Int, seed: UInt32, addExtraToken: Bool = true,
                             surplus: Double = 0.005) throws -> BlendedGPTSampleIndex {
        guard components.count == weights.count, !weights.isEmpty else {
            throw SampleIndexError(description: "blend has \(components.count) datasets but \(weights.count) weights")
        }
        guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.contains(where: { $0 > 0 }) else {
            throw SampleIndexError(description: "blend weights \(weights) must be finite, non-negative and not all zero")
        }
        let normalized = Blending.normalize(weights)
        let targets = Blending.samplesPerDataset(normalizedWeights: normalized, sampleCount: sampleCount, surplus: 0)
        let buildSizes = Blending.samplesPerDataset(normalizedWeights: normalized, sampleCount: sampleCount, surplus: surplus)
        var datasets: [GPTSampleIndex] = []
        for (i, component) in components.enumerated() {
            let config = GPTSampleIndexConfig(sequenceLength: sequenceLength, seed: seed,
                                              sampleCount: buildSizes[i], addExtraToken: addExtraToken)
            datasets.append(try GPTSampleIndex.build(sizes: component.sizes, sequences: component.sequences, config: config))
        }
        // BlendedDataset normalizes the already normalized weights once more.
        let (datasetIndex, datasetSampleIndex) = Blending.blendingIndices(
            weights: Blending.normalize(normalized), size: targets.reduce(0, +))
        return BlendedGPTSampleIndex(datasets: datasets, datasetIndex: datasetIndex, datasetSampleIndex: datasetSampleIndex)
    }
}
