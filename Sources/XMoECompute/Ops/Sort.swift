extension CPUBackend {
    /// Counting sort: O(n + keyCount), stable by construction, single-threaded (it is a scan).
    public func stableArgsort(keys: Tensor, keyCount: Int, order: Tensor, counts: Tensor) {
        expectCount(order, keys.count, "stableArgsort order"); expectCount(counts, keyCount, "stableArgsort counts")
        let (pk, po, pc) = (keys.ints, order.ints, counts.ints)
        for k in 0..<keyCount { pc[k] = 0 }
        for key in pk {
            precondition(key >= 0 && Int(key) < keyCount, "stableArgsort: key \(key) outside 0..<\(keyCount)")
            pc[Int(key)] += 1
        }
        var next = [Int](repeating: 0, count: keyCount)
        var running = 0
        for k in 0..<keyCount {
            next[k] = running
            running += Int(pc[k])
        }
        for i in 0..<pk.count {
            let k = Int(pk[i])
            po[next[k]] = Int32(i)
            next[k] += 1
        }
    }
}
