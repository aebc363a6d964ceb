#if canImport(Glibc)
    import Glibc
#endif

/// Runs work on several threads at once and waits for all of them.
///
/// Why not `DispatchQueue.concurrentPerform`: the pipeline calls it from a thread that
/// Dispatch already counts as busy while another of its threads writes to the database, and
/// Dispatch then runs the iterations on one thread, one after another (measured: one thread
/// did all the parsing of a 10,000-file run on two cores). Plain threads get both
/// processors; the kernel shares them with the writer.
enum WorkerThreads {
    private final class Job: Sendable {
        let index: Int
        let body: @Sendable (Int) -> Void
        init(index: Int, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }

    /// Calls `body(0)` on the calling thread and `body(1)` … `body(count − 1)` on new
    /// threads, and returns when every call has. A thread that cannot be started runs its
    /// call on the calling thread instead.
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        var unstarted: [Int] = []
        for index in 1..<max(1, count) {
            let job = Unmanaged.passRetained(Job(index: index, body: body)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(
                &thread, nil,
                { raw in
                    guard let raw else { return nil }
                    let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
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
        body(0)
        for index in unstarted { body(index) }
        for thread in threads { pthread_join(thread, nil) }
    }
}
