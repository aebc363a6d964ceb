import ArgumentParser
import Foundation
import Ingest
import LedgerConfig

/// Every command names itself (`commandName`): without a name, ArgumentParser derives one
/// from the type's name with `String(describing:)`, and in this binary each such call scans
/// the runtime's conformance tables. Named, a command starts with some 16 million fewer
/// instructions, 2 – 4 ms of each `ledgerd status`.
@main
struct Ledgerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerd",
        abstract: "Turns the files dropped into the inbox folders into books: invoices, journal entries, sub-ledgers.",
        discussion: """
            With no --config, ledgerd runs on built-in defaults relative to the current folder:
            ./Inbox (ehf/, wise/, checks/), ./var/ledger.sqlite, ./var/archive, ./Inbox/rejected.
            """,
        version: "0.1.0",
        subcommands: [
            Run.self, Ingest.self, Status.self, Outstanding.self, Reconcile.self, Done.self, Config.self, Backup.self,
        ]
    )

    /// `ledgerd` alone is a usage error (exit 2), as a missing argument is.
    func run() async throws {
        throw ValidationError(
            "a command is needed: \(Suggestion.list(Self.configuration.subcommands.map { $0._commandName })).")
    }

    /// Argument parser's own entry point, except that a usage error exits 2, as every
    /// command's documented exit status says (not EX_USAGE, 64), and with `--json` among the
    /// arguments is said on stdout as JSON too, like every other failure.
    static func main() async {
        FileSystem.raiseOpenFileLimit()
        // Before any thread starts (see `reserveDescriptorTable`): claims on four batches of
        // the default size, and the database and folders besides.
        FileSystem.reserveDescriptorTable(for: 4 * Configuration.Ingest.defaultBatchSize + 256)
        // The command parsed, whose usage goes with a usage error its own run throws.
        var parsed: any ParsableCommand.Type = Self.self
        do {
            var command = try parseAsRoot()
            parsed = type(of: command)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            var message = fullMessage(for: error)
            if parsed != Self.self, error is ValidationError {
                // `fullMessage` would give the root's usage ("ledgerd <subcommand>").
                let path = (["ledgerd"] + commandPath(to: parsed)).joined(separator: " ")
                message =
                    "Error: \(error)\nUsage: \(usageString(for: parsed))\n"
                    + "  See '\(path) --help' for more information."
            }
            // A mistyped command ("stauts") is named as one, with the command meant.
            let commands = configuration.subcommands.map { $0._commandName }
            if let first = CommandLine.arguments.dropFirst().first, !first.hasPrefix("-"), !commands.contains(first) {
                let meant = Suggestion.closest(to: first, among: commands).map { "; did you mean '\($0)'?" } ?? "."
                message =
                    "Error: unknown command '\(first)'\(meant) The commands are \(Suggestion.list(commands)).\n"
                    + "  See 'ledgerd --help' for more information."
            }
            StandardError.write(message + "\n")
            if CommandLine.arguments.dropFirst().contains("--json") {
                struct Failure: Encodable {
                    var error: String
                    var exitStatus: Int32
                    var valid: Bool?
                }
                var first = message.split(separator: "\n").first.map(String.init) ?? message
                if first.hasPrefix("Error: ") { first.removeFirst("Error: ".count) }
                // `config check` reports validity, so its failures say `valid: false` too.
                let checksConfig = CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("-") }.starts(with: [
                    "config", "check",
                ])
                if let json = try? Output.json(Failure(error: first, exitStatus: 2, valid: checksConfig ? false : nil))
                {
                    print(json)
                }
            }
            Foundation.exit(2)
        }
    }
}

/// The names from `ledgerd` down to `command` ("config", "check"); empty when it is not there.
func commandPath(to command: any ParsableCommand.Type, from root: any ParsableCommand.Type = Ledgerd.self)
    -> [String]
{
    for sub in root.configuration.subcommands {
        if sub == command { return [sub._commandName] }
        let below = commandPath(to: command, from: sub)
        if !below.isEmpty { return [sub._commandName] + below }
    }
    return []
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (TOML).", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
