import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the language model runs: any server speaking OpenAI's completion API (llama.cpp's server, vLLM,
/// Ollama, ...).
public struct CompletionServer: Sendable, Equatable {
    /// Which endpoint to call.
    public enum Endpoint: String, Sendable, Codable {
        /// `POST /v1/completions` with a raw prompt (the paper's setting).
        case completions
        /// `POST /v1/chat/completions` with the prompt as one user message.
        case chat
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8080` (a trailing `/v1` is accepted).
    public var baseURL: URL
    /// A bearer token, if the server wants one.
    public var apiKey: String?
    /// The model name sent with each request (servers that host one model ignore it).
    public var model: String
    /// The endpoint.
    public var endpoint: Endpoint

    /// Creates a server description.
    /// - Parameters:
    ///   - baseURL: The base URL.
    ///   - apiKey: A bearer token, or nil.
    ///   - model: The model name.
    ///   - endpoint: Completions or chat.
    public init(baseURL: URL, apiKey: String? = nil, model: String = "default", endpoint: Endpoint = .completions) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.endpoint = endpoint
    }

    /// The URL of the endpoint.
    public var endpointURL: URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/v1") { base += "/v1" }
        return URL(string: base + (endpoint == .completions ? "/completions" : "/chat/completions"))!
    }

    /// The URL of the model list, `GET /v1/models`.
    public var modelsURL: URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/v1") { base += "/v1" }
        return URL(string: base + "/models")!
    }
}

/// Sampling settings; the defaults are the paper's (temperature 0.9, top-p 0.95, at most 77 new tokens),
/// stopping at a newline.
public struct SamplingParameters: Sendable, Codable, Equatable {
    /// Softmax temperature.
    public var temperature: Double = 0.9
    /// Nucleus sampling mass.
    public var topP: Double = 0.95
    /// Largest number of generated tokens.
    public var maximumTokens: Int = 77
    /// Stop sequences.
    public var stop: [String] = ["\n"]

    enum CodingKeys: String, CodingKey {
        case temperature, topP = "top_p", maximumTokens = "max_tokens", stop
    }

    /// The paper's defaults.
    public init() {}
}

/// A failure talking to the completion server.
public enum CompletionClientError: Error, CustomStringConvertible, Equatable {
    /// No connection could be made (server down, wrong port, DNS).
    case unreachable(url: String, detail: String)
    /// The request took longer than the timeout.
    case timedOut(url: String, seconds: Double)
    /// The server answered with an HTTP error status.
    case httpStatus(url: String, status: Int, body: String)
    /// The server's answer is not the JSON the API specifies.
    case malformedResponse(url: String, detail: String)

    /// A readable message.
    public var description: String {
        switch self {
        case .unreachable(let url, let detail): return "\(url): server unreachable (\(detail)); is the LLM server running?"
        case .timedOut(let url, let seconds): return "\(url): no answer within \(seconds) s"
        case .httpStatus(let url, let status, let body): return "\(url): HTTP \(status): \(body.prefix(200))"
        case .malformedResponse(let url, let detail): return "\(url): malformed response: \(detail)"
        }
    }

    /// Whether retrying may help (connection errors, time-outs, 429 and 5xx).
    public var isRetryable: Bool {
        switch self {
        case .unreachable, .timedOut: return true
        case .httpStatus(_, let status, _): return status == 429 || status >= 500
        case .malformedResponse: return false
        }
    }
}

/// An OpenAI-compatible completion client with time-outs and retries with exponential backoff on
/// connection errors, time-outs, 429 and 5xx answers.
public final class CompletionClient: Sendable {
    /// The server.
    public let server: CompletionServer
    /// Seconds before a request is abandoned.
    public let timeout: Double
    /// Retries after the first attempt.
    public let maximumRetries: Int
    /// The first backoff delay in seconds (doubled each retry).
    public let initialBackoff: Double
    let session: URLSession

    /// Creates a client.
    /// - Parameters:
    ///   - server: The server.
    ///   - timeout: Seconds per request.
    ///   - maximumRetries: Retries on retryable failures.
    ///   - initialBackoff: First backoff delay in seconds.
    public init(server: CompletionServer, timeout: Double = 60, maximumRetries: Int = 4, initialBackoff: Double = 0.5) {
        self.server = server
        self.timeout = timeout
        self.maximumRetries = maximumRetries
        self.initialBackoff = initialBackoff
        let configuration = URLSessionConfiguration.ephemeral
        // The client enforces `timeout` itself (see `send`): Foundation on Linux truncates these to whole
        // seconds (0.5 s becomes an immediate time-out), so they only serve as a backstop here.
        configuration.timeoutIntervalForRequest = timeout.rounded(.up) + 1
        configuration.timeoutIntervalForResource = timeout.rounded(.up) + 1
        self.session = URLSession(configuration: configuration)
    }

    /// The text the model generates after `prompt`.
    /// - Parameters:
    ///   - prompt: The full prompt.
    ///   - parameters: Sampling settings.
    ///   - seed: A sampling seed sent to servers that honour it (llama.cpp, vLLM), or nil.
    /// - Throws: `CompletionClientError` after the last retry.
    public func complete(prompt: String, parameters: SamplingParameters = SamplingParameters(), seed: Int? = nil) async throws -> String {
        var attempt = 0
        while true {
            do {
                return try await completeOnce(prompt: prompt, parameters: parameters, seed: seed)
            } catch let error as CompletionClientError where error.isRetryable && attempt < maximumRetries {
                let delay = initialBackoff * Double(1 << attempt) * Double.random(in: 0.75...1.25)
                attempt += 1
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }

    func completeOnce(prompt: String, parameters: SamplingParameters, seed: Int?) async throws -> String {
        let url = server.endpointURL
        var body: [String: Any] = [
            "model": server.model, "temperature": parameters.temperature, "top_p": parameters.topP,
            "max_tokens": parameters.maximumTokens, "stop": parameters.stop,
        ]
        if let seed { body["seed"] = seed }
        switch server.endpoint {
        case .completions: body["prompt"] = prompt
        case .chat: body["messages"] = [["role": "user", "content": prompt]]
        }
        var request = URLRequest(url: url, timeoutInterval: timeout.rounded(.up) + 1)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = server.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        return try parseCompletion(try await send(request, url: url), url: url)
    }

    /// The model ids the server lists at `GET /v1/models` (one attempt, no retries).
    /// - Throws: `CompletionClientError`.
    public func modelIDs() async throws -> [String] {
        let url = server.modelsURL
        var request = URLRequest(url: url, timeoutInterval: timeout.rounded(.up) + 1)
        if let key = server.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let data = try await send(request, url: url)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let list = object["data"] as? [[String: Any]] else {
            throw CompletionClientError.malformedResponse(url: url.absoluteString, detail: "no `data` list in \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return list.compactMap { $0["id"] as? String }
    }

    /// Sends a request and returns the body of a 2xx answer, mapping failures to `CompletionClientError`.
    func send(_ request: URLRequest, url: URL) async throws -> Data {
        let data: Data, status: Int?
        do {
            // Race the request against the time-out, to the sub-second (see `init`).
            (data, status) = try await withThrowingTaskGroup(of: (Data, Int?)?.self) { group in
                group.addTask { [session] in
                    let (data, response) = try await session.data(for: request)
                    return (data, (response as? HTTPURLResponse)?.statusCode)
                }
                group.addTask { [timeout] in
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else { throw URLError(.timedOut) }
                return result
            }
        } catch let error as URLError {
            if error.code == .timedOut { throw CompletionClientError.timedOut(url: url.absoluteString, seconds: timeout) }
            throw CompletionClientError.unreachable(url: url.absoluteString, detail: error.localizedDescription)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw CompletionClientError.unreachable(url: url.absoluteString, detail: "\(error)")
        }
        guard let status else {
            throw CompletionClientError.malformedResponse(url: url.absoluteString, detail: "not an HTTP response")
        }
        guard (200..<300).contains(status) else {
            throw CompletionClientError.httpStatus(url: url.absoluteString, status: status, body: String(decoding: data, as: UTF8.self))
        }
        return data
    }

    /// The generated text in a completion answer.
    func parseCompletion(_ data: Data, url: URL) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let choices = object["choices"] as? [[String: Any]], let first = choices.first
        else {
            throw CompletionClientError.malformedResponse(url: url.absoluteString, detail: "no `choices` list in \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        if server.endpoint == .chat {
            guard let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
                throw CompletionClientError.malformedResponse(url: url.absoluteString, detail: "choice without message.content")
            }
            return content
        }
        guard let text = first["text"] as? String else {
            throw CompletionClientError.malformedResponse(url: url.absoluteString, detail: "choice without text")
        }
        return text
    }
}
