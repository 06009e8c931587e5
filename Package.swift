// swift-tools-version:6.0
import PackageDescription

// Weir: a Kafka-compatible broker on RocksDB.
// Dependencies point one way: KafkaProtocol ← WeirStorage ← WeirBroker ← WeirCluster ← WeirServer ← weir (CLI).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "weir",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weir", targets: ["weir"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // System libraries (Debian -dev packages; `make deps` installs them).
        .systemLibrary(name: "CRocksDB", path: "Sources/CRocksDB", pkgConfig: "rocksdb"),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd"),
        .systemLibrary(name: "CSnappy", path: "Sources/CSnappy"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib"),
        // CRC-32C with SSE4.2 / ARMv8 CRC instructions and a table fallback.
        .target(name: "CCRC32C", path: "Sources/CCRC32C", cSettings: [.unsafeFlags(["-O3"])]),
        // mallopt, which Swift's Glibc module does not export.
        .target(name: "CSystemTuning", path: "Sources/CSystemTuning"),
        // Batch column-family create/drop, which RocksDB's C API lacks (C++ over librocksdb).
        .target(
            name: "CRocksDBExtras",
            path: "Sources/CRocksDBExtras",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("rocksdb")]
        ),

        .target(
            name: "KafkaProtocol",
            dependencies: [
                "CCRC32C", "CLZ4", "CZstd", "CSnappy", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeirStorage",
            dependencies: [
                "KafkaProtocol", "CRocksDB", "CRocksDBExtras",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeirBroker",
            dependencies: [
                "KafkaProtocol", "WeirStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The cluster: etcd client, membership, the controller (metadata in etcd).
        .target(
            name: "WeirCluster",
            dependencies: [
                "KafkaProtocol", "WeirStorage", "WeirBroker", "WeirClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeirServer",
            dependencies: [
                "KafkaProtocol", "WeirStorage", "WeirBroker", "WeirCluster", "CSystemTuning",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WeirClient",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "weir",
            dependencies: [
                "KafkaProtocol", "WeirStorage", "WeirBroker", "WeirServer", "WeirClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // `make bench`: storage/network limits, broker-alone replay, prefill (bench/run.py drives it).
        .executableTarget(
            name: "weir-bench",
            dependencies: [
                "KafkaProtocol", "WeirStorage", "WeirServer", "WeirClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: ["KafkaProtocol", "CCRC32C",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOTestUtils", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeirBenchTests",
            dependencies: ["weir-bench", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeirStorageTests",
            dependencies: ["WeirStorage", "KafkaProtocol",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeirBrokerTests",
            dependencies: ["WeirBroker", "WeirStorage", "KafkaProtocol",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeirClusterTests",
            dependencies: ["WeirCluster", "WeirBroker", "WeirStorage", "KafkaProtocol",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WeirServerTests",
            dependencies: ["WeirServer", "WeirClient", "WeirBroker", "WeirStorage", "KafkaProtocol",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
    ]
)
