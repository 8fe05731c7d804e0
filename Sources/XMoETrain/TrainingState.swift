/// Everything besides parameters and moments that a resumed run needs to continue bit for bit.
/// The model's randomness is counter-based (seed, purpose, index), so the seed is the RNG state.
public struct TrainingState: Sendable, Equatable {
    /// Training steps completed (skipped ones included).
    public var step: Int
    /// Samples consumed from the training `BatchSource`: the next micro-batch starts here.
    public var consumedSamples: Int

    public init(step: Int = 0, consumedSamples: Int = 0) {
        self.step = step
        self.consumedSamples = consumedSamples
    }
}
