/// A bounded map from a piece's UTF-8 bytes to its BPE ids: an open-addressing hash table over
/// two flat arenas, so neither a lookup nor an insert allocates a key or value object.
///
/// When `capacity` entries are stored the table is emptied and starts over: a hot vocabulary
/// refills it at once, and memory stays bounded on any input. Only pieces of at most
/// `maximumPieceLength` bytes are stored; longer ones are rare and cheap to recompute by comparison.
struct PieceCache {
    static let maximumPieceLength = 48

    let capacity: Int
    private var slots: [Slot]
    private var slotMask: Int
    private var keyBytes: [UInt8] = []
    private var values: [Int32] = []
    private(set) var count = 0

    private struct Slot {
        var hash: UInt32 = 0
        var keyLength: UInt16 = 0
        var valueLength: UInt16 = 0
        var keyOffset: Int32 = -1  // -1: empty
        var valueOffset: Int32 = 0
    }

    init(capacity: Int) {
        precondition(capacity > 0, "PieceCache capacity must be positive")
        self.capacity = capacity
        var tableSize = 16
        while tableSize < capacity * 2 { tableSize <<= 1 }
        slots = [Slot](repeating: Slot(), count: tableSize)
        slotMask = tableSize - 1
    }

    /// Appends the cached ids of `piece` to `output` and returns true, or returns false on a miss.
    @inline(__always)
    func appendIDs(of piece: UnsafeBufferPointer<UInt8>, hash: UInt32, to output: inout [Int32]) -> Bool {
        var index = Int(hash) & slotMask
        while true {
            let slot = slots[index]
            if slot.keyOffset < 0 { return false }
            if slot.hash == hash, Int(slot.keyLength) == piece.count, keyMatches(slot, piece) {
                values.withUnsafeBufferPointer { all in
                    let start = Int(slot.valueOffset)
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: all[start..<(start + Int(slot.valueLength))]))
                }
                return true
            }
            index = (index + 1) & slotMask
        }
    }

    mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, hash: UInt32, ids: ArraySlice<Int32>) {
        guard piece.count <= Self.maximumPieceLength, ids.count <= Int(UInt16.max) else { return }
        if count >= capacity { removeAll() }
        var index = Int(hash) & slotMask
        while slots[index].keyOffset >= 0 { index = (index + 1) & slotMask }
        slots[index] = Slot(hash: hash, keyLength: UInt16(piece.count), valueLength: UInt16(ids.count),
                            keyOffset: Int32(keyBytes.count), valueOffset: Int32(values.count))
        keyBytes.append(contentsOf: piece)
        values.append(contentsOf: ids)
        count += 1
    }

    mutating func removeAll() {
        for i in slots.indices { slots[i].keyOffset = -1 }
        keyBytes.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        count = 0
    }

    @inline(__always)
    private func keyMatches(_ slot: Slot, _ piece: UnsafeBufferPointer<UInt8>) -> Bool {
        keyBytes.withUnsafeBufferPointer { all in
            let start = Int(slot.keyOffset)
            for i in 0..<piece.count where all[start + i] != piece[i] { return false }
            return true
        }
    }

    /// FNV-1a over the bytes, then a multiply-shift mix so the low bits (the slot index) spread.
    @inline(__always)
    static func hash(_ piece: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in piece { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        return UInt32(truncatingIfNeeded: h >> 32)
    }
}
