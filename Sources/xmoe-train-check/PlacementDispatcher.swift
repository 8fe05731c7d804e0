import XMoECompute
import XMoEModel

/// Gives a model the experts of one EP rank without running them: enough to load a checkpoint into
/// an EP layout and save it again (the layout round trip). Training with EP > 1 needs a real
/// all-to-all dispatcher (`pft`, `padded`).
final class PlacementDispatcher: TokenDispatcher {
    let localExperts: Range<Int>

    init(localExperts: Range<Int>) { self.localExperts = localExperts }

    func dispatch(_ x_BH: Tensor, counts_E: [Int]) -> (rows: Tensor, counts_L: [Int]) { unusable() }
    func combine(_ y: Tensor) -> Tensor { unusable() }
    func combineBackward(_ dY_BH: Tensor) -> Tensor { unusable() }
    func dispatchBackward(_ dRows: Tensor) -> Tensor { unusable() }

    private func unusable() -> Never {
        fatalError("PlacementDispatcher only places experts for checkpoint conversion; it cannot dispatch tokens")
    }
}
