// swift-tools-version: 6.1
import PackageDescription

// Benchmarks of Peregrine's hot path with ordo-one/package-benchmark (wall clock, malloc and
// retain counts), plus `SPSCCompare`, the Swift side of the SPSC comparison with rigtorp and the C++ baseline,
// and `RuntimeCalls`, the workloads `runtime-calls.sh` counts runtime calls in under callgrind.
// Exclusivity checks are off here only: the benchmark state lives in class boxes shared by
// setup and measurement, and their dynamic checks would be measured instead of the rings.
let package = Package(
    name: "PeregrineBenchmarks",
    platforms: [.macOS("26.0")],
    dependencies: [
        .package(name: "Peregrine", path: ".."),
        .package(name: "CustomStrategy", path: "../Examples/CustomStrategy"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PeregrineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "PeregrineCore", package: "Peregrine"),
                .product(name: "PeregrineModel", package: "Peregrine"),
                .product(name: "PeregrineBook", package: "Peregrine"),
                .product(name: "PeregrineEVM", package: "Peregrine"),
                .product(name: "PeregrineMempool", package: "Peregrine"),
                .product(name: "PeregrineEngine", package: "Peregrine"),
                .product(name: "PeregrineJournal", package: "Peregrine"),
                .product(name: "PeregrineStrategy", package: "Peregrine"),
                .product(name: "PeregrineRisk", package: "Peregrine"),
                .product(name: "PeregrineCodec", package: "Peregrine"),
                .product(name: "PeregrineFeed", package: "Peregrine"),
                .product(name: "PeregrineBench", package: "Peregrine"),
                .product(name: "PeregrineBacktest", package: "Peregrine"),
                .product(name: "CustomStrategy", package: "CustomStrategy"),
            ],
            path: "Benchmarks/PeregrineBenchmarks",
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "RuntimeCalls",
            dependencies: [
                .product(name: "PeregrineCore", package: "Peregrine"),
                .product(name: "PeregrineModel", package: "Peregrine"),
                .product(name: "PeregrineBook", package: "Peregrine"),
                .product(name: "PeregrineJournal", package: "Peregrine"),
                .product(name: "PeregrineStrategy", package: "Peregrine"),
                .product(name: "PeregrineEngine", package: "Peregrine"),
                .product(name: "PeregrineBench", package: "Peregrine"),
                .product(name: "PeregrineMempool", package: "Peregrine"),
            ],
            path: "Sources/RuntimeCalls"
        ),
        .executableTarget(
            name: "SPSCCompare",
            dependencies: [.product(name: "PeregrineCore", package: "Peregrine")],
            path: "Sources/SPSCCompare"
        ),
    ]
)
