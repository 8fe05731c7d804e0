import Dispatch
import XMoECompute

/// Dropout probabilities, as Megatron's `--hidden-dropout` and `--attention-dropout`.
public struct DropoutRates: Sendable, Equatable {
    /// On the embedding output and on the attention and FFN/MoE outputs before each residual add.
    public var hidden: Double
    /// On the attention probabilities.
    public var attention: Double

    public init(hidden: Double = 0, attention: Double = 0) {
        precondition((0...1).contains(hidden) && (0...1).contains(attention), "dropout rates must lie in [0, 1]")
        self.hidden = hidden
        self.attention = attention
    }

    public static let none = DropoutRates()
}

/// Which forward the masks belong to. Masks are a pure function of (seed, site, step, micro-step,
/// element), never of a generator's history, so a resumed run draws exactly the masks the
/// uninterrupted run drew, and two forwards with the same stream drop the same elements.
public struct DropoutStream: Sendable, Equatable {
    public var step: Int
    public var microStep: Int

    public init(step: Int, microStep: Int) {
        self.step = step
        self.microStep = microStep
    }
}

/// The model's dropout settings, shared by every site: the rates, and the stream of the forward
/// being run (nil: no dropout, as in evaluation).
final class DropoutControl {
    let backend: Backend
    let seed: UInt64
    var rates = DropoutRates.none
    var stream: DropoutStream?

    init(backend: Backend, seed: UInt64) {
        self.backend = backend
        self.seed = seed
    }

    /// The mask for `count` elements at `site` with drop probability `p` (0 or 1/(1−p) per element),
    /// or nil when this forward drops nothing there.
    func mask(site: String, count: Int, p: Double) -> Tensor? {
        guard let stream, p > 0 else { return nil }
        let rng = CounterRNG(seed: seed, purpose: "dropout/\(site)/step \(stream.step)/micro \(stream.microStep)")
        let keep = p < 1 ? Float(1 / (1 - p)) : 0
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            let chunks = max(1, min(8, count >> 16))
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for i in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) {
                    out[i] = rng.uniform(UInt64(i)) < p ? 0 : keep
                }
            }
        }
        let tensor = backend.makeTensor([count])
        backend.upload(values, to: tensor)
        return tensor
    }
}

/// One place where hidden states are dropped: keeps the forward's mask for the backward.
final class DropoutSite {
    let control: DropoutControl
    let name: String
    private var mask: Tensor?

    init(_ control: DropoutControl, _ name: String) {
        self.control = control
        self.name = name
    }

    /// x ⊙ mask in a new tensor, or x itself when nothing is dropped.
    func forward(_ x: Tensor, p: Double) -> Tensor {
        mask = control.mask(site: name, count: x.count, p: p)
        guard let mask else { return x }
        let out = control.backend.makeOutput(x.shape)
        control.backend.dropoutForward(x, mask: mask, out: out)
        return out
    }

    /// The gradient w.r.t. the forward's input: dOut ⊙ mask, or dOut itself when nothing was dropped.
    func backward(_ dOut: Tensor) -> Tensor {
        guard let mask else { return dOut }
        let dX = control.backend.makeTensor(dOut.shape)
        control.backend.dropoutBackward(dOut: dOut, mask: mask, dX: dX)
        return dX
    }

    /// The mask of the last forward (nil when nothing was dropped).
    var lastMask: Tensor? { mask }
}
