#!/usr/bin/env python3
"""Generates Sources/LaData/Tokenizer/MojibakeTables.swift: the data that the Swift port of ftfy's `fix_encoding`
(Sources/LaData/Tokenizer/MojibakeRepair.swift) needs to match ftfy 6.3.1 exactly.

Run through regenerate.sh beside this file (a throwaway venv with Python 3.11, ftfy 6.3.1 from PyPI), or with such a Python:
    python make-ftfy-tables.py > MojibakeTables.swift

Everything is read from the installed ftfy, never typed in by hand:
- `classMasks`: for every code point in at least one character class of ftfy's badness heuristic
  (`ftfy.badness.BADNESS_RE`) or of its inconsistent-UTF-8 detector (`ftfy.chardata.UTF8_DETECTOR_RE`), a bit mask
  of the classes it belongs to. The classes are the 14 `MOJIBAKE_CATEGORIES`, the bracket expressions of BADNESS_RE
  that are not unions of those categories (taken from the parsed regex at the listed branch and position), and the
  five `UTF8_CLUES` classes (taken from the parsed UTF8_DETECTOR_RE).
- `wordRanges`: the code points above U+007F that Python's `re` matches with `\\w` (BADNESS_RE uses it).
- `charmaps`: each encoding of `CHARMAP_ENCODINGS` in ftfy's order (including the "sloppy" windows codecs of
  `ftfy.bad_codecs`): what bytes 0x80...0xFF and byte 0x1A decode to. The script checks that the characters the
  encoding can encode are exactly those `chardata.possible_encoding` accepts, and that encoding is the inverse of
  decoding.
- `alteredUTF8Branches` and `lossyUTF8Branches`: `chardata.ALTERED_UTF8_RE` and `chardata.LOSSY_UTF8_RE` (used by
  `restore_byte_a0` and `replace_lossy_sequences`) as lists of branches of byte classes; `aGraveWord`: the bytes and
  the excluded continuations of `fixes.A_GRAVE_WORD_RE`.

The algorithm and the matchers (badness, detector, the utf-8-variants decoder) are written by hand in
MojibakeRepair.swift after ftfy 6.3.1, and Tests/LaDataTests/MojibakeRepairTests.swift compares them with ftfy
(Tests/LaDataTests/Resources/make_tokenizer_reference.py writes the expected values). The script stops if any of the
transcribed regexes or functions (TRANSCRIBED: SHA-256 of the pattern, or of the function's source) differs from the
one the Swift code was written against, so that a newer ftfy cannot silently change the meaning.
"""
import hashlib
import inspect
import re
import re._constants as C
import re._parser as P
import sys

import ftfy
import ftfy.badness
import ftfy.bad_codecs  # noqa: F401  registers the sloppy codecs and utf-8-variants
from ftfy import chardata, fixes
from ftfy.bad_codecs import utf8_variants
from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES

# What MojibakeRepair.swift transcribes by hand (regexes and functions of ftfy 6.3.1), with the SHA-256 of the
# pattern or of the function's source when the Swift code was written.
TRANSCRIBED = {
    "ftfy.fix_and_explain": (ftfy.fix_and_explain,
        "a7614bc85159609196b3a042b3400b2cb88a8936dbb626544a1292f8c3a9ec57"),
    "ftfy.fix_encoding_and_explain": (ftfy.fix_encoding_and_explain,
        "e98db423935e6203066a5d401e010648596aca3c4ee3dcfff4bb57c9339ae9bb"),
    "ftfy._fix_encoding_one_step_and_explain": (ftfy._fix_encoding_one_step_and_explain,
        "995180c6d3d524b27245073a2d87342e0ddf9494f00e9adb4d7b4734852587f7"),
    "ftfy.fixes.restore_byte_a0": (fixes.restore_byte_a0,
        "dc675bac53229907a9896fb0c3d69ff7dc2cf2ccb1e0228d2fd92c964c5d1f6b"),
    "ftfy.fixes.replace_lossy_sequences": (fixes.replace_lossy_sequences,
        "2e966939a38690e03668c04e2fbe8424082738fa5f6288e6fd18ca74a3822b6a"),
    "ftfy.fixes.decode_inconsistent_utf8": (fixes.decode_inconsistent_utf8,
        "5e18d562d6edb0be44f4a1b9e288166e2079feda987ad9d9a23de4d410089679"),
    "ftfy.fixes.fix_c1_controls": (fixes.fix_c1_controls,
        "bd4a7af80baa74608e076d47ff744a88ac36e0414120d456191aaabf97de4ef7"),
    "ftfy.badness.is_bad": (ftfy.badness.is_bad,
        "6904699bf7b85320b88d8b32efc6555bdd3ee205ca0acd495aafcc584059546b"),
    "ftfy.badness.BADNESS_RE": (BADNESS_RE,
        "9dcc0f2ac90d9ae3c85eb7b9b2c0b8a8e8126153847c2b30c91a0bb263f3b8c4"),
    "ftfy.chardata.UTF8_DETECTOR_RE": (chardata.UTF8_DETECTOR_RE,
        "f4a491a791e87dd71a7f15bf667741298e705a073e8ed20f1a222098aea0362a"),
    "ftfy.chardata.C1_CONTROL_RE": (chardata.C1_CONTROL_RE,
        "4baf5d32760cf58bbc35196be8552bb7d53ae94d497012a1c3af07d748cd825a"),
    "ftfy.bad_codecs.utf8_variants.SPECIAL_BYTES_RE": (utf8_variants.SPECIAL_BYTES_RE,
        "664dc676187738cbd0526bffe60a1df7e95d2a8c1297c516004f7f510cd30fff"),
    "ftfy.bad_codecs.utf8_variants.CESU8_RE": (utf8_variants.CESU8_RE,
        "af596efc9b93e29e9ce021e6df3966bdb79775a7bbcfe9933f4e1e51b914b0d1"),
    "ftfy.bad_codecs.utf8_variants.IncrementalDecoder": (utf8_variants.IncrementalDecoder,
        "18d238d1d171036348f25d5f8960c547398edf11cf06393c7081b5c301c3d922"),
}

# Swift names of the category bits, in bit order.
CATEGORIES = [
    ("common", "common"), ("c1", "c1"), ("bad", "bad"), ("law", "law"), ("currency", "currency"),
    ("start_punctuation", "startPunctuation"), ("end_punctuation", "endPunctuation"), ("numeric", "numeric"),
    ("kaomoji", "kaomoji"), ("upper_accented", "upperAccented"), ("lower_accented", "lowerAccented"),
    ("upper_common", "upperCommon"), ("lower_common", "lowerCommon"), ("box", "box"),
]

# BADNESS_RE bracket expressions that are not unions of categories: Swift name -> (branch, position) in the parsed
# regex (every listed position must hold the same set; the first is documented).
EXTRA_CLASSES = [
    ("asciiLetter", [(2, 0)], "[a-zA-Z] (branch 2; branch 17 uses its complement)"),
    ("asciiLower", [(12, 0), (31, 0)], "[a-z]"),
    ("oeLigature", [(17, 0)], "[Œœ]"),
    ("aHatLead", [(19, 0)], "[ÂÃÎÐ]"),
    ("aHatFollower", [(19, 1)], "what follows [ÂÃÎÐ] in common windows-1252 2-character mojibake"),
    ("superscriptTwoThree", [(20, 1)], "[²³] after ×"),
    ("arabicLead", [(21, 0), (21, 2)], "[ØÙ]"),
    ("arabicFollower", [(21, 1), (21, 3)], "what follows [ØÙ] in windows-1252 mojibake of Arabic"),
    ("aGraveFollower", [(22, 1)], "[²µ¹¼½¾] after à (South Asian scripts)"),
    ("sqrtFollower", [(23, 1)], "what follows √ in MacRoman mojibake"),
    ("approxFollower", [(24, 1)], "[°¢] after ≈"),
    ("lowQuoteAFollower", [(25, 2)], "what follows ‚Ä in MacRoman mojibake"),
    ("lowQuoteMiddle", [(26, 1)], "[âó] after ‚"),
    ("lowQuoteLast", [(26, 2)], "[àä°ê] after ‚[âó]"),
    ("cyrillicLead", [(28, 0), (28, 2)], "[ВГРС]"),
    ("cyrillicMiddle", [(28, 1)], "between two [ВГРС] (windows-1251 mojibake)"),
    ("latinLetterOrSpace", [(29, 6)], "[A-Za-z ]"),
    ("aTildeFollower", [(30, 1)], "[\\xa0¡] after Ã"),
    ("aHatOrATilde", [(31, 2), (32, 1)], "[ÃÂ]"),
    ("beforeAHat", [(33, 0)], "[a-z.,?!{end_punctuation}] before Â"),
    ("afterAHat", [(33, 2)], "[ {start_punctuation}{end_punctuation}] after Â"),
    ("betaEuroFollower", [(34, 2)], "what follows β€ (windows-1253 mojibake)"),
    ("greekLead", [(35, 0), (35, 2)], "[ΒΓΞΟ]"),
    ("greekMiddle", [(35, 1)], "between two [ΒΓΞΟ] (windows-1253 mojibake)"),
]

DETECTOR_CLASSES = [
    ("utf8ContinuationStrict", "`utf8_continuation_strict` (no match starts right after one)"),
    ("utf8FirstOf2", "`utf8_first_of_2`"),
    ("utf8Continuation", "`utf8_continuation` (includes the space)"),
    ("utf8FirstOf3", "`utf8_first_of_3`"),
    ("utf8FirstOf4", "`utf8_first_of_4`"),
]

ALL_CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def fail(message):
    sys.exit("make-ftfy-tables.py: " + message)


def in_items_set(items):
    """The code points a parsed bracket expression (`IN` items) matches."""
    negate, chars, categories = False, set(), []
    for op, av in items:
        if op == C.NEGATE:
            negate = True
        elif op == C.LITERAL:
            chars.add(av)
        elif op == C.RANGE:
            chars.update(range(av[0], av[1] + 1))
        elif op == C.CATEGORY:
            categories.append(av)
        else:
            fail("unexpected %s in a bracket expression" % op)
    if categories:
        fail("unexpected category in a bracket expression")
    if negate:
        fail("unexpected negated bracket expression")
    return frozenset(chars)


def regex_set(pattern, flags=0):
    compiled = re.compile(pattern, flags)
    return frozenset(c for c in ALL_CODE_POINTS if compiled.fullmatch(chr(c)))


def digest(obj):
    if isinstance(obj, re.Pattern):
        source = obj.pattern if isinstance(obj.pattern, bytes) else obj.pattern.encode("utf-8")
    else:
        source = inspect.getsource(obj).encode("utf-8")
    return hashlib.sha256(source).hexdigest()


def check_transcribed():
    for name, (obj, expected) in TRANSCRIBED.items():
        found = digest(obj)
        if found != expected:
            fail("%s differs from the ftfy 6.3.1 code that MojibakeRepair.swift transcribes (sha256 %s, found %s): "
                 "compare it with the Swift code, update the Swift code, then the digest here" % (name, expected, found))


def badness_branches():
    parsed = P.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
    if len(parsed.data) != 1 or parsed.data[0][0] != C.BRANCH:
        fail("BADNESS_RE is not a single alternation")
    return [list(branch.data) for branch in parsed.data[0][1][1]]


def detector_sets():
    """UTF8_DETECTOR_RE = (?<![strict]) ([first2][cont] | [first3][cont]{2} | [first4][cont]{3})+"""
    data = P.parse(chardata.UTF8_DETECTOR_RE.pattern, chardata.UTF8_DETECTOR_RE.flags).data
    (op0, (direction, lookbehind)), (op1, (low, high, body)) = data
    assert op0 == C.ASSERT_NOT and direction == -1 and op1 == C.MAX_REPEAT and low == 1
    strict = in_items_set(lookbehind[0][1])
    (sub_op, (_, _, _, group)), = list(body)
    (branch_op, (_, branches)), = list(group)
    assert sub_op == C.SUBPATTERN and branch_op == C.BRANCH and len(branches) == 3
    firsts, continuation = [], None
    for count, branch in enumerate(branches, start=1):
        items = list(branch.data)
        firsts.append(in_items_set(items[0][1]))
        if count == 1:
            cont = in_items_set(items[1][1])
        else:
            op, (lo, hi, rep) = items[1]
            assert op == C.MAX_REPEAT and lo == hi == count
            cont = in_items_set(list(rep)[0][1])
        if continuation is not None and cont != continuation:
            fail("UTF8_DETECTOR_RE uses different continuation classes")
        continuation = cont
    return {"utf8ContinuationStrict": strict, "utf8FirstOf2": firsts[0], "utf8Continuation": continuation,
            "utf8FirstOf3": firsts[1], "utf8FirstOf4": firsts[2]}


def byte_branches(regex):
    """A bytes regex that is an alternation of fixed sequences of byte classes, as lists of byte sets."""
    parsed = P.parse(regex.pattern, regex.flags)
    if len(parsed.data) == 1 and parsed.data[0][0] == C.BRANCH:
        branches = parsed.data[0][1][1]
    else:
        branches = [parsed]
    out = []
    for branch in branches:
        seq = []
        for op, av in branch.data:
            if op == C.LITERAL:
                seq.append(frozenset([av]))
            elif op == C.IN:
                seq.append(in_items_set(av))
            else:
                fail("unexpected %s in %r" % (op, regex.pattern))
        out.append(seq)
    return out


def ranges_of(codepoints):
    values = sorted(codepoints)
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append((start, v))
            start = None
    return out


def byte_class_swift(s):
    return "ByteClass(%s)" % ", ".join("0x%02X...0x%02X" % r for r in ranges_of(s))


def wrapped(items, indent=8, width=116):
    """Comma-terminated items, as many per line as fit in `width` columns."""
    lines, line = [], ""
    for item in items:
        if line and indent + len(line) + len(item) + 2 > width:
            lines.append(line.rstrip())
            line = ""
        line += item + ", "
    if line:
        lines.append(line.rstrip())
    return "".join(" " * indent + l + "\n" for l in lines)


def main():
    check_transcribed()
    w = sys.stdout.write
    w("// Generated by Sources/LaData/Tokenizer/Generated/make-ftfy-tables.py (Python %s, ftfy %s). Do not edit.\n"
      % (sys.version.split()[0], ftfy.__version__))
    w("// Regenerate: Sources/LaData/Tokenizer/Generated/regenerate.sh\n\n")
    w("/// Data for `MojibakeRepair` (ftfy's `fix_encoding`), read from ftfy %s.\nenum MojibakeTables {\n"
      % ftfy.__version__)

    # Character classes.
    classes = []  # (swift name, doc, set)
    for key, name in CATEGORIES:
        classes.append((name, "`MOJIBAKE_CATEGORIES[\"%s\"]`" % key, regex_set("[%s]" % MOJIBAKE_CATEGORIES[key])))
    if set(MOJIBAKE_CATEGORIES) != {k for k, _ in CATEGORIES}:
        fail("MOJIBAKE_CATEGORIES has other categories: %s" % sorted(MOJIBAKE_CATEGORIES))
    branches = badness_branches()
    if len(branches) != 37:
        fail("BADNESS_RE has %d branches, not 37" % len(branches))
    for name, positions, doc in EXTRA_CLASSES:
        sets = []
        for b, p in positions:
            op, av = branches[b][p]
            if op != C.IN:
                fail("BADNESS_RE branch %d position %d is not a bracket expression" % (b, p))
            sets.append(in_items_set(av))
        if any(s != sets[0] for s in sets):
            fail("BADNESS_RE positions %s differ" % positions)
        classes.append((name, "BADNESS_RE %s, branch %d position %d" % (doc, positions[0][0], positions[0][1]), sets[0]))
    detector = detector_sets()
    for name, doc in DETECTOR_CLASSES:
        classes.append((name, "UTF8_DETECTOR_RE: %s" % doc, detector[name]))
    if len(classes) > 64:
        fail("more than 64 classes")

    masks = {}
    for bit, (_, _, s) in enumerate(classes):
        for c in s:
            masks[c] = masks.get(c, 0) | (1 << bit)
    # MojibakeRepair.isBad skips positions whose character is in no class (and is not whitespace): every branch
    # that starts with a literal character must start with a classified one.
    for number, branch in enumerate(branches):
        op, av = branch[0]
        if op == C.LITERAL and av not in masks:
            fail("BADNESS_RE branch %d starts with U+%04X, which is in no class" % (number, av))

    w("    // MARK: Character classes (bits of `classMasks`)\n\n")
    for bit, (name, doc, _) in enumerate(classes):
        w("    /// %s.\n    static let %s: UInt64 = 1 << %d\n" % (doc, name, bit))
    w("\n    /// Every code point in at least one class, with its class bits, sorted by code point.\n")
    w("    static let classMasks: [(UInt32, UInt64)] = [\n")
    w(wrapped(["(0x%04X, 0x%X)" % (c, masks[c]) for c in sorted(masks)]))
    w("    ]\n\n")

    word = regex_set(r"\w")
    if word & set(range(0x80)) != set(map(ord, "0123456789_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")):
        fail("unexpected ASCII \\w")
    w("    /// Python's `re` `\\w` (str patterns) above U+007F (Python %s).\n" % sys.version.split()[0])
    w("    static let wordRanges: [ClosedRange<UInt32>] = [\n")
    w(wrapped(["0x%X...0x%X" % r for r in ranges_of(c for c in word if c >= 0x80)]))
    w("    ]\n\n")

    # Charmaps.
    w("    // MARK: Single-byte encodings\n\n")
    w("    /// `chardata.CHARMAP_ENCODINGS` in ftfy's order: name, whether it is a sloppy codec, what bytes 0x80...0xFF\n")
    w("    /// decode to, and what byte 0x1A decodes to (U+FFFD in the sloppy codecs, where it stands for lost bytes).\n")
    w("    static let charmaps: [(name: String, sloppy: Bool, byte1A: UInt32, high: [UInt32])] = [\n")
    for enc in chardata.CHARMAP_ENCODINGS:
        high = [ord(bytes([b]).decode(enc)) for b in range(0x80, 0x100)]
        sub = ord(b"\x1a".decode(enc))
        for b in range(0x80):
            if b != 0x1A and bytes([b]).decode(enc) != chr(b):
                fail("%s does not decode the ASCII byte %02X to itself" % (enc, b))
        decode = {b: chr(high[b - 0x80]) for b in range(0x80, 0x100)}
        decode[0x1A] = chr(sub)
        for b in range(0x80):
            if b != 0x1A:
                decode[b] = chr(b)
        if len(set(decode.values())) != len(decode):
            fail("%s decodes two bytes to the same character" % enc)
        possible = frozenset(c for c in ALL_CODE_POINTS if chardata.possible_encoding(chr(c), enc))
        if possible != frozenset(ord(ch) for ch in decode.values()):
            fail("%s: possible_encoding accepts other characters than the decoding table" % enc)
        for b, ch in decode.items():
            if ch.encode(enc) != bytes([b]):
                fail("%s: encoding %r does not give byte %02X" % (enc, ch, b))
        w('        (name: "%s", sloppy: %s, byte1A: 0x%X,\n' % (enc, "true" if enc.startswith("sloppy") else "false", sub))
        w("         high: [\n%s         ]),\n" % wrapped(["0x%X" % c for c in high], indent=12))
    w("    ]\n\n")

    # Byte regexes.
    w("    // MARK: Byte patterns\n\n")
    for name, regex, doc in [
        ("alteredUTF8Branches", chardata.ALTERED_UTF8_RE,
         "`chardata.ALTERED_UTF8_RE`: UTF-8 sequences in which byte 0xA0 became a space"),
        ("lossyUTF8Branches", chardata.LOSSY_UTF8_RE,
         "`chardata.LOSSY_UTF8_RE`: UTF-8 sequences in which bytes became 0x1A (U+FFFD in a sloppy codec) or '?'"),
    ]:
        w("    /// %s;\n    /// one array of byte classes per branch, in the regex's order.\n" % doc)
        w("    static let %s: [[ByteClass]] = [\n" % name)
        for seq in byte_branches(regex):
            w("        [%s],\n" % ", ".join(byte_class_swift(s) for s in seq))
        w("    ]\n\n")
    data = P.parse(fixes.A_GRAVE_WORD_RE.pattern, fixes.A_GRAVE_WORD_RE.flags).data
    prefix = []
    for op, av in data[:-1]:
        assert op == C.LITERAL
        prefix.append(av)
    op, (direction, body) = data[-1]
    assert op == C.ASSERT_NOT and direction == 1
    (branch_op, (_, words)), = list(body)
    assert branch_op == C.BRANCH
    excluded = []
    for word_branch in words:
        items = list(word_branch.data)
        assert all(o == C.LITERAL for o, _ in items)
        excluded.append([v for _, v in items])
    w("    /// `fixes.A_GRAVE_WORD_RE`: these bytes (\"Ã \"), unless followed by one of `aGraveWordExclusions`,\n")
    w("    /// become 0xC3 0xA0 0x20 in `restore_byte_a0`.\n")
    w("    static let aGraveWord: [UInt8] = [%s]\n" % ", ".join("0x%02X" % b for b in prefix))
    w("    static let aGraveWordExclusions: [[UInt8]] = [%s]\n" % ", ".join(
        "[%s]" % ", ".join("0x%02X" % b for b in e) for e in excluded))
    w("}\n")


main()
