// TokenizerRatios: captions/s of LaData's CLIP BPE tokenizer on the 25,014 COCO val2017 captions, on one
// thread and on two, against open_clip's SimpleTokenizer and Hugging Face `tokenizers` (Scripts/tokenizer_reference.py,
// run as a subprocess with the Python of LACLIP_REFERENCE_PYTHON or --python). Target: one Swift thread >= 5x
// `tokenizers` on one thread.
//
//   TokenizerRatios [--warmup N] [--reps N] [--python PATH] [--no-python] [--captions PATH] [--vocab PATH]
//
// Every figure is the median over --reps runs after --warmup runs; word caches are warm after the warm-up
// (the first, cold run of a fresh tokenizer is printed too).
import Foundation
import LaData
import LaTensor

let benchmarksFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let shared = benchmarksFolder.deletingLastPathComponent().appendingPathComponent("../shared/data").standardizedFileURL

var warmup = 2
var reps = 7
var python = ProcessInfo.processInfo.environment["LACLIP_REFERENCE_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
var captionsPath = shared.appendingPathComponent("coco/coco_val2017_captions.tsv.gz").path
var vocabPath = ProcessInfo.processInfo.environment["LACLIP_BPE_VOCAB"]
    ?? shared.appendingPathComponent("clip/bpe_simple_vocab_16e6.txt.gz").path
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--warmup": warmup = Int(arguments.next() ?? "") ?? warmup
    case "--reps": reps = max(1, Int(arguments.next() ?? "") ?? reps)
    case "--python": python = arguments.next()
    case "--no-python": python = nil
    case "--captions": captionsPath = arguments.next() ?? captionsPath
    case "--vocab": vocabPath = arguments.next() ?? vocabPath
    default:
        print("usage: TokenizerRatios [--warmup N] [--reps N] [--python PATH] [--no-python] [--captions PATH] [--vocab PATH]")
        exit(argument == "-h" || argument == "--help" ? 0 : 2)
    }
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

let captions: [String]
do {
    let bytes = try Gzip.readAll(path: captionsPath)
    captions = bytes.split(separator: 0x0A).map { line in
        let fields = line.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
        return String(decoding: fields[2], as: UTF8.self)
    }
} catch {
    print("TokenizerRatios: \(error)")
    exit(1)
}

@MainActor func loadTokenizer() -> BPETokenizer {
    do { return try BPETokenizer(vocabularyURL: URL(fileURLWithPath: vocabPath)) } catch {
        print("TokenizerRatios: \(error)")
        exit(1)
    }
}

let loadStart = now()
let tokenizer = loadTokenizer()
let loadSeconds = now() - loadStart

/// (cold seconds, warm median seconds) of `tokenize` over all captions with `threads` threads.
@MainActor func measure(threads: Int) -> (cold: Double, warm: Double) {
    Threading.setThreadCount(threads)
    let fresh = loadTokenizer()
    var start = now()
    _ = fresh.tokenize(captions)
    let cold = now() - start
    for _ in 0..<warmup { _ = tokenizer.tokenize(captions) }
    var times: [Double] = []
    for _ in 0..<reps {
        start = now()
        _ = tokenizer.tokenize(captions)
        times.append(now() - start)
    }
    return (cold, median(times))
}

let one = measure(threads: 1)
let two = measure(threads: 2)
// encode(_:) caption by caption, one thread, warm.
var encodeTimes: [Double] = []
for _ in 0..<reps {
    let start = now()
    for caption in captions { _ = tokenizer.encode(caption) }
    encodeTimes.append(now() - start)
}
let encodeWarm = median(encodeTimes)

struct Reference {
    var openClipEncode: Double?
    var openClipTokenize: Double?
    var hfEncode: Double?
    var hfBatch: Double?
    var hfVersion: String?
    var hfEqual: Int?
    var note: String?
}

@MainActor func runReference() -> Reference {
    guard let python else { return Reference(note: "reference not run (set LACLIP_REFERENCE_PYTHON or --python)") }
    let script = benchmarksFolder.appendingPathComponent("Scripts/tokenizer_reference.py").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, "--captions", captionsPath, "--vocab", vocabPath]
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch { return Reference(note: "cannot run \(python): \(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return Reference(note: "\(python) \(script) failed (exit \(process.terminationStatus))") }
    func rate(_ key: String) -> Double? { (object[key] as? [String: Any])?["captions_per_s"] as? Double }
    return Reference(
        openClipEncode: rate("open_clip_encode"), openClipTokenize: rate("open_clip_tokenize"), hfEncode: rate("hf_encode"),
        hfBatch: rate("hf_encode_batch_1thread"), hfVersion: (object["hf_encode"] as? [String: Any])?["version"] as? String,
        hfEqual: object["hf_equal_to_open_clip"] as? Int, note: object["hf_error"] as? String)
}

let reference = runReference()
let n = Double(captions.count)
func f(_ x: Double) -> String { String(format: "%.0f", x) }
func r(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "-" }
var load = [Double](repeating: 0, count: 3)
getloadavg(&load, 3)
print("TokenizerRatios: \(captions.count) COCO val2017 captions, vocabulary loaded in \(String(format: "%.0f", loadSeconds * 1000)) ms; "
    + "\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(String(format: "%.2f", load[0])); "
    + "medians of \(reps) runs after \(warmup) warm-up runs")
print("| tokenizer | captions/s | / tokenizers (1 thread) | / open_clip |")
print("| --- | --- | --- | --- |")
let swiftRows: [(String, Double)] = [
    ("LaData `tokenize`, 1 thread, warm cache", n / one.warm),
    ("LaData `tokenize`, 2 threads, warm caches", n / two.warm),
    ("LaData `tokenize`, 1 thread, cold cache (first call)", n / one.cold),
    ("LaData `tokenize`, 2 threads, cold caches (first call)", n / two.cold),
    ("LaData `encode`, caption by caption, 1 thread", n / encodeWarm),
]
for (name, rate) in swiftRows {
    print("| \(name) | \(f(rate)) | \(r(reference.hfEncode.map { rate / $0 })) | \(r(reference.openClipEncode.map { rate / $0 })) |")
}
if let hf = reference.hfEncode {
    print("| HF `tokenizers` \(reference.hfVersion ?? "") `encode`, 1 thread | \(f(hf)) | 1 | \(r(reference.openClipEncode.map { hf / $0 })) |")
}
if let hf = reference.hfBatch { print("| HF `tokenizers` `encode_batch`, 1 thread | \(f(hf)) | \(r(reference.hfEncode.map { hf / $0 })) | - |") }
if let oc = reference.openClipEncode { print("| open_clip `SimpleTokenizer.encode` | \(f(oc)) | \(r(reference.hfEncode.map { oc / $0 })) | 1 |") }
if let oc = reference.openClipTokenize { print("| open_clip `tokenize` (to a torch tensor) | \(f(oc)) | - | - |") }
if let equal = reference.hfEqual { print("HF tokenizers ids equal to open_clip's on \(equal) / \(captions.count) captions") }
if let note = reference.note { print(note) }
if let hf = reference.hfEncode {
    let ratio = n / one.warm / hf
    print("target: 1-thread LaData / tokenizers >= 5: \(String(format: "%.2f", ratio)) \(ratio >= 5 ? "(met)" : "(NOT met)")")
}
