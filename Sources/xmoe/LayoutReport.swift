import Foundation
import XMoEModel
import XMoEParallel
import XMoESpec

/// The parallel layout, model size, FLOPs and per-rank memory of a spec, as `xmoe plan` prints them
/// and as `xmoe run` checks them before allocating anything.
struct LayoutReport {
    let spec: ExperimentSpec
    var plan: LayoutPlan { spec.layoutPlan }

    var text: String {
        let p = plan, s = p.sizes, size = p.model, c = size.config
        var lines: [String] = []
        lines.append("Layout")
        lines.append("  world \(p.worldSize) = dp \(s.dp) × tp \(s.tp); \(p.nodes) node\(p.nodes == 1 ? "" : "s") × \(s.ranksPerNode) ranks")
        lines.append("  ep \(s.ep): \(p.localExperts) local expert\(p.localExperts == 1 ? "" : "s") per rank, each replicated over \(p.expertDataParallel) expert-data-parallel rank\(p.expertDataParallel == 1 ? "" : "s")")
        lines.append("  micro-batch \(s.microBatch) × dp \(s.dp), global batch \(s.globalBatch) → \(p.accumulationSteps) accumulation step\(p.accumulationSteps == 1 ? "" : "s")")
        let tokens = p.tokensPerMoEBlock
        if let capacity = p.capacityPerExpert {
            lines.append("  MoE block: \(tokens) tokens per rank\(s.tp > 1 ? " (1/\(s.tp) under SSMB)" : ""), capacity \(capacity) slots per expert = max(\(p.minCapacity), ceil(\(tokens)·\(c.topK)·\(SpecValueText.float(p.capacityFactor))/\(c.numExperts)))")
        } else {
            lines.append("  MoE block: \(tokens) tokens per rank, dropless")
        }
        lines.append("  dispatcher \(spec.values.string("moe.dispatcher")!), ZeRO stage \(s.zeroStage)")
        lines.append("  device \(spec.values.string("train.device")!), precision \(TrainDevice.precision(spec))"
                     + " (train.precision \(spec.values.string("train.precision")!))")
        lines += groupLines.map { "  " + $0 }
        if let reason = RankEnvironment.unsupportedReason(spec) {
            lines += reason.split(separator: "\n").map { "  cannot run: \($0)" }
        }
        lines.append("")
        lines.append("Model")
        lines.append("  parameters \(Format.count(size.totalParameters)) (\(size.totalParameters)): experts \(Format.count(size.expertParameters)), other \(Format.count(size.nonExpertParameters))")
        lines.append("  activated per token \(Format.count(size.activatedParameters)); embedding \(c.paddedVocab) × \(c.hidden) (vocab \(c.vocabSize) padded)")
        let perToken = size.trainingFLOPsPerToken
        let perStep = perToken * Double(s.globalBatch * c.seqLength)
        lines.append("  training FLOPs: \(Format.flops(perToken)) per token, \(Format.flops(perStep)) per step (X-MoE formula)")
        lines.append("")
        lines.append("Memory per rank (\(TrainDevice.isCUDA(spec) ? "on the CPU, " : "")\(p.cpuPrecision.computeBytes == 2 ? "bf16 compute, fp32 masters" : "fp32"); estimate)")
        lines.append("  parameters held \(Format.count(p.parametersPerRank))")
        lines.append("  weights + grads + AdamW moments\(p.cpuPrecision.computeBytes == 2 ? " + bf16 compute copy" : "") \(Format.bytes(p.stateBytesPerRank))\(s.zeroStage >= 1 ? " (moments sharded, ZeRO-1)" : "")")
        lines.append("  activations per micro-batch \(Format.bytes(p.activationBytesPerRank))")
        lines.append("  total \(Format.bytes(p.totalBytesPerRank))")
        lines.append("  sample index at least \(Format.bytes(sampleIndexBytes)) (\(samplesText) samples × 24 bytes)")
        if let verdict = memoryVerdict { lines.append("  " + verdict.text) }
        lines += gpuMemoryLines
        return lines.joined(separator: "\n")
    }

    /// The process groups as lists of world ranks (Megatron order), e.g. "ep groups: [0 1] [2 3]".
    var groupLines: [String] {
        let s = plan.sizes
        guard let layout = try? GroupLayout(dp: s.dp, tp: s.tp, ep: s.ep, ranksPerNode: s.ranksPerNode) else { return [] }
        var kinds: [(String, GroupLayout.Kind)] = [("dp", .dp)]
        if s.tp > 1 { kinds.append(("tp", .tp)) }
        kinds += [("ep", .ep), ("expert-dp", .expertDP), ("node", .node)]
        return kinds.map { "\($0.0) groups: \(layout.describeGroups($0.1))" }
    }

    struct MemoryVerdict {
        var fits: Bool
        var text: String
    }

    /// Samples the run's sample indices hold: every training step's global batch, and one evaluation's.
    var sampleCount: Double {
        let v = spec.values
        let evaluation = v.int("train.eval_interval")! > 0 ? Double(v.int("train.eval_iters")!) * Double(v.int("train.micro_batch")!) : 0
        return Double(v.int("train.iters")!) * Double(v.int("train.global_batch")!) + evaluation
    }

    var samplesText: String { sampleCount < 1e9 ? "\(Int(sampleCount))" : String(format: "%.3g", sampleCount) }

    /// Megatron's sample index kept in memory by every rank: an int64 (document, offset) pair and an
    /// int64 shuffle entry per sample. A lower bound: the document index adds 4 bytes per document
    /// and epoch, which depends on the data.
    var sampleIndexBytes: Double { 24 * sampleCount }

    /// Whether the ranks this machine would host fit in its available memory.
    var memoryVerdict: MemoryVerdict? {
        guard let available = availableMemoryBytes() else { return nil }
        let p = plan
        // Started here without a launcher, `xmoe run` puts every rank on this machine, whatever
        // parallel.ranks_per_node groups them into; under mpirun/srun one node holds ranks_per_node.
        let localRanks = MPIRuntime.detectedLauncher == nil ? p.worldSize : min(p.sizes.ranksPerNode, p.worldSize)
        // In floating point: a million ranks of many TiB each would overflow an Int.
        let need = (Double(p.totalBytesPerRank) + sampleIndexBytes) * Double(localRanks)
        let ranks = "\(localRanks) rank\(localRanks == 1 ? "" : "s")"
        if need <= Double(available) {
            return MemoryVerdict(fits: true, text: "this machine: \(ranks) need \(Format.bytes(need)) of \(Format.bytes(available)) available: fits")
        }
        // A long run on a small model is refused for its sample index, not its model: say which.
        let why = sampleIndexBytes > Double(p.totalBytesPerRank)
            ? " (mostly the sample index of \(samplesText) samples: lower train.iters or train.global_batch)" : ""
        return MemoryVerdict(fits: false, text: "this machine: \(ranks) need \(Format.bytes(need)) but \(Format.bytes(available)) is available: does not fit\(why)")
    }
}

enum SpecValueText {
    static func float(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : "\(v)" }
}
