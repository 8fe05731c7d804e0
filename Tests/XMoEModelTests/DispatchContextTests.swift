import Testing
import XMoECompute
@testable import XMoEModel

/// A dispatcher whose row order depends on counts_E (as every real one does) is shared by all MoE
/// layers; each layer's backward must use its own dispatch's context. Reference: the same model
/// with the LocalDispatcher (identity), which has no order to get wrong.
@Suite struct DispatchContextTests {
    /// World size 1, but real: reverses the rows inside each expert's segment, so a layer whose
    /// backward used another layer's counts would send gradients to the wrong rows.
    final class ReversingDispatcher: TokenDispatcher {
        let localExperts: Range<Int>
        let meter = DispatchMeter()
        /// The broken pattern this test guards against: order kept in the dispatcher, not the context.
        let keepsStateInDispatcher: Bool
        private var lastOrder: Tensor?

        final class Context: DispatchContext {
            let rows: Tensor
            let counts_L: [Int]
            /// Row b of `rows` is row order_B[b] of x_BH; reversal is its own inverse.
            let order_B: Tensor
            init(rows: Tensor, counts_L: [Int], order_B: Tensor) { (self.rows, self.counts_L, self.order_B) = (rows, counts_L, order_B) }
        }

        init(experts: Int, keepsStateInDispatcher: Bool = false) {
            localExperts = 0..<experts
            self.keepsStateInDispatcher = keepsStateInDispatcher
        }

        func dispatch(_ x_BH: Tensor, plan: PermutePlan) -> any DispatchContext {
            var order: [Int32] = [], start = 0
            for count in plan.counts_E {
                order += (start..<(start + count)).reversed().map { Int32($0) }
                start += count
            }
            let backend = CPUBackend()
            let order_B = backend.makeTensor([order.count], dtype: .int32)
            backend.upload(order, to: order_B)
            lastOrder = order_B
            return Context(rows: permuted(x_BH, order_B), counts_L: plan.counts_E, order_B: order_B)
        }

        private func order(_ context: any DispatchContext) -> Tensor {
            keepsStateInDispatcher ? lastOrder! : own(context, as: Context.self).order_B
        }

        private func permuted(_ x: Tensor, _ order_B: Tensor) -> Tensor {
            let backend = CPUBackend()
            let out = backend.makeTensor(x.shape)
            if order_B.count > 0 { backend.gatherRows(x, index: order_B, into: out) }
            return out
        }

        func combine(_ y: Tensor, context: any DispatchContext) -> Tensor { permuted(y, own(context, as: Context.self).order_B) }
        func combineBackward(_ dY_BH: Tensor, context: any DispatchContext) -> Tensor { permuted(dY_BH, order(context)) }
        func dispatchBackward(_ dRows: Tensor, context: any DispatchContext) -> Tensor { permuted(dRows, order(context)) }
    }

    func gradients(_ dispatcher: TokenDispatcher?, layers: Int, capacity: CapacityRule) throws -> [String: [Float]] {
        var c = TinyModels.config(.xmoePaper)
        c.layers = layers
        let model = MoETransformer(config: c, options: TinyModels.options(.softmaxTopK, capacity: capacity),
                                   backend: CPUBackend(), dispatcher: dispatcher)
        let (tokens, targets) = TinyModels.batch(vocab: 37)
        model.zeroGrads()
        _ = try model.forward(tokens: tokens, targets: targets)
        try model.backward()
        var out: [String: [Float]] = [:]
        for p in model.parameters.parameters { out[p.name] = model.backend.downloadFloats(p.grad) }
        return out
    }

    /// Largest |a − b| over every gradient element, relative to the largest |b| of that parameter.
    func worstRelativeError(_ a: [String: [Float]], _ b: [String: [Float]]) -> (String, Float) {
        var worst = ("", Float(0))
        for (name, ref) in b {
            let scale = max(ref.map(abs).max() ?? 0, 1e-12)
            let err = zip(a[name]!, ref).map { abs($0 - $1) }.max() ?? 0
            if err / scale > worst.1 { worst = (name, err / scale) }
        }
        return worst
    }

    @Test(arguments: [CapacityRule.dropless, CapacityRule(capacityFactor: 0.75, minCapacity: 2)])
    func everyGradientMatchesTheLocalDispatcher(capacity: CapacityRule) throws {
        let reference = try gradients(nil, layers: 3, capacity: capacity)
        let reversed = try gradients(ReversingDispatcher(experts: 4), layers: 3, capacity: capacity)
        #expect(Set(reference.keys) == Set(reversed.keys))
        // Only the summation order of expert weight gradients changes: fp32 rounding, ~1e-7 relative.
        let (name, error) = worstRelativeError(reversed, reference)
        #expect(error < 1e-5, "\(name): relative error \(error)")
    }

    /// The control: with the order kept in the dispatcher (the last layer's), lower layers' expert
    /// gradients are wrong by about their own size — so the test above can fail.
    @Test func stateKeptInTheDispatcherGivesWrongGradients() throws {
        let reference = try gradients(nil, layers: 3, capacity: .dropless)
        let broken = try gradients(ReversingDispatcher(experts: 4, keepsStateInDispatcher: true), layers: 3, capacity: .dropless)
        let (_, error) = worstRelativeError(broken, reference)
        #expect(error > 0.1, "relative error only \(error)")
    }
}
