import XMoECompute
import XMoEModel
import XMoEParallel

/// One dispatcher on one scenario, on this rank, against the local reference: the same model with
/// every expert local, run by this rank on the batch of every member of its EP group in turn.
/// Dense and router gradients come from this rank's batch alone (each rank backpropagates its own
/// loss); an expert's gradient is the sum over the group's batches (its rows come from all of them).
struct DispatchComparison {
    let groups: ProcessGroups
    let kind: String
    let scenario: DispatchScenario
    /// Gradient tolerance, relative to the parameter's largest reference gradient element.
    static let gradientTolerance: Float = 1e-5
    /// Loss tolerance, relative to max(1, |reference|).
    static let lossTolerance: Float = 1e-5

    func run(into recorder: inout CheckRecorder, worst: inout Float) throws {
        let layout = groups.layout
        let members = layout.members(.ep, of: groups.rank)
        let me = layout.epIndex(of: groups.rank)
        let config = scenario.config(), options = scenario.options()
        let label = "\(kind) / \(scenario.name)"

        // Reference: this rank's batch first (dense gradients), then the other members' (experts').
        let reference = MoETransformer(config: config, options: options, backend: CPUBackend())
        reference.zeroGrads()
        var stats_P = [[RoutingStats]](repeating: [], count: members.count)
        var referenceLoss: LossParts?
        var denseReference: [String: [Float]] = [:]
        for p in [me] + members.indices.filter({ $0 != me }) {
            scenario.applyBias(reference, source: p, ep: layout.ep)
            let batch = DispatchScenario.batch(rank: members[p])
            let loss = try reference.forward(tokens: batch.tokens, targets: batch.targets)
            stats_P[p] = reference.routingStats
            try reference.backward()
            if p == me {
                referenceLoss = loss
                denseReference = gradients(reference)
            }
        }
        let expertReference = gradients(reference)

        // The dispatcher under test.
        let backend = CPUBackend()
        let dispatcher = try makeTokenDispatcher(kind: kind, groups: groups, experts: config.numExperts, backend: backend)
        let model = MoETransformer(config: config, options: options, backend: backend, dispatcher: dispatcher)
        scenario.applyBias(model, source: me, ep: layout.ep)
        model.zeroGrads()
        let batch = DispatchScenario.batch(rank: groups.rank)
        let loss = try model.forward(tokens: batch.tokens, targets: batch.targets)
        let forward = dispatcher.meter.take()
        try model.backward()

        if let r = referenceLoss {
            for (part, a, b) in [("lm", loss.lm, r.lm), ("aux", loss.aux, r.aux), ("z", loss.z, r.z), ("total", loss.total, r.total)] {
                let error = abs(a - b) / max(1, abs(b))
                recorder.expect("\(label): \(part) loss", error <= Self.lossTolerance, "got \(a), reference \(b)")
            }
        }
        let keptHere = model.routingStats.map(\.kept_E), keptReference = stats_P[me].map(\.kept_E)
        recorder.expectEqual("\(label): kept slots per expert", keptHere, keptReference)

        let mine = gradients(model)
        var compared = 0
        for (name, values) in mine.sorted(by: { $0.key < $1.key }) {
            let isExpert = name.contains(".moe.experts.")
            guard let ref = (isExpert ? expertReference : denseReference)[name] else {
                recorder.expect("\(label): \(name) exists in the reference", false)
                continue
            }
            let scale = max(ref.map(abs).max() ?? 0, 1e-20)
            let error = (zip(values, ref).map { abs($0 - $1) }.max() ?? 0) / scale
            worst = max(worst, error)
            recorder.expect("\(label): gradient of \(name)", error <= Self.gradientTolerance,
                            "relative error \(error) (largest reference element \(scale))")
            compared += 1
        }
        let expectedNames = Set(model.parameters.namedSlices.map(\.name))
        recorder.expectEqual("\(label): gradients compared", compared, expectedNames.count)

        checkBytes(forward, stats_P: stats_P, members: members, me: me, config: config, options: options,
                   label: label, into: &recorder)
    }

    /// The forward's bytes, exactly: pft moves each kept row once (rows·H·4) to the member that owns
    /// its expert; padded moves L·capacity rows to every member.
    private func checkBytes(_ forward: (dispatch: CommTraffic, combine: CommTraffic), stats_P: [[RoutingStats]], members: [Int],
                            me: Int, config c: ModelConfig, options: MoEOptions, label: String, into recorder: inout CheckRecorder) {
        let layout = groups.layout
        let l = c.numExperts / layout.ep, rowBytes = c.hidden * 4
        var sent_P = [Int](repeating: 0, count: members.count), received_P = sent_P
        for layer in 0..<stats_P[me].count {
            if kind == "pft" {
                for p in members.indices {
                    sent_P[p] += stats_P[me][layer].kept_E[(p * l)..<((p + 1) * l)].reduce(0, +)
                    received_P[p] += stats_P[p][layer].kept_E[(me * l)..<((me + 1) * l)].reduce(0, +)
                }
            } else {
                let capacity = options.capacity.capacity(tokens: 16, topK: c.topK, experts: c.numExperts)
                    ?? stats_P.map { $0[layer].kept_E.max() ?? 0 }.max()!
                for p in members.indices { sent_P[p] += l * capacity; received_P[p] += l * capacity }
            }
        }
        func expected(_ rows_P: [Int]) -> CommTraffic {
            var t = CommTraffic.zero
            for (p, rows) in rows_P.enumerated() {
                if p == me { t.localBytes += rows * rowBytes }
                else if layout.node(of: members[p]) == layout.node(of: groups.rank) { t.intraNodeBytes += rows * rowBytes }
                else { t.interNodeBytes += rows * rowBytes }
            }
            return t
        }
        func bytes(_ t: CommTraffic) -> [Int] { [t.intraNodeBytes, t.interNodeBytes, t.localBytes] }
        recorder.expectEqual("\(label): dispatch bytes [intra, inter, local]", bytes(forward.dispatch), bytes(expected(sent_P)))
        recorder.expectEqual("\(label): combine bytes [intra, inter, local]", bytes(forward.combine), bytes(expected(received_P)))
    }

    private func gradients(_ model: MoETransformer) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for slice in model.parameters.namedSlices {
            out[slice.name] = Array(model.backend.downloadFloats(slice.parameter.grad)[slice.elements])
        }
        return out
    }
}
