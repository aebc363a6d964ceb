// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Release builds let the optimizer inline and specialize across ledgerd's own modules
    // (money and posting rules in LedgerCore, reading in Formats, the pipeline in Ingest),
    // which by default stop at each module's boundary: a few per cent less CPU a file on
    // `scripts/bench.sh`'s invoices (README, Benchmark). An executable package may use
    // unsafeFlags; it is never a dependency of another package.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "ledgerd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ledgerd", targets: ["ledgerd"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // Pure ledger domain: money, accounts, journal entries, posting rules. No I/O.
        .target(name: "LedgerCore", swiftSettings: swiftSettings),

        // libxml2, reached through a thin system-library target (see Formats/XMLTree.swift).
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),

        // Readers for the files people drop: EHF / PEPPOL BIS Billing 3.0 and its checks.
        .target(
            name: "Formats",
            dependencies: ["LedgerCore", "CLibXML2"],
            swiftSettings: swiftSettings
        ),

        // Process-wide SQLite settings Swift cannot make itself (see CSQLiteSettings/shim.h).
        .systemLibrary(
            name: "CSQLiteSettings",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // The SQLite file: migrations, posting transactions, queries.
        .target(
            name: "LedgerStore",
            dependencies: [
                "LedgerCore", "CSQLiteSettings",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),

        // Configuration file (TOML) and its built-in defaults.
        .target(
            name: "LedgerConfig",
            dependencies: ["LedgerCore", "TOMLKit"],
            swiftSettings: swiftSettings
        ),

        // The per-file pipeline: read once, hash, parse, post in one transaction, archive.
        .target(
            name: "Ingest",
            dependencies: [
                "LedgerCore", "Formats", "LedgerStore", "LedgerConfig",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // libinotifytools, reached through a thin system-library target (see Watcher/).
        .systemLibrary(
            name: "CInotify",
            providers: [.apt(["libinotifytools0-dev"])]
        ),

        // Recursive inotify watching of the inbox folders, on one dedicated thread.
        .target(
            name: "Watcher",
            dependencies: ["CInotify", "LedgerCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        // `ledgerd run`: watcher + rescans + settle detection feeding the pipeline, under
        // swift-service-lifecycle.
        .target(
            name: "Daemon",
            dependencies: [
                "LedgerCore", "LedgerStore", "LedgerConfig", "Ingest", "Watcher",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),

        // The status page, its JSON API, /healthz and /metrics (Hummingbird).
        .target(
            name: "StatusServer",
            dependencies: [
                "LedgerCore", "LedgerStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "ledgerd",
            dependencies: [
                "LedgerCore", "Formats", "LedgerStore", "LedgerConfig", "Ingest", "Daemon", "StatusServer",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            // The toolchain's own linker for release builds. The scripts build them with
            // --static-swift-stdlib, and GNU ld then warns that the static Foundation
            // library refers to glibc's mktemp; lld does not print glibc's link warnings.
            // Relative relocations packed (DT_RELR, glibc 2.36 and later): with the runtime and
            // Foundation linked in, the binary has some 120,000 of them, a 2.9 MB table the
            // loader reads whole at every start and that then stays resident; packed, it is
            // 24 KB. Peak memory: `--version` 18 MB instead of 21, `ingest` of 10,000
            // invoices 55–57 MiB instead of 59–61.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                    .when(configuration: .release))
            ]
        ),

        .testTarget(
            name: "LedgerCoreTests",
            dependencies: ["LedgerCore", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FormatsTests",
            dependencies: ["Formats", "LedgerCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerStoreTests",
            dependencies: ["LedgerStore", "LedgerCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerConfigTests",
            dependencies: ["LedgerConfig", "LedgerCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: ["Ingest", "LedgerStore", "LedgerConfig", "Formats", "LedgerCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WatcherTests",
            dependencies: ["Watcher"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: ["Daemon", "Ingest", "LedgerStore", "LedgerConfig", "LedgerCore"],
            swiftSettings: swiftSettings
        ),
        // Helpers the status page's tests and the end-to-end tests share: a raw HTTP client on
        // loopback, JSON for assertions, and headless Chromium.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StatusServerTests",
            dependencies: [
                "StatusServer", "LedgerStore", "LedgerCore", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerdTests",
            dependencies: ["LedgerStore", "LedgerCore", "Ingest", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
