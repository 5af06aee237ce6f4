// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "CaseLedger",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "caseledger", targets: ["caseledger"]),
        .library(name: "CaseLedgerCore", targets: ["CaseLedgerCore"]),
        .library(name: "CaseLedgerStore", targets: ["CaseLedgerStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The server: HTTP, routing and the connection handling (Hummingbird), graceful shutdown,
        // structured logs and Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Hummingbird's own foundations, named because the server's connection limit is a NIO
        // channel handler that answers 503 in typed HTTP parts.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The console's pages: logic-less templates that escape everything they are given.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Pure Swift: the event model, JSON, canonical bytes, schema validation, the domain rules, the generator.
        .target(
            name: "CaseLedgerCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            plugins: ["EmbedSchemas"]
        ),
        // SQLite's process-wide settings, through sqlite3_config (variadic: C only).
        .target(name: "CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The only module that speaks SQL.
        .target(
            name: "CaseLedgerStore",
            dependencies: [
                "CaseLedgerCore", "CSQLiteTuning",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // `caseledger serve`: the HTTP API and the console over the same library calls.
        .target(
            name: "CaseLedgerServer",
            dependencies: [
                "CaseLedgerCore", "CaseLedgerStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The `caseledger` commands: parse, call the library, print.
        .target(
            name: "CaseLedgerCLI",
            dependencies: [
                "CaseLedgerCore", "CaseLedgerStore", "CaseLedgerServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "caseledger", dependencies: ["CaseLedgerCLI"]),
        // What `Tools/fuzz` runs under libFuzzer, and the test suite runs on its regression inputs.
        .target(name: "CaseLedgerFuzzing", dependencies: ["CaseLedgerCore"]),
        // Build-time: turns Schemas/ into Swift constants so the binary is self-contained.
        .executableTarget(name: "schema-embedder", path: "Sources/schema-embedder"),
        .plugin(name: "EmbedSchemas", capability: .buildTool(), dependencies: ["schema-embedder"]),
        .testTarget(
            name: "CaseLedgerTests",
            dependencies: ["CaseLedgerCore", "CaseLedgerStore", "CaseLedgerServer", "CaseLedgerFuzzing", "caseledger", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures", "Support/jsonschema_verdicts.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
