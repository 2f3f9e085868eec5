import PeregrineEVM
import PeregrineMempool
import PropertyBased
import Testing

struct ConstantProductTests {
    @Test func uint256ParsesAndPrintsFullWidth() throws {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        #expect(UInt256(decimal: max) == UInt256.max)
        #expect(UInt256.max.description == max)
        #expect(
            UInt256(decimal: "115792089237316195423570985008687907853269984665640564039457584007913129639936") == nil)
        #expect(UInt256(decimal: "12a") == nil && UInt256(decimal: "") == nil)
        let twoTo128 = try #require(UInt256(decimal: "340282366920938463463374607431768211456"))
        #expect(twoTo128 == UInt256(high: 1, low: 0))
        #expect(twoTo128.description == "340282366920938463463374607431768211456")
        #expect(UInt256(hex: "0x0de0b6b3a7640000") == UInt256(1_000_000_000_000_000_000))
        #expect(UInt256(hex: "0x") == nil && UInt256(hex: "12") == nil)
        #expect(UInt256(high: 0, low: 5) < UInt256(high: 1, low: 0))
    }

    /// Values checked with arbitrary-precision integers (Python).
    @Test func amountOutMatchesTheRouterLibrary() throws {
        // getAmountOut(1e18, 1000e18, 2000e18): 1e18·997·2000e18 / (1000e18·1000 + 1e18·997)
        let out = try ConstantProduct.amountOut(
            in: 1_000_000_000_000_000_000, reserveIn: 1_000_000_000_000_000_000_000,
            reserveOut: 2_000_000_000_000_000_000_000)
        #expect(out == 1_992_013_962_079_806_432)
        let back = try ConstantProduct.amountIn(
            out: 1_992_013_962_079_806_432, reserveIn: 1_000_000_000_000_000_000_000,
            reserveOut: 2_000_000_000_000_000_000_000)
        #expect(back == 1_000_000_000_000_000_000)
        #expect(throws: AMMError.insufficientInputAmount) {
            try ConstantProduct.amountOut(in: 0, reserveIn: 1, reserveOut: 1)
        }
        #expect(throws: AMMError.insufficientLiquidity) {
            try ConstantProduct.amountOut(in: 1, reserveIn: 0, reserveOut: 1)
        }
        #expect(throws: AMMError.insufficientLiquidity) {
            try ConstantProduct.amountIn(out: 5, reserveIn: 9, reserveOut: 5)
        }
        #expect(throws: AMMError.overflow) {
            try ConstantProduct.amountOut(in: ConstantProduct.maxReserve + 1, reserveIn: 1, reserveOut: 1)
        }
        // Full-width extremes: uint112 reserves and input.
        let top = ConstantProduct.maxReserve
        #expect(try ConstantProduct.amountOut(in: top, reserveIn: top, reserveOut: top) == top * 997 / 1997)
    }

    /// The router's guarantees, on random uint112-range values: paying getAmountIn(y) yields at
    /// least y, and getAmountIn(getAmountOut(x)) never exceeds x.
    @Test func amountInAndAmountOutAreConsistent() async {
        let reserve = Gen.uint64(in: 1_000...UInt64.max).map { UInt128($0) << 40 }
        await propertyCheck(count: 5_000, input: reserve, reserve, Gen.uint64(in: 1...UInt64.max)) {
            reserveIn, reserveOut, raw in
            let amount = UInt128(raw) << 20 % (reserveIn / 2 + 1) + 1
            if let out = try? ConstantProduct.amountOut(in: amount, reserveIn: reserveIn, reserveOut: reserveOut),
                out > 0
            {
                let needed = try ConstantProduct.amountIn(out: out, reserveIn: reserveIn, reserveOut: reserveOut)
                #expect(needed <= amount)
            }
            let wanted = amount % (reserveOut - 1) + 1
            let cost = try ConstantProduct.amountIn(out: wanted, reserveIn: reserveIn, reserveOut: reserveOut)
            if cost <= ConstantProduct.maxReserve {
                #expect(try ConstantProduct.amountOut(in: cost, reserveIn: reserveIn, reserveOut: reserveOut) >= wanted)
            }
        }
    }
}
