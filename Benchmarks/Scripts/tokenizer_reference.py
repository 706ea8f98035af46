#!/usr/bin/env python3
"""Reference timings for the TokenizerRatios benchmark: open_clip's SimpleTokenizer and a Hugging Face
`tokenizers` CLIP BPE tokenizer built from the same vocabulary file (configured as transformers'
CLIPConverter builds CLIPTokenizerFast: NFC, whitespace collapse, lower case, CLIP's split regex, byte-level
BPE with the `</w>` suffix; no hub download). Prints one JSON object on stdout.

    python tokenizer_reference.py --captions coco_val2017_captions.tsv.gz --vocab bpe_simple_vocab_16e6.txt.gz
        [--warmup N] [--reps N]

Captions/s are medians over repetitions after warm-up, one thread (RAYON_NUM_THREADS=1 for `tokenizers`, and
`encode` called caption by caption; `encode_batch` on one thread is reported too). The word caches of both
tokenizers are warm after the warm-up, as the Swift tokenizer's are.
"""
import argparse
import gzip
import json
import os
import statistics
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def hf_clip_tokenizer(vocab_path):
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    lines = gzip.open(vocab_path).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(line.split()) for line in lines]
    alphabet = list(bytes_to_unicode().values())
    tokens = alphabet + [a + "</w>" for a in alphabet] + ["".join(m) for m in merges] + ["<start_of_text>", "<end_of_text>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, continuing_subword_prefix="", end_of_word_suffix="</w>", fuse_unk=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                             behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def median_rate(fn, count, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--captions", required=True)
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    text = gzip.open(args.captions, "rb").read().decode("utf-8")
    captions = [line.split("\t", 2)[2] for line in text.split("\n") if line]
    result = {"captions": len(captions)}

    from open_clip.tokenizer import SimpleTokenizer
    import torch
    torch.set_num_threads(1)
    simple = SimpleTokenizer(bpe_path=args.vocab)
    rate, seconds = median_rate(lambda: [simple.encode(c) for c in captions], len(captions), args.warmup, args.reps)
    result["open_clip_encode"] = {"captions_per_s": rate, "seconds": seconds}
    rate, seconds = median_rate(lambda: simple(captions), len(captions), args.warmup, args.reps)
    result["open_clip_tokenize"] = {"captions_per_s": rate, "seconds": seconds}

    try:
        import tokenizers
        hf = hf_clip_tokenizer(args.vocab)
        rate, seconds = median_rate(lambda: [hf.encode(c) for c in captions], len(captions), args.warmup, args.reps)
        result["hf_encode"] = {"captions_per_s": rate, "seconds": seconds, "version": tokenizers.__version__}
        rate, seconds = median_rate(lambda: hf.encode_batch(captions), len(captions), args.warmup, args.reps)
        result["hf_encode_batch_1thread"] = {"captions_per_s": rate, "seconds": seconds}
        same = sum(hf.encode(c).ids == simple.encode(c) for c in captions)
        result["hf_equal_to_open_clip"] = same
    except ImportError as error:
        result["hf_error"] = str(error)
    print(json.dumps(result))


main()
