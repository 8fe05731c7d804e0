/// The optimizer's whole-buffer reductions (gradient norm, the NaN guard). The host versions here
/// are the CPU backend's: a backend that keeps tensors on a device overrides them so that a step
/// reads back one scalar per buffer instead of the buffer.
extension Backend {
    /// Sequential Double sum of the squares, element 0 first: the order the optimizer's gradient
    /// norm has always used, so CPU runs (one rank or many) stay bit-identical.
    public func sumOfSquares(_ x: Tensor) -> Double {
        var sum: Double = 0
        for value in downloadFloats(x) {
            let d = Double(value)
            sum += d * d
        }
        return sum
    }

    /// x·0 is 0 for every finite x and NaN otherwise, so one vectorisable pass sums the probes.
    public func allFinite(_ x: Tensor) -> Bool {
        var probe: Float = 0
        for value in downloadFloats(x) { probe += value * 0 }
        return probe == 0
    }
}
