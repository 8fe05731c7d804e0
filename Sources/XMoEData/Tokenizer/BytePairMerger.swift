/// GPT-2's BPE on one pre-tokenization piece, on token ids rather than strings.
///
/// The reference algorithm: repeatedly take the adjacent pair with the lowest merge rank and
/// replace every non-overlapping occurrence of it, scanning left to right; stop when no pair has a
/// rank. A rank names exactly one pair, so "the pair of rank r" and "an adjacent pair whose rank is
/// r" are the same test. Short pieces (almost all) run that literally on a small array; long ones
/// use a heap of (rank, position) so that a 100 kB run of one class stays O(n log n).
struct BytePairMerger {
    let vocabulary: GPT2Vocabulary
    /// Pieces longer than this many bytes use the heap (tests lower it to check both paths agree).
    var heapThreshold = 96

    /// Appends the ids of `piece` (UTF-8 bytes) to `output`.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if piece.count == 1 {
            output.append(vocabulary.tokenForByte[Int(piece[0])])
        } else if piece.count <= heapThreshold {
            encodeShort(piece, into: &output)
        } else {
            encodeLong(piece, into: &output)
        }
    }

    private func encodeShort(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: piece.count) { symbols in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: piece.count) { pairRanks in
                for (i, byte) in piece.enumerated() { symbols[i] = vocabulary.tokenForByte[Int(byte)] }
                var count = piece.count
                // pairRanks[i]: (rank << 32 | merged id) of (symbols[i], symbols[i + 1]), or .max.
                for i in 0..<(count - 1) { pairRanks[i] = vocabulary.merge(symbols[i], symbols[i + 1]) ?? .max }
                while count > 1 {
                    var best = UInt64.max
                    for i in 0..<(count - 1) where pairRanks[i] < best { best = pairRanks[i] }
                    if best == .max { break }
                    let merged = Int32(truncatingIfNeeded: best)
                    var read = 0, write = 0
                    while read < count {
                        if read < count - 1, pairRanks[read] == best {
                            symbols[write] = merged
                            read += 2
                        } else {
                            symbols[write] = symbols[read]
                            read += 1
                        }
                        write += 1
                    }
                    count = write
                    for i in 0..<max(count - 1, 0) {
                        pairRanks[i] = vocabulary.merge(symbols[i], symbols[i + 1]) ?? .max
                    }
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: symbols[0..<count]))
            }
        }
    }

    /// Same result as `encodeShort`: all entries of the lowest rank are taken off the heap first
    /// and applied left to right, and only then are the pairs they created pushed, so a newly
    /// formed pair of lower rank cannot jump ahead of the current pass.
    private func encodeLong(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let n = piece.count
        var symbols = piece.map { vocabulary.tokenForByte[Int($0)] }
        var next = Array(1...n)      // n = end of list
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let entry = vocabulary.merge(symbols[i], symbols[i + 1]) { heap.push(rank: entry >> 32, position: i) }
        }
        var batch: [Int] = []
        var touched: [Int] = []
        while let (rank, first) = heap.pop() {
            batch.removeAll(keepingCapacity: true)
            batch.append(first)
            while let top = heap.peekRank(), top == rank { batch.append(heap.pop()!.position) }
            let left = vocabulary.mergeLeftOfRank[Int(rank)], right = vocabulary.mergeRightOfRank[Int(rank)]
            touched.removeAll(keepingCapacity: true)
            for position in batch {
                let after = next[position]
                guard alive[position], after < n, symbols[position] == left, symbols[after] == right,
                      let entry = vocabulary.merge(left, right), entry >> 32 == rank
                else { continue }
                symbols[position] = Int32(truncatingIfNeeded: entry)
                alive[after] = false
                next[position] = next[after]
                if next[after] < n { previous[next[after]] = position }
                touched.append(position)
                if previous[position] >= 0 { touched.append(previous[position]) }
            }
            for position in touched where alive[position] && next[position] < n {
                if let entry = vocabulary.merge(symbols[position], symbols[next[position]]) {
                    heap.push(rank: entry >> 32, position: position)
                }
            }
        }
        var position = 0
        while position < n {
            output.append(symbols[position])
            position = next[position]
        }
    }
}

/// A binary min-heap of (rank, position), ordered by rank then position.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(rank: UInt64, position: Int) {
        items.append(rank << 32 | UInt64(position))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    func peekRank() -> UInt64? {
        items.first.map { $0 >> 32 }
    }

    mutating func pop() -> (rank: UInt64, position: Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (top >> 32, Int(top & 0xFFFF_FFFF))
    }
}
