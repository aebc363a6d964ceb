import Foundation
import TestSupport
import Testing

/// The systemd service (systemd/ledgerd.service, systemd/ledgerd.toml) and the scripts that
/// install and remove it. These check the files, never install anything.
@Suite struct SystemdUnitTests {
    static let unitPath = packageRoot + "/systemd/ledgerd.service"
    static let configPath = packageRoot + "/systemd/ledgerd.toml"
    static let installedExecutable = "/usr/local/bin/ledgerd"

    @Test func unitPassesSystemdAnalyzeVerify() throws {
        let unit = try TestUnit()
        let run = try runProgram(try systemdAnalyze(), ["verify", unit.path])
        #expect(run.status == 0, "systemd-analyze verify failed:\n\(run.stdout)\(run.stderr)")
        #expect(
            run.stdout.isEmpty && run.stderr.isEmpty, "systemd-analyze verify is not clean:\n\(run.stdout)\(run.stderr)"
        )
    }

    @Test func exposureLevelIsAtMostTwo() throws {
        let unit = try TestUnit()
        let run = try runProgram(try systemdAnalyze(), ["security", "--offline=true", "--no-pager", unit.path])
        #expect(run.status == 0, "systemd-analyze security failed:\n\(run.stdout)\(run.stderr)")
        let match = try #require(
            run.stdout.firstMatch(of: /Overall exposure level for ledgerd\.service: (\d+(?:\.\d+)?)/),
            "no \"Overall exposure level\" in:\n\(run.stdout)\(run.stderr)")
        let exposure = try #require(Double(match.1))
        #expect(exposure <= 2.0, "exposure \(exposure) > 2.0:\n\(run.stdout)")
    }

    /// The directives the service depends on (notify protocol, watchdog, paths, credential)
    /// and the hardening that keeps the score: a removed line should fail here, by name.
    @Test func unitHasTheDirectivesLedgerdNeeds() throws {
        let unit = try UnitFile(path: Self.unitPath)
        let expected: [(String, String)] = [
            ("Type", "notify"), ("NotifyAccess", "main"), ("WatchdogSec", "30s"), ("Restart", "on-failure"),
            ("RestartSec", "10s"), ("RestartPreventExitStatus", "2"), ("TimeoutStopSec", "60s"),
            ("StartLimitIntervalSec", "0"),
            ("ExecStart", Self.installedExecutable + " run --config /etc/ledgerd/ledgerd.toml"),
            ("User", "ledgerd"), ("Group", "ledgerd"), ("UMask", "0007"),
            ("StateDirectory", "ledgerd"), ("StateDirectoryMode", "0700"), ("ConfigurationDirectory", "ledgerd"),
            ("ReadWritePaths", "/srv/ledgerd/Inbox"), ("LoadCredential", "api-token:/etc/ledgerd/api-token"),
            ("Environment", "OMP_THREAD_LIMIT=1"),
            ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
            ("PrivateUsers", "yes"), ("NoNewPrivileges", "yes"), ("CapabilityBoundingSet", ""),
            ("AmbientCapabilities", ""), ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
            ("IPAddressDeny", "any"), ("IPAddressAllow", "localhost"), ("SystemCallArchitectures", "native"),
            ("SystemCallFilter", "@system-service"), ("SystemCallFilter", "~@privileged @resources"),
            ("LimitNOFILE", "65536"),
            // libdispatch calls setpriority() (in @resources) per worker thread; SIGSYS would kill ledgerd.
            ("SystemCallErrorNumber", "EPERM"),
            ("MemoryDenyWriteExecute", "yes"), ("ProtectProc", "invisible"), ("ProcSubset", "pid"),
            ("DevicePolicy", "closed"),
        ]
        for (key, value) in expected {
            #expect(
                unit.values(key).contains(value), "ledgerd.service: expected \(key)=\(value), found \(unit.values(key))"
            )
        }
        #expect(unit.values("DynamicUser").isEmpty, "the inbox needs a static user and group")
        #expect(unit.values("ExecReload").isEmpty, "the configuration is read at start; SIGHUP only rescans")
    }

    /// systemd/ledgerd.toml is valid and names the paths the unit lets the service use.
    @Test func productionConfigurationIsValidAndMatchesTheUnit() throws {
        let unit = try UnitFile(path: Self.unitPath)
        let scratch = try Scratch()
        let check = try ledgerd(["config", "check", "--config", Self.configPath, "--json"], in: scratch.path)
        #expect(check.status == 0, "ledgerd config check failed:\n\(check.stdout)\(check.stderr)")
        let result = try json(check.stdout)
        let inbox = try #require(unit.values("ReadWritePaths").first)
        let state = "/var/lib/" + (try #require(unit.values("StateDirectory").first))
        #expect(result["inbox"] as? String == inbox)
        #expect(result["rejected"] as? String == inbox + "/rejected")
        #expect(result["database"] as? String == state + "/ledger.sqlite")
        #expect(result["archive"] as? String == state + "/archive")
        #expect(result["listen"] as? String == "127.0.0.1:8080")
        #expect(unit.values("RequiresMountsFor") == [inbox])

        // ExecStart reads the file install.sh puts into the ConfigurationDirectory.
        let configDirectory = "/etc/" + (try #require(unit.values("ConfigurationDirectory").first))
        #expect(unit.values("ExecStart").first?.hasSuffix("--config \(configDirectory)/ledgerd.toml") == true)

        // The token comes from the credential: $CREDENTIALS_DIRECTORY/<name> of ledgerd.service.
        let credential = try #require(unit.values("LoadCredential").first?.split(separator: ":").first)
        let text = try String(contentsOfFile: Self.configPath, encoding: .utf8)
        #expect(text.contains("\ntoken_file = \"/run/credentials/ledgerd.service/\(credential)\"\n"))
        #expect(!text.contains("\ntoken = "), "the token belongs in the credential, not in the file")
    }

    /// Every key `ledgerd config example` documents is documented in systemd/ledgerd.toml too,
    /// so a new key cannot be forgotten there.
    @Test func productionConfigurationDocumentsEveryExampleKey() throws {
        let scratch = try Scratch()
        let example = try ledgerd(["config", "example"], in: scratch.path)
        #expect(example.status == 0, "ledgerd config example failed:\n\(example.stderr)")
        let production = try String(contentsOfFile: Self.configPath, encoding: .utf8)
        let missing = tomlKeys(example.stdout).subtracting(tomlKeys(production))
        #expect(!tomlKeys(example.stdout).isEmpty)
        #expect(missing.isEmpty, "systemd/ledgerd.toml lacks \(missing.sorted()) from `ledgerd config example`")
    }

    @Test(arguments: ["install.sh", "uninstall.sh"])
    func scriptParsesAndPrintsUsage(_ script: String) throws {
        let path = packageRoot + "/scripts/" + script
        let syntax = try runProgram("/bin/bash", ["-n", path])
        #expect(syntax.status == 0, "bash -n \(script):\n\(syntax.stderr)")
        let help = try runProgram("/bin/bash", [path, "--help"])
        #expect(help.status == 0, "\(script) --help:\n\(help.stderr)")
        #expect(help.stdout.hasPrefix("Usage: scripts/\(script)"), "\(script) --help printed:\n\(help.stdout)")
        #expect(help.stderr.isEmpty, "\(script) --help wrote to stderr:\n\(help.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: path), "\(script) is not executable")
    }

    /// Paths the sandbox hides, or that cannot go into the unit, are refused before anything
    /// is installed (the checks come before the switch to root and before any change).
    @Test(arguments: ["relative/Inbox", "/home/someone/Inbox", "/tmp/Inbox", "/srv/my Inbox", "/etc/ledgerd"])
    func installRefusesAnInboxTheServiceCannotUse(_ inbox: String) throws {
        // Only realpath on PATH: should the checks ever be skipped, the script fails at its
        // next command instead of installing anything on the machine running the tests.
        let tools = try Scratch()
        let realpath = try #require(
            ["/usr/bin/realpath", "/bin/realpath"].first { FileManager.default.isExecutableFile(atPath: $0) })
        try FileManager.default.createSymbolicLink(atPath: tools.path + "/realpath", withDestinationPath: realpath)
        let run = try runProgram(
            "/bin/bash", [packageRoot + "/scripts/install.sh", "--inbox", inbox, "--no-start"], path: tools.path)
        #expect(run.status == 2, "install.sh --inbox \(inbox): status \(run.status)\n\(run.stdout)\(run.stderr)")
        #expect(run.stdout.isEmpty, "install.sh did something:\n\(run.stdout)")
        #expect(run.stderr.contains("--inbox"))
    }
}

/// `systemd-analyze`, which the suite needs (Debian package `systemd`).
private func systemdAnalyze() throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let candidates =
        path.split(separator: ":").map { $0 + "/systemd-analyze" } + [
            "/usr/bin/systemd-analyze", "/bin/systemd-analyze",
        ]
    return try #require(
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
        "systemd-analyze is not installed: these tests need the Debian package `systemd` (scripts/install-deps.sh installs it)"
    )
}

/// systemd/ledgerd.service in a folder of its own, with ExecStart on the freshly built binary
/// (verify refuses an ExecStart that does not exist, and CI has no /usr/local/bin/ledgerd).
private struct TestUnit {
    let scratch: Scratch
    let path: String

    init() throws {
        scratch = try Scratch()
        let text = try String(contentsOfFile: SystemdUnitTests.unitPath, encoding: .utf8)
        let original = "\nExecStart=\(SystemdUnitTests.installedExecutable) "
        try #require(
            text.contains(original), "ledgerd.service has no ExecStart=\(SystemdUnitTests.installedExecutable)")
        try #require(
            FileManager.default.isExecutableFile(atPath: ledgerdBinary), "no ledgerd binary at \(ledgerdBinary)")
        path = scratch.path + "/ledgerd.service"
        try text.replacingOccurrences(of: original, with: "\nExecStart=\(ledgerdBinary) ")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// The assignments of a unit file, in order (comments and section headers left out).
private struct UnitFile {
    var assignments: [(key: String, value: String)] = []

    init(path: String) throws {
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix(";"), !trimmed.hasPrefix("["),
                let equals = trimmed.firstIndex(of: "=")
            else { continue }
            assignments.append((String(trimmed[..<equals]), String(trimmed[trimmed.index(after: equals)...])))
        }
    }

    func values(_ key: String) -> [String] {
        assignments.filter { $0.key == key }.map(\.value)
    }
}

/// Table names and keys a TOML text sets or documents (`key = …` and `# key = …`), as
/// `table.key`; quoted keys (per-party account overrides) are examples, not keys.
private func tomlKeys(_ text: String) -> Set<String> {
    var keys = Set<String>()
    var table = ""
    for line in text.split(separator: "\n") {
        if let header = line.firstMatch(of: /^\[([a-z_.]+)\]/) {
            table = String(header.1)
            keys.insert("[\(table)]")
        } else if let key = line.firstMatch(of: #/^#? ?([a-z_]+) = /#) {
            keys.insert("\(table).\(key.1)")
        }
    }
    return keys
}

private final class Scratch {
    let path = NSTemporaryDirectory() + "ledgerd-systemd-" + UUID().uuidString
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a program outside ledgerd with systemd's tools told not to colour or page, and waits.
private func runProgram(_ executable: String, _ arguments: [String], path: String? = nil) throws -> ProgramRun {
    var environment = ["SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""]
    if let path { environment["PATH"] = path }
    return try TestSupport.runProgram(executable, arguments, environment: environment)
}
