#!/usr/bin/env python3
"""Writes tokenizer_reference.txt.gz (open_clip's SimpleTokenizer ids for the CLIP BPE tokenizer test) and
mojibake_reference.json (ftfy's mojibake repair, for MojibakeRepairTests).

Run from the repository root with the reference venv (open-clip-torch, ftfy 6.3.1):
    /work/venv-ref/bin/python Tests/LaDataTests/Resources/make_tokenizer_reference.py

Inputs (read-only shared data, beside the repository): ../shared/data/coco/coco_val2017_captions.tsv.gz
(image_id<TAB>caption_id<TAB>caption; all 25,014 captions) and ../shared/data/laclip/cc3m_sample_captions.txt
(one caption per line), plus the hand-made edge cases below (EDGE_CASES, which include MOJIBAKE_CASES).

tokenizer_reference.txt.gz: gzip'd UTF-8 text, one line per caption: `set<TAB>text<TAB>ids`, where `ids` are the
space-separated ids of `SimpleTokenizer.encode(text)` (no start/end tokens) and `text` escapes `\\` as `\\\\` and
every control character below U+0020 (and U+007F) as `\\xHH`. Every row must match exactly. The vocabulary is
open_clip's bundled bpe_simple_vocab_16e6.txt.gz (the same file as ../shared/data/clip/).

mojibake_reference.json: `edgeCases` (MOJIBAKE_CASES) and `fuzz` (seeded random mojibake, see `fuzz_cases`) as
`[text, ftfy.fix_encoding(text), ftfy.fix_text(text), open_clip's clean_fn(text)]`; `isBadTrue` / `isBadFalse`:
seeded random strings over the characters ftfy's badness heuristic classifies, split by `ftfy.badness.is_bad`.
"""
import gzip
import json
import os
import random
import re
import sys

import ftfy
import ftfy.bad_codecs  # noqa: F401  registers the sloppy codecs
from ftfy import chardata
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad
from open_clip.tokenizer import SimpleTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared", "data")


def mojibake(text, codec, *, errors="strict"):
    """`text` as UTF-8 bytes wrongly decoded with `codec` (a single-byte codec, possibly one of ftfy's sloppy ones)."""
    return text.encode("utf-8").decode(codec, errors=errors)


def cesu8(text):
    """CESU-8 bytes of `text`: each supplementary character as the UTF-8 of its two UTF-16 surrogates."""
    out = b""
    for c in text:
        if ord(c) > 0xFFFF:
            high, low = 0xD800 + ((ord(c) - 0x10000) >> 10), 0xDC00 + ((ord(c) - 0x10000) & 0x3FF)
            out += (chr(high) + chr(low)).encode("utf-8", "surrogatepass")
        else:
            out += c.encode("utf-8")
    return out


# Mojibake: text that was UTF-8 but was decoded with a single-byte codec, and text that only looks like it.
# ftfy.fix_encoding repairs it (or leaves it); the expected cleaning comes from ftfy and open_clip, never by hand.
MOJIBAKE_CASES = [
    # ftfy's documented examples
    "sÃ³ mojibake", "The Mona Lisa doesnâ€™t have eyebrows.", "Ã©lÃ¨ve", "âœ” No problems", "¯\\_(ã\x83\x84)_/¯",
    # windows-1252 mojibake of curly quotes, dashes, ellipsis, bullets, the euro sign and emoji
    mojibake("“Hello,” she said — it’s 5 € … • done", "sloppy-windows-1252"),
    mojibake("an en dash – and “quotes”", "windows-1252", errors="replace"),  # ” lost to U+FFFD: lossy
    "â€œ like this â€\ufffd", mojibake("a dog 🐶 and a cat 🐱 👍🏽", "sloppy-windows-1252"),
    "price: 5â‚¬ Ã¼ber 50Â°C", "Â¿QuÃ© pasa?",
    # double-encoded text
    "Ã¢â‚¬â„¢", "cafÃƒÂ©", mojibake(mojibake("déjà vu à l'été", "sloppy-windows-1252"), "sloppy-windows-1252"),
    # latin-1 versus windows-1252: C1 controls, and bytes windows-1252 leaves undefined
    mojibake("déjà vu", "latin-1"), mojibake("“smart” quotes", "latin-1"), "\x93smart\x94 quotes", "caf\x81 Ã©\x85",
    # looks like mojibake but ftfy leaves it (or only part of it) alone
    "Ã", "Â", "ÂÂ", "NÃO É POSSÍVEL", "À la carte", "10Â km", "Ω≈ç√ math", "â€", "(╯°□°)╯︵ ┻━┻",
    "Â£5 for a coffee", "the price is £5 ©2020 ®",
    # byte 0xA0 that became a space (restore_byte_a0), and ones that stayed U+00A0
    "voilÃ le travail", "Ã quele dia", "Ã s vezes", "Ã  la", "l'Ã©tÃ© Ã\xa0 Paris", "10Â\xa0km",
    mojibake("déjà vu", "sloppy-windows-1252").replace("\xa0", " "),
    # lossy sequences: U+FFFD or '?' in place of lost bytes
    mojibake("naïve “quotes” ½", "windows-1252", errors="replace"), "cafÃ? au lait",
    # mixed: CJK next to mojibake, mojibake next to correct text (decode_inconsistent_utf8), HTML, several lines
    "日本 Ã©tÃ©", "東京 â€” Tokyo タワー", "Ã©lÃ¨ve et élève", "caf&eacute; Ã©", "<b>Ã©</b> &amp;",
    "first line Ã©\nsecond line â€” ok\n", "MÃ¼ller ＆ Co ﬁne ‘quoted’ ÃœBER",
    # Cyrillic, Greek and Central European codecs, MacRoman and CP437
    "Ð¿Ñ€Ð¸Ð²ÐµÑ‚", mojibake("Привет мир", "sloppy-windows-1251"), mojibake("Ελληνικά", "sloppy-windows-1253"),
    mojibake("Zażółć gęślą", "sloppy-windows-1250"), mojibake("İstanbul", "sloppy-windows-1254"),
    mojibake("ŻÓŁW", "iso-8859-2"), mojibake("naïve café", "macroman"), mojibake("café", "cp437"),
    # ftfy's utf-8-variants: CESU-8 emoji, Java's 0xC0 0x80 null, and its final "\n" quirk (the line break is lost)
    cesu8("😀 ok").decode("latin-1"), "a\xc0\x80b Ã©", "sÃ³ À\n",
]

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
    # mojibake (ftfy.fix_encoding)
    *MOJIBAKE_CASES,
    # long captions
    "a " * 100, "word " * 80, "supercalifragilisticexpialidocious" * 5, "abcdefghij" * 60,
    " ".join(str(i) for i in range(200)), "a photo of a cat sitting on a mat, " * 12, "x" * 1000,
    "🐶" * 50, "日本" * 100,
]

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


def fuzz_cases(rng, count):
    """Seeded random mojibake: phrases from WORDS, some of them UTF-8 decoded with a random codec (sometimes twice),
    sometimes with byte 0xA0 turned into a space or characters lost to U+FFFD or '?', joined by spaces or lines."""
    words = ["café", "naïve", "élève", "Ångström", "straße", "Привет", "мир", "Ελληνικά", "日本語", "한국어", "😀",
             "👍🏽", "“quoted”", "it’s", "—", "–", "…", "€5", "£3", "©", "™", "½", "°C", "\xa0", "à la", "señor",
             "Łódź", "Český", "İstanbul", "a", "the", "photo", "of", "dog", " ", "ü", "ø", "ﬁ", "مرحبا", "œuvre", "×",
             "²", "•", "✔", "±", "µ", "¿", "«", "»", "𝓯", "🐶"]
    codecs = chardata.CHARMAP_ENCODINGS + ["windows-1252", "windows-1251"]

    def garble(text):
        for _ in range(rng.choice([1, 1, 1, 2])):
            try:
                text = text.encode("utf-8").decode(rng.choice(codecs), errors=rng.choice(["strict", "replace"]))
            except UnicodeDecodeError:
                pass
        r = rng.random()
        if r < 0.1:
            text = text.replace("\xa0", " ")
        elif r < 0.2:
            text = "".join("\ufffd" if rng.random() < 0.1 else ch for ch in text)
        elif r < 0.25:
            text = "".join("?" if rng.random() < 0.1 else ch for ch in text)
        return text

    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 5)):
            piece = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
            parts.append(garble(piece) if rng.random() < 0.6 else piece)
        out.append(rng.choice([" ", "", "\n"]).join(parts))
    return out


def badness_strings(rng, count):
    """Seeded random short strings over every character of MOJIBAKE_CATEGORIES, every character the single-byte
    codecs decode to, and some ASCII, whitespace and other characters."""
    chars = set()
    for members in MOJIBAKE_CATEGORIES.values():
        chars |= {chr(c) for c in range(0x10000) if re.match("[%s]" % members, chr(c))}
    for codec in chardata.CHARMAP_ENCODINGS:
        chars |= set(bytes(range(0x80, 0x100)).decode(codec))
    others = list("abcxyzAQZ .,?!\n\t_019") + ["\u3000", "\xa0", "日", "😀", "\u0301", "é"]
    alphabet = sorted(chars) + others * 3
    out, seen = [], set()
    while len(out) < count:
        text = "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 2, 2, 3, 3, 3, 4, 5, 7])))
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def write_mojibake_reference(tokenizer):
    rng = random.Random(20240601)

    def row(text):
        return [text, ftfy.fix_encoding(text), ftfy.fix_text(text), tokenizer.clean_fn(text)]

    strings = badness_strings(rng, 1500)
    sections = [
        ("ftfy", json.dumps(ftfy.__version__)),
        ("edgeCases", [row(t) for t in MOJIBAKE_CASES]),
        ("fuzz", [row(t) for t in fuzz_cases(rng, 300)]),
        ("isBadTrue", [t for t in strings if is_bad(t)]),
        ("isBadFalse", [t for t in strings if not is_bad(t)]),
    ]
    out_path = os.path.join(HERE, "mojibake_reference.json")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("{\n")
        for k, (name, value) in enumerate(sections):
            if isinstance(value, str):
                f.write('"%s": %s' % (name, value))
            else:
                f.write('"%s": [\n%s\n]' % (name, ",\n".join(json.dumps(v, ensure_ascii=False) for v in value)))
            f.write(",\n" if k + 1 < len(sections) else "\n")
        f.write("}\n")
    changed = sum(r[1] != r[0] for r in sections[1][1] + sections[2][1])
    print("wrote %s: %d edge cases, %d fuzz cases (%d changed by fix_encoding), %d is_bad strings, %d bytes"
          % (out_path, len(sections[1][1]), len(sections[2][1]), changed, len(strings), os.path.getsize(out_path)),
          file=sys.stderr)


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
                f.write(("%s\t%s\t%s\n" % (name, escape(text), " ".join(map(str, ids)))).encode("utf-8"))
            counts[name] = len(texts)
    print("wrote %s: %s rows, %d bytes" % (out_path, counts, os.path.getsize(out_path)), file=sys.stderr)
    write_mojibake_reference(tokenizer)


main()
