// swift-tools-version:6.0
import PackageDescription

// Layout and decisions: ../shared/DESIGN.md. Dependencies point down:
// Shell → Sync → {Store, XMPP}; Store and XMPP know nothing of each other.
let package = Package(
    name: "tern",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tern", targets: ["tern"]),
        .executable(name: "tern-bench", targets: ["TernBench"]),
        .executable(name: "tern-sync-bench", targets: ["TernSyncBench"]),
        .executable(name: "tern-export-bench", targets: ["TernExportBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C edges. libxml2 lives only inside CXMLStream: a Swift module that
        // imports both libxml2 and Foundation fails to build (ICU clash).
        .target(
            name: "CXMLStream",
            cSettings: [.unsafeFlags(["-I/usr/include/libxml2"])],
            linkerSettings: [.linkedLibrary("xml2")]
        ),
        .systemLibrary(name: "CGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"])]),
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),
        .target(name: "CDNS", linkerSettings: [.linkedLibrary("resolv")]),
        // libcurl's GnuTLS build (DESIGN §2), for HTTP upload and download.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl-gnutls")]),
        // Raw libxml2, the parse benchmark's same-run reference: linked by TernBench only.
        .target(
            name: "CXMLBenchReference",
            cSettings: [.unsafeFlags(["-I/usr/include/libxml2"])],
            linkerSettings: [.linkedLibrary("xml2")]
        ),

        .target(
            name: "XMPP",
            dependencies: ["CXMLStream", "CGnuTLS", "CDNS", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Migrations",
            path: "Migrations",
            resources: [.embedInCode("sql")]
        ),
        .target(
            name: "Store",
            dependencies: ["Migrations", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "Sync",
            dependencies: ["Store", "XMPP", "CCurl", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Shell",
            dependencies: [
                "Sync", "Store", "XMPP", "CReadline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "tern", dependencies: ["Shell"]),
        // Release-mode benchmarks for DESIGN §7 (`make bench`); they print figures, tests assert behaviour.
        .executableTarget(
            name: "TernBench", dependencies: ["XMPP", "Store", "CXMLBenchReference", .product(name: "GRDB", package: "GRDB.swift")]),
        .executableTarget(name: "TernSyncBench", dependencies: ["Store", "Sync", "XMPP"]),
        .executableTarget(
            name: "TernExportBench", dependencies: ["Store", .product(name: "GRDBSQLite", package: "GRDB.swift")]),

        .testTarget(name: "XMPPTests", dependencies: ["XMPP"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "SyncTests", dependencies: ["Sync"]),
        .testTarget(name: "ShellTests", dependencies: ["Shell"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Shell", "Sync", "Store", "XMPP"]),
    ]
)
