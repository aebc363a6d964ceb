import Daemon
import Testing

/// A batch that does not come back from the pipeline (a read that never returns, on a hung
/// network share) turns the daemon unhealthy after `stuckAfterNanos`, saying so; before
/// then, and with no batch in hand, nothing is wrong.
@Suite struct StuckPipelineTests {
    @Test func aBatchInHandTooLongIsAProblemNamed() {
        let limit = Daemon.stuckAfterNanos
        #expect(Daemon.stuckProblem(nil, now: 10 * limit) == nil)
        #expect(Daemon.stuckProblem((at: 1_000, files: 3), now: 1_000 + limit) == nil)
        let problem = Daemon.stuckProblem((at: 1_000, files: 3), now: 1_000 + limit + 1_000_000_000)
        #expect(
            problem?.hasPrefix("one batch of 3 file(s) has been in the pipeline for 121 s") == true, "\(problem ?? "")")
    }
}
