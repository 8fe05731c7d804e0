import Foundation
import XMoEModel

/// The golden file written by tools/torch-reference/make_golden.py: an independent PyTorch model
/// (float64, autograd) run on weights it drew itself. `golden.json` indexes `golden.bin`
/// (little-endian float64); parameters carry the Swift model's global names and layouts.
struct TorchGolden: Decodable {
    struct Config: Decodable {
        let layers, hidden, heads, ffnHidden, seqLength, vocabSize, paddedVocab, firstDenseLayers: Int
        let norm, activation: String
        let linearBias, tiedEmbeddings: Bool
        let numExperts, topK, expertFFNHidden: Int
        let expertActivation: String
        let expertBias: Bool
        let numSharedExperts, sharedExpertFFNHidden: Int
    }

    struct Options: Decodable {
        let gating: String
        let capacityFactor: Double?
        let minCapacity: Int
        let auxLossCoeff, zLossCoeff, ropeTheta, normEps: Double
    }

    struct Losses: Decodable { let lm, aux, z, total: Double }

    struct Entry: Decodable {
        let name, role: String
        let shape: [Int]
        let offset, count: Int
    }

    struct Case: Decodable {
        let name: String
        let config: Config
        let options: Options
        let batch: Int
        let tokens, targets: [Int32]
        let losses: Losses
        let tensors: [Entry]
    }

    let cases: [Case]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// The cases and the float64 payload they index.
    static func load() throws -> (cases: [Case], values: [Double]) {
        let index = try JSONDecoder().decode(TorchGolden.self, from: Data(contentsOf: directory.appendingPathComponent("golden.json")))
        let bytes = try Data(contentsOf: directory.appendingPathComponent("golden.bin"))
        let values = bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        }
        return (index.cases, values)
    }
}

enum GoldenError: Error, CustomStringConvertible {
    case unknown(String)
    var description: String {
        switch self { case .unknown(let m): return m }
    }
}

extension TorchGolden.Case {
    func modelConfig() throws -> ModelConfig {
        let c = config
        guard let norm = ModelConfig.Norm(rawValue: c.norm), let act = ModelConfig.Activation(rawValue: c.activation),
              let expertAct = ModelConfig.Activation(rawValue: c.expertActivation) else {
            throw GoldenError.unknown("golden.json case \(name): unknown norm/activation \(c.norm)/\(c.activation)/\(c.expertActivation)")
        }
        return ModelConfig(layers: c.layers, hidden: c.hidden, heads: c.heads, ffnHidden: c.ffnHidden,
                           seqLength: c.seqLength, vocabSize: c.vocabSize, paddedVocab: c.paddedVocab,
                           firstDenseLayers: c.firstDenseLayers, norm: norm, activation: act, linearBias: c.linearBias,
                           tiedEmbeddings: c.tiedEmbeddings, numExperts: c.numExperts, topK: c.topK,
                           expertFFNHidden: c.expertFFNHidden, expertActivation: expertAct, expertBias: c.expertBias,
                           numSharedExperts: c.numSharedExperts, sharedExpertFFNHidden: c.sharedExpertFFNHidden)
    }

    func moeOptions() throws -> MoEOptions {
        let o = options
        guard let gating = Gating(rawValue: o.gating) else {
            throw GoldenError.unknown("golden.json case \(name): unknown gating \(o.gating)")
        }
        return MoEOptions(gating: gating, capacity: CapacityRule(capacityFactor: o.capacityFactor, minCapacity: o.minCapacity),
                          auxLossCoeff: Float(o.auxLossCoeff), zLossCoeff: Float(o.zLossCoeff),
                          ropeTheta: Float(o.ropeTheta), normEps: Float(o.normEps))
    }

    /// name → (shape, values) for one role ("param" or "grad").
    func tensors(_ role: String, in values: [Double]) -> [String: (shape: [Int], values: ArraySlice<Double>)] {
        var out: [String: (shape: [Int], values: ArraySlice<Double>)] = [:]
        for e in tensors where e.role == role { out[e.name] = (e.shape, values[e.offset..<(e.offset + e.count)]) }
        return out
    }
}
