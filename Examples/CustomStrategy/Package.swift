// swift-tools-version: 6.1
import PackageDescription

// A strategy written outside Peregrine's package, as a user would: it depends on Peregrine,
// conforms to `Strategy`, and runs through the engine (live pipeline, replay, snapshots) as the
// engine's `Custom` strategy type. `make test` builds and tests it.
let package = Package(
    name: "CustomStrategy",
    platforms: [.macOS("26.0")],
    products: [.library(name: "CustomStrategy", targets: ["CustomStrategy"])],
    dependencies: [.package(name: "Peregrine", path: "../..")],
    targets: [
        .target(
            name: "CustomStrategy",
            dependencies: [
                .product(name: "PeregrineStrategy", package: "Peregrine"),
                .product(name: "PeregrineModel", package: "Peregrine"),
                .product(name: "PeregrineCore", package: "Peregrine"),
            ]
        ),
        .testTarget(
            name: "CustomStrategyTests",
            dependencies: [
                "CustomStrategy",
                .product(name: "PeregrineEngine", package: "Peregrine"),
                .product(name: "PeregrineStrategy", package: "Peregrine"),
                .product(name: "PeregrineModel", package: "Peregrine"),
                .product(name: "PeregrineCore", package: "Peregrine"),
            ]
        ),
    ]
)
