import Testing
import XMoECompute
@testable import XMoEModel

/// Flat parameter groups: sealing keeps every value, parameters become contiguous views, and the
/// weight-decay runs cover a range exactly once.
struct ParameterGroupTests {
    func store() -> (ParameterStore, before: [String: [Float]]) {
        let s = ParameterStore(backend: CPUBackend(), seed: 3)
        s.add("a.w", shape: [2, 3], initial: .normal(std: 0.5), weightDecay: true)
        s.add("a.b", shape: [3], initial: .constant(0.25), weightDecay: false)
        s.add("e.*.w", shape: [2, 2, 2], initial: .normal(std: 0.5), weightDecay: true, experts: 4..<6)
        s.add("c.w", shape: [4], initial: .normal(std: 0.5), weightDecay: true)
        s.add("c.v", shape: [1], initial: .normal(std: 0.5), weightDecay: true)
        let before = Dictionary(uniqueKeysWithValues: s.parameters.map { ($0.name, s.backend.downloadFloats($0.value)) })
        return (s, before)
    }

    @Test func sealingKeepsValuesAndMakesViews() {
        let (s, before) = store()
        s.seal()
        let dense = s.group(.dense), experts = s.group(.experts)
        #expect(dense.parameters.map(\.name) == ["a.w", "a.b", "c.w", "c.v"])
        #expect(dense.offsets == [0, 6, 9, 13] && dense.count == 14)
        #expect(experts.parameters.map(\.name) == ["e.*.w"] && experts.count == 8)
        for p in s.parameters {
            let now = s.backend.downloadFloats(p.value).map(\.bitPattern)
            #expect(now == before[p.name]!.map(\.bitPattern), "\(p.name)")
            #expect(p.value.storage === (p.experts == nil ? dense : experts).value.storage)
            #expect(p.grad.storage === (p.experts == nil ? dense : experts).grad.storage)
        }
        // A write through the flat buffer is the parameter's.
        dense.value.floats[9] = 42
        #expect(s["c.w"]!.value.floats[0] == 42)
        s.backend.fill(dense.grad, value: 1)
        s.zeroGrads()
        #expect(s.backend.downloadFloats(dense.grad).allSatisfy { $0 == 0 })
    }

    @Test func decayRunsCoverARangeOnceWithTheRightFlags() {
        let (s, _) = store()
        let dense = s.group(.dense)
        let all = dense.decayRuns(in: 0..<14)
        #expect(all.map(\.elements) == [0..<6, 6..<9, 9..<14])
        #expect(all.map(\.decay) == [true, false, true])
        // A ZeRO shard cutting through parameters.
        let shard = dense.decayRuns(in: 4..<11)
        #expect(shard.map(\.elements) == [4..<6, 6..<9, 9..<11])
        #expect(shard.map(\.decay) == [true, false, true])
        #expect(dense.decayRuns(in: 7..<7).isEmpty)
    }
}
