import PeregrineEVM

/// The Uniswap V2 Router02 swap functions, by 4-byte selector.
@frozen
public enum RouterSwapFunction: UInt32, CaseIterable, Sendable, BitwiseCopyable, CustomStringConvertible {
    case swapExactTokensForTokens = 0x38ed_1739
    case swapTokensForExactTokens = 0x8803_dbee
    case swapExactETHForTokens = 0x7ff3_6ab5
    case swapTokensForExactETH = 0x4a25_d94a
    case swapExactTokensForETH = 0x18cb_afe5
    case swapETHForExactTokens = 0xfb3b_db41
    case swapExactTokensForTokensSupportingFeeOnTransferTokens = 0x5c11_d795
    case swapExactETHForTokensSupportingFeeOnTransferTokens = 0xb6f9_de95
    case swapExactTokensForETHSupportingFeeOnTransferTokens = 0x791a_c947

    /// The caller fixes the input amount (else the output amount).
    @inlinable public var isExactInput: Bool {
        switch self {
        case .swapTokensForExactTokens, .swapTokensForExactETH, .swapETHForExactTokens: return false
        default: return true
        }
    }

    /// The input is the transaction's ETH value (the function is payable and has no amount
    /// argument for it).
    @inlinable public var paysWithETH: Bool {
        switch self {
        case .swapExactETHForTokens, .swapETHForExactTokens, .swapExactETHForTokensSupportingFeeOnTransferTokens:
            return true
        default: return false
        }
    }

    /// The output is unwrapped to ETH.
    @inlinable public var paysOutETH: Bool {
        switch self {
        case .swapTokensForExactETH, .swapExactTokensForETH, .swapExactTokensForETHSupportingFeeOnTransferTokens:
            return true
        default: return false
        }
    }

    /// Fee-on-transfer variant: the router checks the recipient's balance change, not the
    /// amounts it computed.
    @inlinable public var supportsFeeOnTransfer: Bool {
        switch self {
        case .swapExactTokensForTokensSupportingFeeOnTransferTokens,
            .swapExactETHForTokensSupportingFeeOnTransferTokens,
            .swapExactTokensForETHSupportingFeeOnTransferTokens:
            return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .swapExactTokensForTokens: return "swapExactTokensForTokens"
        case .swapTokensForExactTokens: return "swapTokensForExactTokens"
        case .swapExactETHForTokens: return "swapExactETHForTokens"
        case .swapTokensForExactETH: return "swapTokensForExactETH"
        case .swapExactTokensForETH: return "swapExactTokensForETH"
        case .swapETHForExactTokens: return "swapETHForExactTokens"
        case .swapExactTokensForTokensSupportingFeeOnTransferTokens:
            return "swapExactTokensForTokensSupportingFeeOnTransferTokens"
        case .swapExactETHForTokensSupportingFeeOnTransferTokens:
            return "swapExactETHForTokensSupportingFeeOnTransferTokens"
        case .swapExactTokensForETHSupportingFeeOnTransferTokens:
            return "swapExactTokensForETHSupportingFeeOnTransferTokens"
        }
    }
}

/// A swap path of 2 to `SwapPath.capacity` tokens, inline (no heap).
@frozen
public struct SwapPath: Hashable, Sendable, BitwiseCopyable {
    /// The longest path decoded; longer ones are rejected (`pathTooLong`).
    public static let capacity = 5
    @usableFromInline var tokens: (EVMAddress, EVMAddress, EVMAddress, EVMAddress, EVMAddress)
    @usableFromInline var _count: Int
    /// Tokens in the path.
    @inlinable public var count: Int { _count }

    @inlinable
    public init() {
        tokens = (.zero, .zero, .zero, .zero, .zero)
        _count = 0
    }

    /// Appends a token; false when full.
    @inlinable
    public mutating func append(_ token: EVMAddress) -> Bool {
        let index = _count
        guard index < Self.capacity else { return false }
        withUnsafeMutableBytes(of: &tokens) { raw in
            raw.storeBytes(of: token, toByteOffset: index &* MemoryLayout<EVMAddress>.stride, as: EVMAddress.self)
        }
        _count &+= 1
        return true
    }

    /// Token `index` (0 ..< count).
    @inlinable
    public subscript(index: Int) -> EVMAddress {
        withUnsafeBytes(of: tokens) { raw in
            raw.load(fromByteOffset: index &* MemoryLayout<EVMAddress>.stride, as: EVMAddress.self)
        }
    }

    /// Hops (pools) in the path.
    @inlinable public var hops: Int { count &- 1 }

    public static func == (lhs: SwapPath, rhs: SwapPath) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where lhs[index] != rhs[index] { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for index in 0..<count { hasher.combine(self[index]) }
    }
}

/// A decoded Router02 swap: what the pending transaction asks the router to do. Fixed size,
/// trivially copyable.
@frozen
public struct SwapIntent: Hashable, Sendable, BitwiseCopyable {
    public var function: RouterSwapFunction
    public var path: SwapPath
    /// Exact input (exact-input functions, the ETH value for payable ones) or exact output.
    public var amountSpecified: UInt256
    /// Slippage bound: the least output (exact input) or the most input (exact output; the
    /// ETH value for `swapETHForExactTokens`).
    public var amountLimit: UInt256
    public var recipient: EVMAddress
    /// Unix seconds (saturated at `UInt64.max`).
    public var deadline: UInt64

    @inlinable
    public init(
        function: RouterSwapFunction, path: SwapPath, amountSpecified: UInt256, amountLimit: UInt256,
        recipient: EVMAddress, deadline: UInt64
    ) {
        self.function = function
        self.path = path
        self.amountSpecified = amountSpecified
        self.amountLimit = amountLimit
        self.recipient = recipient
        self.deadline = deadline
    }
}

/// Why calldata is not a Router02 swap this decoder accepts.
public enum SwapDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the function's arguments need.
    case tooShort(length: Int, needed: Int)
    /// A selector that is not one of the nine swap functions.
    case unknownSelector(UInt32)
    /// The path's offset or length points outside the calldata (or before the arguments end).
    case badOffset(Int)
    case pathTooShort(Int)
    case pathTooLong(Int)
    /// An `address` word whose upper 12 bytes are not zero, at this byte offset.
    case dirtyAddress(offset: Int)

    public var description: String {
        switch self {
        case .tooShort(let length, let needed): return "calldata of \(length) bytes is too short (needs \(needed))"
        case .unknownSelector(let selector):
            let hex = String(selector, radix: 16)
            return "unknown selector 0x\(String(repeating: "0", count: 8 - hex.count) + hex)"
        case .badOffset(let offset): return "path offset or length out of bounds (\(offset))"
        case .pathTooShort(let count): return "path of \(count) token(s); a swap needs at least 2"
        case .pathTooLong(let count): return "path of \(count) tokens; at most \(SwapPath.capacity) are decoded"
        case .dirtyAddress(let offset): return "address word at byte \(offset) has non-zero upper bytes"
        }
    }
}

/// ABI decoding of Router02 swap calldata. No allocation; O(path length); never traps on any
/// input (fuzzed in the tests).
public enum RouterDecoder {
    /// Decodes `calldata` (selector and arguments). `value` is the transaction's ETH value:
    /// the input of the payable functions.
    @inlinable
    public static func decode(_ calldata: UnsafeRawBufferPointer, value: UInt256) throws(SwapDecodeError) -> SwapIntent
    {
        guard calldata.count >= 4 else { throw .tooShort(length: calldata.count, needed: 4) }
        let selector = UInt32(bigEndian: calldata.loadUnaligned(as: UInt32.self))
        guard let function = RouterSwapFunction(rawValue: selector) else { throw .unknownSelector(selector) }
        // Arguments: (amountA, amountB, path, to, deadline), or for the payable functions
        // (amount, path, to, deadline) with the ETH value as the other amount.
        let words = function.paysWithETH ? 4 : 5
        let arguments = 4
        let headEnd = arguments + words * 32
        guard calldata.count >= headEnd else { throw .tooShort(length: calldata.count, needed: headEnd) }
        var word = arguments
        let first = UInt256(bigEndianWordAt: word, of: calldata)
        let amountSpecified: UInt256
        let amountLimit: UInt256
        if function.paysWithETH {
            // swapExactETHForTokens(amountOutMin, …): specified = value, limit = first.
            // swapETHForExactTokens(amountOut, …): specified = first, limit = value.
            if function.isExactInput {
                amountSpecified = value
                amountLimit = first
            } else {
                amountSpecified = first
                amountLimit = value
            }
            word &+= 32
        } else {
            amountSpecified = first
            amountLimit = UInt256(bigEndianWordAt: word &+ 32, of: calldata)
            word &+= 64
        }
        let pathOffsetWord = UInt256(bigEndianWordAt: word, of: calldata)
        let toOffset = word &+ 32
        let deadlineOffset = word &+ 64
        guard let recipient = EVMAddress(abiWordAt: toOffset, of: calldata) else {
            throw .dirtyAddress(offset: toOffset)
        }
        let deadline = UInt256(bigEndianWordAt: deadlineOffset, of: calldata).saturatingUInt64

        // The path: an offset (from the start of the arguments) to its length word, then the
        // addresses. Offsets into the head, or past the end, are refused.
        let argumentBytes = calldata.count &- arguments
        guard let relative = pathOffsetWord.uint128, relative <= UInt128(argumentBytes) else {
            throw .badOffset(argumentBytes)
        }
        let lengthOffset = arguments &+ Int(relative)
        guard lengthOffset >= headEnd, lengthOffset &+ 32 <= calldata.count else { throw .badOffset(Int(relative)) }
        let lengthWord = UInt256(bigEndianWordAt: lengthOffset, of: calldata)
        guard let length128 = lengthWord.uint128, length128 <= UInt128(calldata.count) else {
            throw .badOffset(lengthOffset)
        }
        let length = Int(length128)
        guard length >= 2 else { throw .pathTooShort(length) }
        guard length <= SwapPath.capacity else { throw .pathTooLong(length) }
        let end = lengthOffset &+ 32 &+ length &* 32
        guard end <= calldata.count else { throw .badOffset(lengthOffset) }
        var path = SwapPath()
        var offset = lengthOffset &+ 32
        while offset < end {
            guard let token = EVMAddress(abiWordAt: offset, of: calldata) else { throw .dirtyAddress(offset: offset) }
            _ = path.append(token)
            offset &+= 32
        }
        return SwapIntent(
            function: function, path: path, amountSpecified: amountSpecified, amountLimit: amountLimit,
            recipient: recipient, deadline: deadline)
    }
}

/// ABI encoding of Router02 swap calls (the inverse of `RouterDecoder`): for building our own
/// transactions and synthetic flows. Appends to `bytes`; allocates only when it grows.
public enum RouterEncoder {
    /// Appends `intent`'s calldata. For the payable functions the ETH amount is the
    /// transaction's value, not an argument: `amountSpecified` (exact input) or `amountLimit`
    /// (exact output) is left out.
    public static func append(_ intent: SwapIntent, to bytes: inout [UInt8]) {
        appendWord(UInt256(high: UInt128(intent.function.rawValue) << 96, low: 0), to: &bytes, prefix: 4)
        let function = intent.function
        if function.paysWithETH {
            appendWord(function.isExactInput ? intent.amountLimit : intent.amountSpecified, to: &bytes)
        } else {
            appendWord(intent.amountSpecified, to: &bytes)
            appendWord(intent.amountLimit, to: &bytes)
        }
        let headWords = function.paysWithETH ? 4 : 5
        appendWord(UInt256(UInt128(headWords * 32)), to: &bytes)
        appendAddress(intent.recipient, to: &bytes)
        appendWord(UInt256(UInt128(intent.deadline)), to: &bytes)
        appendWord(UInt256(UInt128(intent.path.count)), to: &bytes)
        for index in 0..<intent.path.count { appendAddress(intent.path[index], to: &bytes) }
    }

    /// The ETH value a transaction carrying `intent` sends.
    public static func value(of intent: SwapIntent) -> UInt256 {
        guard intent.function.paysWithETH else { return .zero }
        return intent.function.isExactInput ? intent.amountSpecified : intent.amountLimit
    }

    /// Appends a big-endian word (or only its first `prefix` bytes).
    static func appendWord(_ value: UInt256, to bytes: inout [UInt8], prefix: Int = 32) {
        withUnsafeBytes(of: (value.high.bigEndian, value.low.bigEndian)) { bytes += $0.prefix(prefix) }
    }

    static func appendAddress(_ address: EVMAddress, to bytes: inout [UInt8]) {
        bytes += repeatElement(0, count: 12)
        withUnsafeBytes(of: (address.first.bigEndian, address.second.bigEndian)) { bytes += $0.prefix(16) }
        withUnsafeBytes(of: address.third.bigEndian) { bytes += $0 }
    }
}
