extension Configuration {
    /// A complete, commented `ledgerd.toml` documenting every key. Every value it writes is the
    /// built-in default, so deleting a line changes nothing; what has no default (the company,
    /// the API token, accounts for particular parties) is shown commented out, so the file can
    /// be used as it is and never books invoices for a company that is not the reader's.
    public static let exampleTOML: String = #"""
        # ledgerd.toml — configuration of ledgerd.
        #
        # Every key is optional: a key left out keeps the default shown here. A key ledgerd
        # does not know is an error (so a typo cannot pass silently), as is a value of the
        # wrong kind; the error names the key and its line.
        #
        # Relative paths are taken from the folder this file is in. Without any
        # configuration file, ledgerd uses these defaults relative to the current folder.

        [company]
        # The company whose books these are: write your own company's name, org_number and
        # vat_number below and remove the `#` before them. Until org_number (or one of
        # `identifiers`) is set, ledgerd cannot tell purchases from sales and rejects every
        # invoice, saying so. An EHF invoice is ours when one of its parties carries one of
        # our identifiers: the org number (also as the PEPPOL endpoint "0192:<org number>"),
        # the VAT number, or one of `identifiers`.
        # name = "Nordlys Helse AS"
        # Nine digits; checked against the Brønnøysund check digit when the company is
        # Norwegian (a VAT number starting with NO, or none and base_currency NOK).
        # org_number = "987654325"
        # Country code, number and, in Norway, MVA. Must contain org_number.
        # vat_number = "NO987654325MVA"
        # Further identifiers that mean "us", as "scheme:value" or bare values (a PEPPOL
        # participant identifier, "iso6523-actorid-upis::0192:987654325", is taken as "0192:...").
        identifiers = []
        # ISO 4217 code. Invoices in other currencies are kept in their own currency.
        base_currency = "NOK"
        # false for a company that may not deduct input VAT (not VAT registered, or with
        # only exempt turnover, as health care): the VAT on what it buys is then booked
        # as part of the cost, not to the input VAT accounts.
        deducts_input_vat = true

        [paths]
        # The shared folder people drop files into (ehf/, wise/ and checks/ inside).
        inbox = "Inbox"
        # The SQLite database.
        database = "var/ledger.sqlite"
        # Where files go once posted.
        archive = "var/archive"
        # Where rejected files go, each beside a .error.txt saying why. Without this key:
        # a folder "rejected" inside the inbox.
        # rejected = "Inbox/rejected"
        #
        # Under systemd, for example:
        #   inbox = "/srv/ledgerd/Inbox"
        #   database = "/var/lib/ledgerd/ledger.sqlite"
        #   archive = "/var/lib/ledgerd/archive"

        [accounts]
        # General-ledger accounts (Norwegian standard chart NS 4102). Account numbers are
        # strings of four to ten digits.
        receivables = "1500"            # customer receivables (control account)
        bank = "1920"
        payables = "2400"               # supplier debt (control account)
        sales = "3000"                  # revenue, unless [accounts.customers] says otherwise
        purchases = "4000"              # cost, unless [accounts.suppliers] says otherwise
        # VAT accounts by rate in percent ("12.5" works too). A table given here replaces
        # the default table as a whole; a rate it does not list goes to *_vat_other.
        output_vat = { "25" = "2700", "15" = "2701", "12" = "2702" }
        input_vat = { "25" = "2710", "15" = "2711", "12" = "2712" }
        output_vat_other = "2700"
        input_vat_other = "2710"
        # VAT a seller abroad charges (not Norwegian VAT, so not deductible here) is booked as
        # part of the cost; name an account to keep it apart, e.g. a claim for a refund:
        # foreign_vat = "1579"
        customer_prepayments = "2900"   # amounts customers paid in advance (BT-113)
        supplier_prepayments = "1480"   # amounts we paid suppliers in advance
        rounding = "7740"               # payable rounding (BT-114), øreavrunding

        [accounts.suppliers]
        # Cost account per supplier, keyed by an identifier its invoices carry: the
        # organisation number, the VAT number or "scheme:endpoint". Default: none; for
        # example:
        # "923456783" = "6300"

        [accounts.customers]
        # Revenue account per customer, keyed the same way. Default: none; for example:
        # "912345688" = "3100"

        [limits]
        # Files larger than this are rejected unread: a number of bytes, or a string
        # such as "50MB" (powers of 1000) or "50MiB" (powers of 1024).
        max_file_bytes = "50MiB"

        [server]
        # The status page and JSON API. host:port; IPv6 in brackets, like "[::1]:8080".
        listen = "127.0.0.1:8080"
        # The bearer token that the status page's actions (Retry, Rescan) must carry, its
        # buttons' password; without one they are off. Read from a file such as a systemd
        # credential (LoadCredential=); a relative path is taken from this file's folder.
        # ledgerd does not start when the file cannot be read.
        # token_file = "/run/credentials/ledgerd.service/api-token"
        # The token may also be written inline, but then it sits in this file; use one or
        # the other, not both.
        # token = "…"

        [watch]
        # "inotify": inotify plus a scan at startup and every rescan_interval.
        # "poll": scans only, every poll_interval (for shares written from other hosts).
        mode = "inotify"
        # Durations: a number and a unit (h, m, s, ms, us), largest first: "1m30s", "1.5s".
        poll_interval = "2s"
        # A file not seen closed after writing is taken once its size and modification
        # time have not changed for this long.
        settle = "1s"
        rescan_interval = "5m"
        # File names never picked up: * is any run of characters, ? any one character,
        # case is ignored. Giving this list replaces the default list.
        ignore = ["*.part", "*.tmp", "~$*", ".*", "Thumbs.db", "desktop.ini", "@eaDir"]

        [ingest]
        # Files posted per database transaction (group commit).
        batch_size = 512
        # Threads reading and checking files in parallel. Default: one per processor.
        # workers = 4
        """#
}
