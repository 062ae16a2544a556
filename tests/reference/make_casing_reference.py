#!/usr/bin/python3
"""Python's own case rules, for LayerChop's port of str.capitalize (lm-evaluation-harness's HellaSwag prompt).

    /usr/bin/python3 tests/reference/make_casing_reference.py fixture > tests/Engine.Tests/Evaluation/python-casing.json
    /usr/bin/python3 tests/reference/make_casing_reference.py table   # the C# table in src/Engine/Evaluation/PythonCasing.Tables.cs

`fixture` records, for every assigned code point, what Python's str.title / str.lower give when they change it,
which code points are cased and case-ignorable (probed through the final-sigma rule of str.lower), which are
whitespace to str.strip, and
str.capitalize of sample strings. `table` lists the code points whose title case is not their simple upper
case (SpecialCasing.txt's full title mappings, and UnicodeData's title-case column where it differs from upper
case), the only ones .NET's Rune.ToUpperInvariant cannot give.
"""
import json
import sys
import unicodedata

ASSIGNED = [cp for cp in range(0x110000)
            if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) != "Cn"]


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def hexes(s):
    return " ".join("%04X" % ord(ch) for ch in s)


def final_sigma_after(prefix):
    return (prefix + "\u03a3").lower()[-1] == "\u03c2"


def fixture():
    title = {"%04X" % cp: hexes(chr(cp).title()) for cp in ASSIGNED if chr(cp).title() != chr(cp)}
    lower = {"%04X" % cp: hexes(chr(cp).lower()) for cp in ASSIGNED if chr(cp).lower() != chr(cp)}
    # Final sigma: "A" + c + SIGMA ends in final sigma when c is case-ignorable (skipped, then "A" is cased) or
    # cased; "1" + c + SIGMA only when c is cased and not ignorable.
    ignorable, cased = [], []
    for cp in ASSIGNED:
        c = chr(cp)
        after_letter, after_digit = final_sigma_after("A" + c), final_sigma_after("1" + c)
        if after_letter and not after_digit:
            ignorable.append(cp)
        elif after_digit:
            cased.append(cp)
    samples = ["ﬁsh and chips", "ﬂour", "ßtraße", "ǆemal", "ǉubljana", "ŉ", "İSTANBUL", "iSTANBUL", "ΣΊΣΥΦΟΣ ΚΑΙ ΟΔΥΣΣΕΑΣ",
               "ΌΣ.", "ΑΣ'Σ", "ΑΣ́Α", "Σ", "ΑΣ", "ΑΣ1", "1Σ", "ᾳΣ", "ა ქართული", "ǰ", "\U00010400\U00010428",
               "hELLO wORLD", "", " leading space", "ΟΔΥΣΣΕΑΣ\u0345", "ΑΣ\u00adΒ", "ꭰ cherokee Ꭰ", "ǅ", "ẞ"]
    return {
        "generator": "tests/reference/make_casing_reference.py",
        "python": sys.version.split()[0],
        "unicode": unicodedata.unidata_version,
        "assigned": ranges(ASSIGNED),
        "title": title,
        "lower": lower,
        "case_ignorable": ranges(ignorable),
        "cased_not_ignorable": ranges(cased),
        "space": ranges([cp for cp in ASSIGNED if chr(cp).isspace()]),
        "capitalize": [[s, s.capitalize()] for s in samples],
    }


def table():
    rows = []
    for cp in ASSIGNED:
        c = chr(cp)
        t = c.title()
        if len(t) > 1 or t != c.upper():
            rows.append("        [0x%04X] = \"%s\"," % (cp, "".join("\\u%04X" % ord(ch) if ord(ch) < 0x10000 else "\\U%08X" % ord(ch) for ch in t)))
    return "\n".join(rows)


if sys.argv[1:] == ["fixture"]:
    print(json.dumps(fixture(), ensure_ascii=False, indent=0))
elif sys.argv[1:] == ["table"]:
    print(table())
else:
    sys.exit(__doc__)
