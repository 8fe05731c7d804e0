import XMoEModel
import XMoEStore

/// How parameters lie in a checkpoint, independent of the layout that wrote it (format 2).
///
/// A parameter is named globally: dense ones by their name, routed experts by their stacked name
/// without the id (`layers.01.moe.experts.w_in`), standing for the tensor of ALL experts stacked in
/// global-id order. A rank file holds pieces of these global tensors: `/params/<name>`,
/// `/adam_m/<name>`, `/adam_v/<name>`, with attributes `elements` = [first, end) — the element range
/// of the flattened global tensor the piece covers — and, for experts, `experts` = the global ids
/// it touches. A whole tensor (or whole experts) keeps its shape ([L_local, …] for experts); a
/// ZeRO-1 shard that cuts through a tensor is stored 1-D.
enum CheckpointPieces {
    static let kinds = ["params", "adam_m", "adam_v"]

    /// The global name of `p` (`*` and its dot removed for stacked experts).
    static func globalName(_ p: Parameter) -> String {
        p.experts == nil ? p.name : p.name.split(separator: ".").filter { $0 != "*" }.joined(separator: ".")
    }

    /// Elements per expert of a stacked parameter (the whole tensor for a dense one).
    static func perExpert(_ p: Parameter) -> Int {
        p.value.count / max(p.experts?.count ?? 1, 1)
    }

    /// Where `p`'s local tensor starts in its global tensor.
    static func globalStart(_ p: Parameter) -> Int {
        (p.experts?.lowerBound ?? 0) * perExpert(p)
    }

    /// Names an element of a global tensor for error messages: the expert it belongs to, if any.
    static func describe(_ element: Int, of p: Parameter) -> String {
        guard p.experts != nil else { return "\(globalName(p)) (element \(element))" }
        return "expert \(element / perExpert(p)) of \(globalName(p))"
    }
}

/// One stored piece: which rank file, which dataset, which global elements.
struct StoredPiece {
    let file: Int
    let path: String
    let elements: Range<Int>
}
