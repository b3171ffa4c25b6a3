#!/usr/bin/env python3
"""gen-evasion.py: writes tests/corpus/evasion/{evasion.txt,expected.tsv}.

A developer's helper (the suite reads only the files it writes).  Each case is one line of
evasion.txt: an ordinary lead-in, then an indicator phrase of one of the nine areas hidden with
one evasion (leetspeak, lookalike Cyrillic or Greek letters, full-width letters, zero-width and
bidi characters, separators inside a word, spaced letters, stretched letters, mixed case, and a
mix).  expected.tsv gives, per line: line number, area, evasion, and the plain words that the
normalised text of the finding's span must contain.
"""
import os
import sys

# area, plain indicator text (as a person would type it), the words the span must contain
# (a phrase as in ward-rules(5): a word ending in * is a prefix),
# and the index of a word to split with separators (a word whose neighbours are not single
# letters, since a run of single letters is read as one word).
CASES = [
    ("grooming", "keep this between us, ok", "keep this between us", 2),
    ("grooming", "don't tell your parents about us", "dont tell your parents about us", 1),
    ("grooming", "send me a pic in bed, just for me", "send me a pic in bed", 5),
    ("exploitation", "I'll give you robux if you go on cam", "robux if you go on cam", 3),
    ("exploitation", "easy money, just come to my flat", "easy money just come to my", 1),
    ("cybersex", "take your top off for me", "take your top off for me", 0),
    ("cybersex", "turn on your cam, just for me", "turn on your cam just for me", 3),
    ("peer-images", "he said he'd share my pictures", "said hed share my pictures", 3),
    ("peer-images", "her private pics are going round the group chat", "private pics are going round", 1),
    ("household-images", "my stepdad takes photos of me in the bath", "my stepdad takes photos of me in the bath", 1),
    ("household-images", "my uncle looks at pictures of children on his phone", "looks at pictures of children", 4),
    ("live-abuse", "men pay to watch me on cam at night", "men pay to watch me", 3),
    ("live-abuse", "they made me do shows on webcam for money", "made me do shows on webcam for money", 4),
    ("abuse-images-sold", "selling pics of kids, dm for prices", "selling pics of kids", 0),
    ("abuse-images-sold", "men pay him for pictures of me", "men pay him for pictures of me", 4),
    ("abuse-images-subject", "pay me or I'll send them to your friends", "pay me or ill send them to", 0),
    ("abuse-images-subject", "I'm being blackmailed by someone online", "im being blackmailed", 2),
    ("adult-content", "best adult video sites", "adult video site*", 2),
    ("adult-content", "how to bypass age verification", "bypass age verification", 3),
]

# Ordinary lines between the cases, long enough (20 words and more) that no rule's window
# reaches from one case to the next, and free of the words that rules use in "unless".
FILLERS = [
    "The weather stayed mild and bright all afternoon, and the long path along the river took about an hour and a half.",
    "Ducks and geese gathered near the old bridge, while the swans drifted slowly past the reeds towards the far bank.",
    "Autumn leaves covered the path in red and gold, and a cold wind came down from the hills as the light faded.",
    "Rain drummed on the roof of the greenhouse, where rows of tomatoes and beans were growing tall in the warm air.",
    "The river was high after the storm, and branches and leaves were carried quickly downstream past the old stone mill.",
    "Clouds raced across the sky above the hills, and the sheep in the valley huddled together near the dry stone wall.",
]

LEADS = ["hey", "so yeah", "ok listen", "lol", "btw", "right", "um", "hiya", "well"]

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
LEET_START = {"a": "@", "s": "$"}  # a digit that starts a word is read as a number
CYRILLIC = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
            "x": "\u0445", "y": "\u0443", "i": "\u0456", "s": "\u0455"}
# (Greek kappa is not confusable with k under UTS #39, so it is left out)
GREEK = {"o": "\u03bf", "i": "\u03b9", "v": "\u03bd", "y": "\u03b3"}
ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u202a"]


def words_map(text, fn):
    out, word = [], []
    for ch in text + " ":
        if ch.isalpha() or ch == "'":
            word.append(ch)
        else:
            if word:
                out.append(fn("".join(word)))
                word = []
            if ch != " " or True:
                out.append(ch)
    return "".join(out)[:-1]


def leet(text):
    def w(word):
        if len(word) < 2:  # a lone "@" has no letter and is dropped, as punctuation
            return word
        r = []
        for i, ch in enumerate(word):
            table = LEET_START if i == 0 else LEET
            r.append(table.get(ch.lower(), ch) if (i % 2 == 1 or i == 0) else ch)
        if not any(c.isalpha() for c in r):  # a word with no letter left is read as a number
            r[-1] = word[-1]
        return "".join(r)
    return words_map(text, w)


def lookalike(table):
    def f(text):
        return "".join(table.get(ch, ch) for ch in text)
    return f


def fullwidth(text):
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" if ch == " " else ch
                   for ch in text)


def zerowidth(text):
    n = [0]

    def w(word):
        if len(word) < 3:
            return word
        n[0] += 1
        z = ZW[n[0] % len(ZW)]
        return word[:1] + z + word[1:-1] + z + word[-1:]
    return words_map(text, w)


def split_word(sep):
    def f(text, idx):
        ws = text.split(" ")
        core = ws[idx].rstrip(",")
        tail = ws[idx][len(core):]
        ws[idx] = sep.join(core) + tail
        return " ".join(ws)
    return f


def stretch(text):
    def w(word):
        r = []
        for ch in word:
            r.append(ch * 4 if ch.lower() in "aeiouy" else ch)
        return "".join(r)
    return words_map(text, w)


def mixcase(text):
    return "".join(ch.upper() if i % 2 else ch.lower() for i, ch in enumerate(text))


def mix(text):
    return zerowidth(mixcase(leet(text)))


EVASIONS = [
    ("leetspeak", leet),
    ("cyrillic", lookalike(CYRILLIC)),
    ("greek", lookalike(GREEK)),
    ("fullwidth", fullwidth),
    ("zero-width", zerowidth),
    ("dots", None),
    ("spaces", None),
    ("stretched", stretch),
    ("mixed-case", mixcase),
    ("mixed", mix),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..",
                                                              "corpus", "evasion")
    lines, rows = [], []
    for ci, (area, text, words, idx) in enumerate(CASES):
        for ei, (name, fn) in enumerate(EVASIONS):
            if name == "dots":
                t = split_word(".")(text, idx)
            elif name == "spaces":
                t = split_word(" ")(text, idx)
            else:
                t = fn(text)
            lead = LEADS[(ci + ei) % len(LEADS)]
            lines.append(FILLERS[len(lines) // 2 % len(FILLERS)])
            lines.append(f"{lead}, {t} x")
            rows.append(f"{len(lines)}\t{area}\t{name}\t{words}")
    with open(os.path.join(out, "evasion.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "expected.tsv"), "w", encoding="utf-8") as f:
        f.write("# line\tarea\tevasion\twords the normalised span must contain\n")
        f.write("\n".join(rows) + "\n")


main()
