#if canImport(Glibc)
    import Glibc
#endif

/// Runs work on several threads at once and waits for all of them.
///
/// Why not `DispatchQueue.concurrentPerform`: the pipeline calls it from a thread that
/// Dispatch already counts as busy while another of its threads writes to the database, and
/// Dispatch then runs the iterations on one thread, one after another (measured: one thread
/// did all the parsing of a 10,000-file run on two cores). Plain threads get both
/// processors.
///
/// The threads run at a lower priority (`niceness` above the caller's): the single thread
/// that writes to the database is the pipeline's bottleneck, and when the kernel shared the
/// processors evenly the workers kept preempting it. Lowered, they use what the writer
/// leaves: on two cores, 10,000 invoices went from a median of 7,220 to 9,030 files a second
/// and used less processor time in all (alternating runs of one binary). Lowering a thread's
/// priority needs no privilege, and only these threads, made for the batch, are lowered.
enum WorkerThreads {
    private final class Job: Sendable {
        let index: Int
        let niceness: Int32
        let body: @Sendable (Int) -> Void
        init(index: Int, niceness: Int32, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.niceness = niceness
            self.body = body
        }
    }

    /// Calls `body(0)` … `body(count − 1)` on new threads, `niceness` steps below the
    /// caller's priority, and returns when every call has. A call whose thread cannot be
    /// started runs on the calling thread instead, at its priority.
    static func run(_ count: Int, niceness: Int32 = 10, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        var unstarted: [Int] = []
        for index in 0..<max(1, count) {
            let job = Unmanaged.passRetained(Job(index: index, niceness: niceness, body: body)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(
                &thread, nil,
                { raw in
                    guard let raw else { return nil }
                    let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
                    // On Linux a priority belongs to the thread; failing to lower it is harmless.
                    if job.niceness > 0 { _ = nice(job.niceness) }
                    job.body(job.index)
                    return nil
                }, job)
            if status == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Job>.fromOpaque(job).release()
                unstarted.append(index)
            }
        }
        for index in unstarted { body(index) }
        for thread in threads { pthread_join(thread, nil) }
    }
}
