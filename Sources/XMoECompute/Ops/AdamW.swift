import Foundation

extension CPUBackend {
    public func adamwUpdate(
        param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Int,
        lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, computeCopy: Tensor?
    ) {
        precondition(step >= 1, "adamwUpdate: step \(step) must be 1-based")
        expectCount(grad, param.count, "adamw grad"); expectCount(m, param.count, "adamw m"); expectCount(v, param.count, "adamw v")
        let (pp, pg, pm, pv) = (param.floats, grad.floats, m.floats, v.floats)
        let correction1 = Float(1 - pow(Double(beta1), Double(step)))
        let correction2 = Float(1 - pow(Double(beta2), Double(step)))
        parallelFor(param.count, minPerChunk: 1 << 14) { r in
            for i in r {
                let g = pg[i]
                let mi = beta1 * pm[i] + (1 - beta1) * g
                let vi = beta2 * pv[i] + (1 - beta2) * g * g
                pm[i] = mi
                pv[i] = vi
                let update = (mi / correction1) / ((vi / correction2).squareRoot() + eps)
                pp[i] -= lr * (update + weightDecay * pp[i])
            }
        }
        if let computeCopy { convert(param, to: computeCopy) }
    }
}
