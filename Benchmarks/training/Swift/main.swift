// Training throughput of the CPU engine against OpenBLAS's own sgemm rate, measured in one run.
//
// For each model: time forward + backward + AdamW over synthetic tokens (after warm-up steps),
// report tokens/s and achieved GFLOP/s by the X-MoE FLOP formula (ModelSize.trainingFLOPsPerToken),
// then time cblas_sgemm alone on the model's own forward matrix products (same shapes, same thread
// count) and print the ratio: the fraction of the BLAS rate the whole training step achieves.
import COpenBLAS
import Foundation
import XMoECompute
import XMoEModel
import XMoETrain

struct Case {
    var name: String
    var config: ModelConfig
    var microBatch: Int
}

func model(layers: Int, hidden: Int, heads: Int, seq: Int, experts: Int, topK: Int, expertFFN: Int, shared: Int) -> ModelConfig {
    ModelConfig(layers: layers, hidden: hidden, heads: heads, ffnHidden: 3 * hidden, seqLength: seq, vocabSize: 50257,
                paddedVocab: 50304, firstDenseLayers: 1, norm: .rmsNorm, activation: .swiglu, linearBias: false,
                tiedEmbeddings: false, numExperts: experts, topK: topK, expertFFNHidden: expertFFN,
                expertActivation: .swiglu, expertBias: false, numSharedExperts: shared, sharedExpertFFNHidden: expertFFN)
}

let cases = [
    Case(name: "quickstart (H 64)", config: model(layers: 2, hidden: 64, heads: 4, seq: 64, experts: 8, topK: 2, expertFFN: 64, shared: 1),
         microBatch: 8),
    Case(name: "cpu-512 (H 512)", config: model(layers: 4, hidden: 512, heads: 8, seq: 256, experts: 16, topK: 4, expertFFN: 512, shared: 1),
         microBatch: 4),
]

let threads = Int(ProcessInfo.processInfo.environment["XMOE_BENCH_THREADS"] ?? "1") ?? 1
let steps = Int(ProcessInfo.processInfo.environment["XMOE_BENCH_STEPS"] ?? "4") ?? 4

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The forward matrix products of one micro-batch, as (m, n, k, count); backward is twice these.
func forwardGemms(_ c: ModelConfig, tokens t: Int) -> [(Int, Int, Int, Int)] {
    let h = c.hidden, slots = t * c.topK
    var list: [(Int, Int, Int, Int)] = [(t, 3 * h, h, c.layers), (t, h, h, c.layers), (t, c.paddedVocab, h, 1)]
    list.append((t, 2 * c.ffnHidden, h, c.firstDenseLayers))
    list.append((t, h, c.ffnHidden, c.firstDenseLayers))
    // Experts see slots/E rows each on average: time them as E products of that size.
    let rows = max(1, slots / c.numExperts)
    list.append((rows, 2 * c.expertFFNHidden, h, c.moeLayers * c.numExperts))
    list.append((rows, h, c.expertFFNHidden, c.moeLayers * c.numExperts))
    list.append((t, 2 * c.sharedExpertFFNHidden, h, c.moeLayers * c.numSharedExperts))
    list.append((t, h, c.sharedExpertFFNHidden, c.moeLayers * c.numSharedExperts))
    return list.filter { $0.3 > 0 }
}

func sgemmRate(_ shapes: [(Int, Int, Int, Int)]) -> Double {
    openblas_set_num_threads(Int32(threads))
    var flops = 0.0, seconds = Double.infinity
    for _ in 0..<3 {
        var total = 0.0
        var work = 0.0
        for (m, n, k, count) in shapes {
            let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
            var c = [Float](repeating: 0, count: m * n)
            let start = now()
            for _ in 0..<count {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k),
                            b, Int32(n), 0, &c, Int32(n))
            }
            total += now() - start
            work += 2.0 * Double(m * n * k * count)
        }
        flops = work
        seconds = min(seconds, total)
    }
    openblas_set_num_threads(1)
    return flops / seconds
}

print("xmoe training benchmark: \(threads) thread(s), \(steps) timed steps after 1 warm-up step")
print("model                tokens/s   GFLOP/s (X-MoE formula)   sgemm GFLOP/s (model's shapes)   ratio")
for c in cases {
    let backend = CPUBackend(threads: threads)
    let m = MoETransformer(config: c.config, options: MoEOptions(gating: .softmaxTopK, capacity: .dropless), backend: backend)
    let optimizer = Optimizer(store: m.parameters, settings: AdamWSettings())
    let t = c.microBatch * c.config.seqLength
    var rng = SystemRandomNumberGenerator()
    let tokens = (0..<t).map { _ in Int32.random(in: 0..<50257, using: &rng) }
    let targets = (0..<t).map { _ in Int32.random(in: 0..<50257, using: &rng) }
    func step() throws {
        m.zeroGrads()
        _ = try m.forward(tokens: tokens, targets: targets)
        try m.backward()
        try optimizer.apply(lr: 1e-4)
    }
    try step()
    let start = now()
    for _ in 0..<steps { try step() }
    let elapsed = now() - start
    let tokensPerSecond = Double(steps * t) / elapsed
    let achieved = tokensPerSecond * ModelSize(c.config).trainingFLOPsPerToken
    let blas = sgemmRate(forwardGemms(c.config, tokens: t))
    print(String(format: "%-20@ %9.0f   %23.2f   %30.2f   %5.2f", c.name as NSString, tokensPerSecond, achieved / 1e9,
                 blas / 1e9, achieved / blas))
}
