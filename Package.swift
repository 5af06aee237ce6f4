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
    ],
    targets: [
        // Pure Swift: the event model, JSON, canonical bytes, schema validation, the domain rules, the generator.
        .target(
            name: "CaseLedgerCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            plugins: ["EmbedSchemas"]
        ),
        // The only module that speaks SQL.
        .target(
            name: "CaseLedgerStore",
            dependencies: [
                "CaseLedgerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The `caseledger` commands: parse, call the library, print.
        .target(
            name: "CaseLedgerCLI",
            dependencies: [
                "CaseLedgerCore", "CaseLedgerStore",
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
            dependencies: ["CaseLedgerCore", "CaseLedgerStore", "CaseLedgerFuzzing", "caseledger", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures", "Support/jsonschema_verdicts.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
