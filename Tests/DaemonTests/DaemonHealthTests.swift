import Glibc
import Testing

@testable import Daemon

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

/// Whoever is told that another daemon keeps the books is told how to stop that one: by its
/// service when it runs as ledgerd's, else as a process started by hand.
@Suite struct HowToStopTests {
    @Test func theServiceIsNamedFromTheControlGroup() {
        #expect(DaemonLock.serviceUnit(inControlGroups: ["0::/system.slice/ledgerd.service\n"]) == "ledgerd.service")
        #expect(
            DaemonLock.serviceUnit(inControlGroups: [
                "9:cpu:/system.slice/ledgerd-books2.service\n", "1:name=systemd:/system.slice/ledgerd-books2.service\n",
            ]) == "ledgerd-books2.service")
        // A terminal's session, a user's service, another program's service: started by hand.
        for line in [
            "0::/user.slice/user-1000.slice/session-3.scope",
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice",
            "0::/system.slice/actions.runner.service", "0::/", "",
        ] {
            #expect(DaemonLock.serviceUnit(inControlGroups: [line]) == nil, "\(line)")
        }
        #expect(DaemonLock.howToStop(nil).contains("`systemctl stop ledgerd` for the service"))
        #expect(DaemonLock.howToStop(getpid()) == "Ctrl-C where it was started, or `kill \(getpid())`")
    }
}
