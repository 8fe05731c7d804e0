import Foundation

/// Hands numbered jobs to worker threads and gives their results back in job order.
final class OrderedWorkQueue<Job: Sendable, Output: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    // All below guarded by `condition`.
    private var jobs: [(Int, Job)] = []
    private var jobsHead = 0
    private var outputs: [Int: Output] = [:]
    private var closed = false
    private var cancelled = false
    private var runningWorkers = 0

    /// Starts `workers` threads, each with its own `State` from `makeState`, running `work`.
    init<State>(workers: Int, makeState: @escaping @Sendable () -> State,
                work: @escaping @Sendable (Job, inout State) -> Output) {
        runningWorkers = workers
        for _ in 0 ..< workers {
            let thread = Thread { [self] in
                var state = makeState()
                while let (index, job) = take() {
                    let output = work(job, &state)
                    condition.lock()
                    outputs[index] = output
                    condition.broadcast()
                    condition.unlock()
                }
                condition.lock()
                runningWorkers -= 1
                condition.broadcast()
                condition.unlock()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    func submit(_ index: Int, _ job: Job) {
        condition.lock()
        jobs.append((index, job))
        condition.broadcast()
        condition.unlock()
    }

    /// The output of job `index`, waiting for it.
    func output(_ index: Int) -> Output {
        condition.lock()
        defer { condition.unlock() }
        while outputs[index] == nil { condition.wait() }
        return outputs.removeValue(forKey: index)!
    }

    /// No more jobs: workers exit once the queue is empty.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Drops the jobs not started and waits until every worker has exited.
    func cancelAndWait() {
        condition.lock()
        cancelled = true
        closed = true
        condition.broadcast()
        while runningWorkers > 0 { condition.wait() }
        condition.unlock()
    }

    private func take() -> (Int, Job)? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if cancelled { return nil }
            if jobsHead < jobs.count {
                let job = jobs[jobsHead]
                jobsHead += 1
                if jobsHead > 1024 { jobs.removeFirst(jobsHead); jobsHead = 0 }
                return job
            }
            if closed { return nil }
            condition.wait()
        }
    }
}
