// swift-tools-version: 6.1
import PackageDescription

/// Hot modules are built for speed in every configuration that matters: release builds
/// specialise generics across modules through `@inlinable` API, so no unsafe flags are needed.
let package = Package(
    name: "Peregrine",
    platforms: [.macOS("26.0")],
    products: [
        .executable(name: "peregrine", targets: ["peregrine"]),
        .library(name: "PeregrineCore", targets: ["PeregrineCore"]),
        .library(name: "PeregrineModel", targets: ["PeregrineModel"]),
        .library(name: "PeregrineBook", targets: ["PeregrineBook"]),
        .library(name: "PeregrineCodec", targets: ["PeregrineCodec"]),
        .library(name: "PeregrineEVM", targets: ["PeregrineEVM"]),
        .library(name: "PeregrineMempool", targets: ["PeregrineMempool"]),
        .library(name: "PeregrineRisk", targets: ["PeregrineRisk"]),
        .library(name: "PeregrineStrategy", targets: ["PeregrineStrategy"]),
        .library(name: "PeregrineJournal", targets: ["PeregrineJournal"]),
        .library(name: "PeregrineFeed", targets: ["PeregrineFeed"]),
        .library(name: "PeregrineVenue", targets: ["PeregrineVenue"]),
        .library(name: "PeregrineEngine", targets: ["PeregrineEngine"]),
        .library(name: "PeregrineBacktest", targets: ["PeregrineBacktest"]),
        .library(name: "PeregrineControl", targets: ["PeregrineControl"]),
        .library(name: "PeregrineNATS", targets: ["PeregrineNATS"]),
        .library(name: "PeregrineBench", targets: ["PeregrineBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.1.4"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        .target(name: "PeregrineSys"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        .target(
            name: "PeregrineNATS",
            dependencies: [
                "CNATS", "PeregrineCore", "PeregrineModel", "PeregrineJournal", "PeregrineCodec", "PeregrineFeed",
                "PeregrineStrategy", "PeregrineEngine", "PeregrineEVM", "PeregrineMempool", "PeregrineBacktest",
            ]
        ),
        .systemLibrary(
            name: "CSecp256k1", pkgConfig: "libsecp256k1", providers: [.apt(["libsecp256k1-dev"])]),
        .target(name: "PeregrineCore", dependencies: ["PeregrineSys"]),
        .target(name: "PeregrineModel", dependencies: ["PeregrineCore"]),
        .target(name: "PeregrineBook", dependencies: ["PeregrineSys", "PeregrineCore", "PeregrineModel"]),
        .target(
            name: "PeregrineEVM",
            dependencies: ["PeregrineCore", "CSecp256k1", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "PeregrineMempool", dependencies: ["PeregrineCore", "PeregrineModel", "PeregrineEVM"]),
        .target(name: "PeregrineCodec", dependencies: ["PeregrineModel"]),
        .target(name: "PeregrineJournal", dependencies: ["PeregrineCore", "PeregrineModel"]),
        .target(
            name: "PeregrineFeed",
            dependencies: [
                "CZlib", "PeregrineSys", "PeregrineCore", "PeregrineModel", "PeregrineBook", "PeregrineCodec",
            ]),
        .target(
            name: "PeregrineVenue",
            dependencies: ["PeregrineCore", "PeregrineModel", "PeregrineBook", "PeregrineCodec"]),
        .target(name: "PeregrineRisk", dependencies: ["PeregrineCore", "PeregrineModel"]),
        .target(
            name: "PeregrineStrategy",
            dependencies: ["PeregrineCore", "PeregrineModel", "PeregrineBook", "PeregrineRisk"]),
        .target(
            name: "PeregrineEngine",
            dependencies: [
                "PeregrineCore", "PeregrineModel", "PeregrineBook", "PeregrineEVM", "PeregrineMempool",
                "PeregrineStrategy", "PeregrineRisk", "PeregrineJournal", "PeregrineCodec", "PeregrineFeed",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Lets the pipeline's part protocols name noncopyable runtime types (a source, a
            // journal backend) as associated types; conformers in other modules need nothing.
            swiftSettings: [.enableExperimentalFeature("SuppressedAssociatedTypes")]
        ),
        .target(name: "PeregrineBuildInfo", plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(
            name: "PeregrineBacktest",
            dependencies: [
                "PeregrineCore", "PeregrineModel", "PeregrineBook", "PeregrineFeed", "PeregrineCodec",
                "PeregrineStrategy", "PeregrineRisk", "PeregrineEngine", "PeregrineJournal", "PeregrineBuildInfo",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "PeregrineControl",
            dependencies: [
                "PeregrineCore", "PeregrineModel", "PeregrineEngine", "PeregrineStrategy", "PeregrineRisk",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PeregrineBench",
            dependencies: [
                "PeregrineSys", "PeregrineCore", "PeregrineModel", "PeregrineBook", "PeregrineJournal",
                "PeregrineStrategy", "PeregrineRisk", "PeregrineEVM", "PeregrineMempool", "PeregrineEngine",
                "PeregrineControl",
                "PeregrineNATS",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "peregrine",
            dependencies: [
                "PeregrineEngine", "PeregrineCodec", "PeregrineFeed", "PeregrineVenue", "PeregrineControl",
                "PeregrineEVM", "PeregrineMempool", "PeregrineNATS", "PeregrineBench", "PeregrineStrategy",
                "PeregrineRisk", "PeregrineBacktest", "PeregrineBuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PeregrineTestSupport",
            dependencies: [
                "PeregrineModel", "PeregrineBook", "PeregrineCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            path: "Tests/PeregrineTestSupport"
        ),
        .testTarget(
            name: "PeregrineCoreTests",
            dependencies: ["PeregrineCore", "PeregrineSys", "PeregrineTestSupport"]
        ),
        .testTarget(
            name: "PeregrineModelTests",
            dependencies: [
                "PeregrineModel", "PeregrineTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PeregrineBookTests",
            dependencies: ["PeregrineBook", "PeregrineCore", "PeregrineTestSupport"]
        ),
        .testTarget(
            name: "PeregrineJournalTests",
            dependencies: ["PeregrineJournal", "PeregrineModel", "PeregrineCore"]
        ),
        .testTarget(
            name: "PeregrineFeedTests",
            dependencies: [
                "PeregrineFeed", "PeregrineCodec", "PeregrineVenue", "PeregrineBook", "PeregrineModel",
                "PeregrineJournal", "PeregrineTestSupport", "PeregrineSys", "PeregrineCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PeregrineMempoolTests",
            dependencies: [
                "PeregrineMempool", "PeregrineEVM", "PeregrineCore", "PeregrineModel", "PeregrineEngine",
                "PeregrineTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PeregrineStrategyTests",
            dependencies: [
                "PeregrineStrategy", "PeregrineRisk", "PeregrineModel", "PeregrineCore", "PeregrineBook",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PeregrineEngineTests",
            dependencies: [
                "PeregrineEngine", "PeregrineBench", "PeregrineBook", "PeregrineMempool", "PeregrineEVM",
                "PeregrineTestSupport",
            ]
        ),
        .testTarget(
            name: "PeregrineControlTests",
            dependencies: [
                "PeregrineControl", "PeregrineBench", "PeregrineEngine", "PeregrineModel", "PeregrineCore",
                "PeregrineStrategy", "PeregrineTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PeregrineNATSTests",
            dependencies: [
                "PeregrineNATS", "PeregrineBacktest", "PeregrineEngine", "PeregrineCodec", "PeregrineFeed",
                "PeregrineMempool", "PeregrineModel", "PeregrineJournal",
                "PeregrineStrategy", "PeregrineCore", "PeregrineTestSupport",
            ]
        ),
        .testTarget(
            name: "PeregrineBacktestTests",
            dependencies: [
                "PeregrineBacktest", "PeregrineBook", "PeregrineModel", "PeregrineStrategy", "PeregrineCodec",
                "PeregrineFeed",
                "PeregrineRisk", "PeregrineBuildInfo",
                "PeregrineTestSupport",
            ]
        ),
        .testTarget(
            name: "PeregrineFaultTests",
            dependencies: [
                "PeregrineTestSupport", "PeregrineCore", "PeregrineBuildInfo",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PeregrineStressTests",
            dependencies: ["PeregrineCore", "PeregrineSys"]
        ),
    ]
)
