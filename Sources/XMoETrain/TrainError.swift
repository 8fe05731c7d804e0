/// Errors of a training run that the user (their spec, data or files) can cause.
public enum TrainError: Error, CustomStringConvertible, Equatable {
    /// The loss or a gradient was NaN/Inf and the policy is `stop`.
    case nonFinite(step: Int, what: String)
    case settings(String)
    case checkpoint(String)
    case data(String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let what):
            return "step \(step): \(what) is not finite (NaN or Inf); training stopped (policy `stop`). "
                + "Lower the learning rate, enable gradient clipping, or set the policy to `skip`."
        case .settings(let m), .checkpoint(let m), .data(let m):
            return m
        }
    }
}
