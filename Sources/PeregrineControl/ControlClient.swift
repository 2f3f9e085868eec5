import NIOCore
import NIOHTTP1
import NIOPosix
import PeregrineModel

#if canImport(Glibc)
    import Glibc
#endif

/// A small HTTP/1.1 client for the control plane (SwiftNIO's codec; `peregrine kill` uses it).
/// Blocking: for command-line tools, never for a hot thread.
public enum ControlClient {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var body: String
        /// The response's headers, by lower-case name (the last value of a repeated one).
        public var headers: [String: String] = [:]
    }

    /// Why a request got no answer.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Sends `method path` to `host:port` and returns the answer; throws when the server cannot
    /// be reached or does not answer within `timeoutSeconds`.
    public static func send(
        _ method: HTTPMethod, host: String, port: Int, path: String, headers: [(String, String)] = [],
        timeoutSeconds: Int64 = 5
    ) throws(Failure) -> Response {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Response.self)
        let channel: Channel
        do {
            channel = try ClientBootstrap(group: group)
                .connectTimeout(.seconds(timeoutSeconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).wait()
        } catch {
            promise.fail(error)
            throw Failure(description: "cannot reach \(host):\(port): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: "0")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(timeoutSeconds)) {
            promise.fail(Failure(description: "no answer from \(host):\(port) within \(timeoutSeconds) s"))
        }
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        do { return try promise.futureResult.wait() } catch let failure as Failure { throw failure } catch {
            throw Failure(description: "\(host):\(port): \(error)")
        }
    }
}

extension ControlClient {
    /// Sends an operator's kill or reset to the engine at `host:port` with its admin token, then
    /// waits (up to `confirmSeconds`) until `GET /risk` shows it applied; returns that answer.
    /// Throws when the engine cannot be reached, refuses (the message has its HTTP status and
    /// reason) or does not confirm in time.
    public static func killSwitch(
        _ action: AdminAction, host: String, port: Int, token: String, confirmSeconds: Int = 5
    ) throws(Failure) -> String {
        let answer = try send(
            .POST, host: host, port: port, path: "/\(action)", headers: [("Authorization", "Bearer \(token)")])
        guard answer.status == 200 else {
            throw Failure(description: "the engine refused \(action) (HTTP \(answer.status)): \(answer.body)")
        }
        let wanted = "\"tripped\":\(action == .kill)"
        for _ in 0..<(confirmSeconds * 10) {
            let risk = try send(.GET, host: host, port: port, path: "/risk")
            if risk.status == 200, risk.body.contains(wanted) { return risk.body }
            usleep(100_000)
        }
        throw Failure(
            description:
                "\(action) was journaled but the engine did not show it applied within \(confirmSeconds) s (GET /risk)")
    }
}

/// Collects one response's status and body, then completes the promise.
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<ControlClient.Response>
    var status = 0
    var headers: [String: String] = [:]
    var body = ByteBuffer()

    init(promise: EventLoopPromise<ControlClient.Response>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            for (name, value) in head.headers { headers[name.lowercased()] = value }
        case .body(var part): body.writeBuffer(&part)
        case .end:
            promise.succeed(ControlClient.Response(status: status, body: String(buffer: body), headers: headers))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ControlClient.Failure(description: "the connection closed before an answer"))
    }
}
