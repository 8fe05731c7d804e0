/// The validated DAG: every upstream name exists, no name repeats, no cycles. `ordered` is a
/// topological order that keeps declaration order wherever the edges allow, so plans read as written.
struct StepGraph: Sendable {
    let ordered: [Step]

    init(steps: [Step]) throws {
        var byName: [String: Step] = [:]
        for step in steps {
            guard byName[step.name] == nil else { throw PipelineError.duplicateStep(step.name) }
            byName[step.name] = step
        }
        let names = steps.map(\.name)
        for step in steps {
            for upstream in step.upstream where byName[upstream] == nil {
                throw PipelineError.unknownUpstream(step: step.name, upstream: upstream, known: names)
            }
        }

        var placed: Set<String> = []
        var ordered: [Step] = []
        var remaining = steps
        while !remaining.isEmpty {
            guard let ready = remaining.firstIndex(where: { $0.upstream.allSatisfy(placed.contains) }) else {
                throw PipelineError.cycle(Self.findCycle(among: remaining, byName: byName))
            }
            let step = remaining.remove(at: ready)
            placed.insert(step.name)
            ordered.append(step)
        }
        self.ordered = ordered
    }

    /// Every unplaced step has an unplaced upstream, so walking upstream links must revisit a step.
    /// Returned in data-flow order (upstream first), closing on the first name: a → b → c → a.
    private static func findCycle(among remaining: [Step], byName: [String: Step]) -> [String] {
        let unplaced = Set(remaining.map(\.name))
        var walk: [String] = []
        var current = remaining[0].name
        while !walk.contains(current) {
            walk.append(current)
            guard let next = byName[current]!.upstream.first(where: unplaced.contains) else {
                fatalError("cycle search reached step '\(current)' with no unplaced upstream")
            }
            current = next
        }
        let cycle = walk[walk.firstIndex(of: current)!...] + [current]
        return Array(cycle.reversed())
    }
}
