/// Indices of the k largest of `scores`, largest first; on equal scores the lower index wins
/// (a fixed rule, so routing never depends on sort stability or thread timing).
func topKIndices(_ scores: ArraySlice<Float>, _ k: Int) -> [Int] {
    precondition(k <= scores.count, "topK: k = \(k) > \(scores.count) candidates")
    let base = scores.startIndex
    var chosen: [Int] = []
    chosen.reserveCapacity(k)
    for _ in 0..<k {
        var best = -1
        for e in 0..<scores.count where !chosen.contains(e) {
            if best < 0 || scores[base + e] > scores[base + best] { best = e }
        }
        chosen.append(best)
    }
    return chosen
}
