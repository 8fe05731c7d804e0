import Foundation
import Testing
import XMoECompute
import XMoEModel

/// The fp32 Swift model against an independent PyTorch implementation (float64, autograd; see
/// tools/torch-reference/make_golden.py): same weights by global name, same tokens, then the four
/// losses and the gradient of the total w.r.t. every globally named parameter slice.
@Suite struct TorchGoldenTests {
    /// fp32 forward of a 2-layer model vs float64 (measured ≤ 2e-7): relative error of each loss.
    static let lossRelTol = 1e-5
    /// Per parameter slice: max|Δgrad| ≤ gradTol · max(max|ref| of the slice, 1e-2 · max|ref| of the case).
    /// Measured ≤ 6e-6.
    static let gradTol = 2e-4

    @Test(arguments: ["xmoe_paper", "deepseek", "dropping", "topk_logits"])
    func swiftModelMatchesTorchReference(caseName: String) throws {
        let (cases, values) = try TorchGolden.load()
        let golden = try #require(cases.first { $0.name == caseName }, "golden.json has no case \(caseName)")
        let backend = CPUBackend()
        let model = MoETransformer(config: try golden.modelConfig(), options: try golden.moeOptions(), backend: backend)
        let params = golden.tensors("param", in: values), grads = golden.tensors("grad", in: values)

        // Same set of global names on both sides, then the golden weights into each slice.
        let swiftNames = Set(model.parameters.namedSlices.map(\.name))
        #expect(swiftNames == Set(params.keys), "names only in Swift: \(swiftNames.subtracting(params.keys).sorted()); only in torch: \(Set(params.keys).subtracting(swiftNames).sorted())")
        for p in model.parameters.parameters {
            var host = backend.downloadFloats(p.value)
            for slice in p.slices {
                let ref = try #require(params[slice.name], "no golden weights for \(slice.name)")
                let swiftShape = p.experts == nil ? p.value.shape : Array(p.value.shape.dropFirst())
                #expect(ref.shape == swiftShape, "\(slice.name): torch shape \(ref.shape), Swift \(swiftShape)")
                try #require(ref.values.count == slice.elements.count)
                for (i, v) in zip(slice.elements, ref.values) { host[i] = Float(v) }
            }
            backend.upload(host, to: p.value)
        }

        model.zeroGrads()
        let losses = try model.forward(tokens: golden.tokens, targets: golden.targets)
        try model.backward()

        let ref = golden.losses
        var report = "\(caseName):"
        for (label, got, want) in [("lm", losses.lm, ref.lm), ("aux", losses.aux, ref.aux), ("z", losses.z, ref.z),
                                   ("total", losses.total, ref.total)] {
            let rel = abs(Double(got) - want) / max(abs(want), 1e-12)
            report += " \(label) rel \(String(format: "%.1e", rel))"
            #expect(rel <= Self.lossRelTol, "\(caseName) \(label) loss: Swift \(got), torch \(want), rel \(rel)")
        }

        let caseMax = grads.values.reduce(0.0) { max($0, $1.values.map(abs).max() ?? 0) }
        var worstAbs = 0.0, worstNorm = 0.0, worstName = ""
        for slice in model.parameters.namedSlices {
            guard let want = grads[slice.name] else { continue }  // reported by the name check above
            let got = backend.downloadFloats(slice.parameter.grad)[slice.elements]
            let refMax = want.values.map(abs).max() ?? 0
            let diff = zip(got, want.values).map { abs(Double($0) - $1) }.max() ?? 0
            let norm = diff / max(refMax, 1e-2 * caseMax)
            if norm > worstNorm { (worstNorm, worstName) = (norm, slice.name) }
            worstAbs = max(worstAbs, diff)
            #expect(norm <= Self.gradTol, "\(caseName) grad \(slice.name): max|Δ| \(diff), max|ref| \(refMax)")
        }
        report += String(format: "; grads max|Δ| %.1e (max|ref| %.1e), worst normalised %.1e at %@", worstAbs, caseMax, worstNorm, worstName)
        print(report)
    }
}
