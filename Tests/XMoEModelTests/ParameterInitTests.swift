import Foundation
import Testing
import XMoECompute
@testable import XMoEModel

/// Parameter naming, init rules and determinism of the counter-based generator.
@Suite struct ParameterInitTests {
    func bits(_ model: MoETransformer) -> [String: [UInt32]] {
        var out: [String: [UInt32]] = [:]
        for p in model.parameters.parameters { out[p.name] = model.backend.downloadFloats(p.value).map(\.bitPattern) }
        return out
    }

    @Test func sameSeedSameBitsOtherSeedOtherValues() {
        let c = TinyModels.config(.deepseek)
        let a = MoETransformer(config: c, options: MoEOptions(seed: 11), backend: CPUBackend())
        let b = MoETransformer(config: c, options: MoEOptions(seed: 11), backend: CPUBackend())
        let other = MoETransformer(config: c, options: MoEOptions(seed: 12), backend: CPUBackend())
        #expect(bits(a) == bits(b))
        let (ba, bo) = (bits(a), bits(other))
        for p in a.parameters.parameters where p.weightDecay { #expect(ba[p.name] != bo[p.name], "\(p.name)") }
    }

    @Test func generatorIsKeyedByPurposeAndIndexOnly() {
        let rng = CounterRNG(seed: 3, purpose: "layers.00.attn.w_qkv")
        let forward = (0..<100).map { rng.normal(UInt64($0)) }
        let backward = (0..<100).reversed().map { rng.normal(UInt64($0)) }.reversed()
        #expect(forward == Array(backward))
        #expect(forward == (0..<100).map { CounterRNG(seed: 3, purpose: "layers.00.attn.w_qkv").normal(UInt64($0)) })
        let otherPurpose = (0..<100).map { CounterRNG(seed: 3, purpose: "layers.00.attn.w_o").normal(UInt64($0)) }
        let otherSeed = (0..<100).map { CounterRNG(seed: 4, purpose: "layers.00.attn.w_qkv").normal(UInt64($0)) }
        #expect(zip(forward, otherPurpose).filter { $0 == $1 }.isEmpty)
        #expect(zip(forward, otherSeed).filter { $0 == $1 }.isEmpty)
    }

    @Test func normalsHaveUnitMomentsAndUncorrelatedNeighbours() {
        let rng = CounterRNG(seed: 99, purpose: "moments")
        let n = 40_000
        let x = (0..<n).map { rng.normal(UInt64($0)) }
        let mean = x.reduce(0, +) / Double(n)
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        let lag1 = zip(x, x.dropFirst()).map { $0 * $1 }.reduce(0, +) / Double(n - 1)
        // Standard errors: mean 0.005, variance 0.007, lag-1 correlation 0.005; bounds at ~4σ.
        #expect(abs(mean) < 0.02)
        #expect(abs(variance - 1) < 0.03)
        #expect(abs(lag1) < 0.02)
    }

    /// An expert's init depends on its global id, not on which rank (slice of experts) holds it.
    @Test func expertInitFollowsGlobalIdNotLayout() {
        final class SecondHalf: TokenDispatcher {
            let localExperts = 2..<4
            let meter = DispatchMeter()
            func dispatch(_ x_BH: Tensor, plan: PermutePlan) -> any DispatchContext { fatalError("not run") }
            func combine(_ y: Tensor, context: any DispatchContext) -> Tensor { y }
            func combineBackward(_ dY_BH: Tensor, context: any DispatchContext) -> Tensor { dY_BH }
            func dispatchBackward(_ dRows: Tensor, context: any DispatchContext) -> Tensor { dRows }
        }
        let c = TinyModels.config(.xmoePaper)
        let full = MoETransformer(config: c, options: MoEOptions(), backend: CPUBackend())
        let half = MoETransformer(config: c, options: MoEOptions(), backend: CPUBackend(), dispatcher: SecondHalf())
        let fullSlices = TinyModels.parameters(of: full), halfSlices = TinyModels.parameters(of: half)
        #expect(halfSlices["layers.01.moe.experts.003.w_in"] != nil)
        #expect(halfSlices["layers.01.moe.experts.001.w_in"] == nil)
        for (name, values) in halfSlices { #expect(fullSlices[name] == values, "\(name)") }
    }

    @Test(arguments: TinyModels.Preset.allCases)
    func namesCountsAndInitRules(preset: TinyModels.Preset) {
        let c = TinyModels.config(preset)
        let options = MoEOptions(initStd: 0.5)
        let model = MoETransformer(config: c, options: options, backend: CPUBackend())
        let slices = TinyModels.parameters(of: model)
        // The count ModelSize derives from the config by formula.
        #expect(slices.values.reduce(0) { $0 + $1.count } == ModelSize(c).totalParameters)
        #expect(model.parameters.elementCount == ModelSize(c).totalParameters)
        #expect(slices["layers.01.moe.experts.003.w_out"]?.count == c.expertFFNHidden * c.hidden)
        #expect((slices["lm_head.w"] != nil) == !c.tiedEmbeddings)
        #expect((slices["layers.01.moe.shared.00.w_in"] != nil) == (c.numSharedExperts > 0))
        #expect((slices["layers.00.ffn.w_in"] != nil) == (c.firstDenseLayers > 0))
        for p in model.parameters.parameters {
            let values = model.backend.downloadFloats(p.value)
            let isNorm = p.name.contains("norm."), isBias = p.name.split(separator: ".").last!.hasPrefix("b")
            #expect(p.weightDecay == !(isNorm || isBias), "\(p.name)")
            if isNorm && p.name.hasSuffix(".weight") { #expect(values.allSatisfy { $0 == 1 }, "\(p.name)") }
            if isBias || p.name.hasSuffix("norm.bias") { #expect(values.allSatisfy { $0 == 0 }, "\(p.name)") }
        }
        func std(_ name: String) -> Double {
            let v = slices[name]!
            return (v.map { $0 * $0 }.reduce(0, +) / Double(v.count)).squareRoot()
        }
        // Matrices: std 0.5; output projections 0.5 / sqrt(2·layers) = 0.25 (256+ samples: ±15%).
        #expect(abs(std("layers.00.attn.w_qkv") / 0.5 - 1) < 0.15)
        #expect(abs(std("layers.00.attn.w_o") / 0.25 - 1) < 0.15)
        #expect(abs(std("layers.01.moe.experts.002.w_in") / 0.5 - 1) < 0.15)
        #expect(abs(std("layers.01.moe.experts.002.w_out") / 0.25 - 1) < 0.15)
        #expect(abs(std("layers.01.moe.router.w") / 0.5 - 1) < 0.15)
    }
}
