import ArgumentParser

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
        subcommands: [Run.self, Ingest.self, Status.self, Reconcile.self, Config.self, Backup.self]
    )
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (TOML).", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
