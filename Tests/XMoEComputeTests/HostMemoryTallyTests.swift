import Testing
import XMoECompute

/// The CPU backend's tally of live tensor bytes: storage counted while a tensor holds it, views
/// counting nothing more, the peak kept until reset, and one backend's tally blind to another's.
@Suite struct HostMemoryTallyTests {
    @Test func countsLiveStorageAndKeepsThePeak() {
        let backend = CPUBackend(threads: 1, computeDType: .bfloat16)
        let other = CPUBackend(threads: 1)
        #expect(backend.memoryTally.liveBytes == 0)
        var a: Tensor? = backend.makeTensor([10, 3])  // 120 bytes
        let b = backend.makeTensor([7], dtype: .bfloat16)  // 14 bytes
        let view = a!.view(offset: 3, shape: [2, 3])  // shares a's storage: nothing more
        _ = other.makeTensor([1000])
        let live = backend.memoryTally.liveBytes
        #expect(live == 134)
        a = nil
        // The view still holds the storage.
        let stillLive = backend.memoryTally.liveBytes
        #expect(stillLive == 134)
        _ = view.count
        let peak = backend.memoryTally.peakBytes
        #expect(peak == 134)
        _ = b.count
    }

    @Test func peakSurvivesFreesUntilReset() {
        let backend = CPUBackend(threads: 1)
        do {
            let big = backend.makeTensor([256])  // 1024 bytes, freed at the end of this scope
            _ = big.count
        }
        let small = backend.makeTensor([4])
        let live = backend.memoryTally.liveBytes, peak = backend.memoryTally.peakBytes
        #expect(live == 16)
        #expect(peak == 1024)  // `big`, freed when its scope ended, before `small` was made
        backend.memoryTally.resetPeak()
        let reset = backend.memoryTally.peakBytes
        #expect(reset == 16)
        _ = small.count
    }
}
