#!/usr/bin/env python3
"""Writes tokenizer_reference.txt.gz: open_clip's SimpleTokenizer ids for the CLIP BPE tokenizer test.

Run from the repository root with the reference venv (open-clip-torch, ftfy):
    /work/venv-ref/bin/python Tests/LaDataTests/Resources/make_tokenizer_reference.py

Inputs (read-only shared data, beside the repository): ../shared/data/coco/coco_val2017_captions.tsv.gz
(image_id<TAB>caption_id<TAB>caption; all 25,014 captions) and ../shared/data/laclip/cc3m_sample_captions.txt
(one caption per line), plus the hand-made edge cases below.

Output: gzip'd UTF-8 text, one line per caption: `set<TAB>status<TAB>text<TAB>ids`, where `ids` are the
space-separated ids of `SimpleTokenizer.encode(text)` (no start/end tokens), `text` escapes `\\` as `\\\\` and
every control character below U+0020 (and U+007F) as `\\xHH`, and `status` is `exact` or
`known-difference:<reason>` (see KNOWN_DIFFERENCES). The vocabulary is open_clip's bundled
bpe_simple_vocab_16e6.txt.gz (the same file as ../shared/data/clip/).
"""
import gzip
import os
import sys

import ftfy
from open_clip.tokenizer import SimpleTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared", "data")

EDGE_CASES = [
    # empty and whitespace
    "", " ", "   ", "\t", "\n", "\r\n", " \t\n\r\x0b\x0c ", "\u00a0\u2003\u3000", "\x1c\x1d\x1e\x1f",
    "  leading and trailing  ", "tabs\tand\nnewlines\r\nand\rcarriage\x0creturns", "a\u2028b\u2029c\x85d",
    # accents, composed and decomposed, combining characters
    "café crème brûlée", "cafe\u0301 cre\u0300me", "Ångström résumé naïve façade", "Zoë Saldaña Beyoncé",
    "e\u0301\u0301", "q\u0303 x\u0323\u0307", "\u0301 starts with a combining mark", "a\u0345b", "\u1e9b\u0323",
    "ÀÉÎÕÜ ÇÑ ØÆŒ ß ẞ", "İstanbul ISTANBUL ıi", "ΟΔΟΣ Σ ΣΑΣ σοφός ΌΣΟΣ.", "ǅungla ǈ ǋ",
    # CJK, Korean, Japanese, scripts
    "一只猫坐在桌子上", "東京タワーの写真", "ｶﾀｶﾅ ﾊﾝｶｸ", "한국어 캡션입니다", "ＦＵＬＬ ＷＩＤＴＨ　ｔｅｘｔ１２３！",
    "Привет, мир! Это кошка.", "مرحبا بالعالم ١٢٣", "שלום עולם", "नमस्ते दुनिया", "สวัสดีครับ", "Ελληνικά κείμενα",
    "mixed English 中文 русский العربية 日本語 and 123", "ქართული ენა", "Ꭰ Ꮳ Ᏸ cherokee",
    # emoji and symbols
    "a dog 🐶 and a cat 🐱", "👨‍👩‍👧‍👦 family", "flags 🇺🇸🇫🇷", "thumbs 👍🏽 up", "❤️ love ✨ sparkle",
    "math ∑∫√∞ ≤ ≥ ≠", "currency $5 €10 £3 ¥100 ₹50", "℃ ℉ № ™ © ®", "①②③ ⅣⅫ ½ ¾ ²³",
    "𝓯𝓪𝓷𝓬𝔂 𝕥𝕖𝕩𝕥", "ﬁne ﬂowers ﬀ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ", "\ufeffbom at start", "zero\u200bwidth\u200cjoin\u200dx",
    "\u206adeprecated\u206f controls \ufff9ann\ufffb \ufffc",
    # HTML entities, incl. double and triple escaped
    "fish &amp; chips", "fish &amp;amp; chips", "fish &amp;amp;amp; chips", "&lt;b&gt;bold&lt;/b&gt;",
    "<b>tag</b> &amp; more", "<p>&amp;amp;</p>", "x < y &amp;amp; z", "&quot;quoted&quot; &#39;single&#39;",
    "&#x27;hex&#x27; &#X41; &#65;&#66;", "&copy; 2020 &reg; &trade;", "&nbsp;non&nbsp;breaking&nbsp;",
    "&EACUTE;COLE &eacute;cole &Eacute;", "caf&eacute; cr&egrave;me", "&amp &lt &gt &copy", "&notit; &notin;",
    "this&not that", "&#0; &#1; &#128; &#150; &#x110000; &#xD800; &#99999999999999999999;", "&#59; &#x3b;",
    "&unknown; &; &#; &#x; && &", "&SZLIG; &szlig;", "&ampamp; &amp;lt;3", "AT&T and R&D", "Tom &amp; Jerry&apos;s",
    # digits
    "1234567890", "3.14159 and 2,718", "year 2023, 1st 2nd 3rd 4th", "room 101b", "٣ ٤ ٥ arabic-indic",
    "phone: +1 (555) 123-4567", "10x20cm 5kg 100%",
    # apostrophes and contractions, upper and lower case
    "it's", "IT'S", "It'S", "don't won't can't", "DON'T WON'T CAN'T", "we're they've I'm you'll he'd",
    "WE'RE THEY'VE I'M YOU'LL HE'D", "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D", "rock 'n' roll",
    "the dog's bone's", "it’s curly ‘single’ “double”", "y'all 'twas o'clock", "!!'s ''s '''ll", "'ſ long s",
    "ʼmodifier apostrophe", "it`s backtick", "'",
    # special token strings in the text
    "<start_of_text>", "<end_of_text>", "a <start_of_text> b <end_of_text> c", "<START_OF_TEXT>",
    "<ſtart_of_text>", "<start_of_text", "!<end_of_text>", "<|endoftext|>",
    # punctuation runs
    "hello!!! what??? ...", "a--b__c..d", "$$$ ### @@@", "(parenthesised) [bracketed] {braced}",
    "email@example.com http://example.com/path?q=1&x=2", "😀!!😀", "...", "@#$%^&*()",
    # control characters and terminal escapes
    "bell\x07 null\x00 del\x7f", "\x1b[31mred\x1b[0m text", "\x1b[1;32mbold green\x1b[m", "c1 \x80\x91quoted\x92 \x85",
    # mojibake (ftfy.fix_encoding is not implemented; see KNOWN_DIFFERENCES)
    "sÃ³ mojibake", "The Mona Lisa doesnâ€™t have eyebrows.", "Ã©lÃ¨ve",
    # long captions
    "a " * 100, "word " * 80, "supercalifragilisticexpialidocious" * 5, "abcdefghij" * 60,
    " ".join(str(i) for i in range(200)), "a photo of a cat sitting on a mat, " * 12, "x" * 1000,
    "🐶" * 50, "日本" * 100,
]

# Edge cases whose ids differ from open_clip's, and why. Each is detected, not listed by hand: ftfy's
# `fix_encoding` (mojibake repair) is not implemented by the Swift tokenizer, so any text that it changes is marked.
KNOWN_DIFFERENCES = {
    "mojibake": "ftfy.fix_encoding (mojibake repair) is not implemented",
}


def escape(text):
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02X" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def status(text):
    if ftfy.fix_text(text) != ftfy.fix_text(text, fix_encoding=False):
        return "known-difference:mojibake"
    return "exact"


def main():
    tokenizer = SimpleTokenizer()
    coco_lines = gzip.open(os.path.join(SHARED, "coco", "coco_val2017_captions.tsv.gz"), "rb").read().decode("utf-8")
    coco = [line.split("\t", 2)[2] for line in coco_lines.split("\n") if line]
    cc3m_text = open(os.path.join(SHARED, "laclip", "cc3m_sample_captions.txt"), "rb").read().decode("utf-8")
    cc3m = cc3m_text.split("\n")
    if cc3m and cc3m[-1] == "":
        cc3m.pop()
    sets = [("coco", coco), ("cc3m", cc3m), ("edge", EDGE_CASES)]
    out_path = os.path.join(HERE, "tokenizer_reference.txt.gz")
    counts = {}
    with gzip.GzipFile(out_path, "wb", compresslevel=9, mtime=0) as f:
        for name, texts in sets:
            for text in texts:
                ids = tokenizer.encode(text)
                f.write(("%s\t%s\t%s\t%s\n" % (name, status(text), escape(text), " ".join(map(str, ids)))).encode("utf-8"))
            counts[name] = len(texts)
    marked = sum(status(t) != "exact" for _, texts in sets for t in texts)
    print("wrote %s: %s rows (%d marked known-difference), %d bytes"
          % (out_path, counts, marked, os.path.getsize(out_path)), file=sys.stderr)


main()
