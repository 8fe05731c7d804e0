#!/usr/bin/env python3
"""Writes Tests/XMoEDataTests/Tokenizer/Fixtures/gpt2_cases.json: texts and their GPT-2 ids.

Two independent implementations must agree on every case before it is written:
  1. Hugging Face `tokenizers` (Rust): BPE from data/gpt2/vocab.json + merges.txt with the
     ByteLevel pre-tokenizer (add_prefix_space=False, GPT-2 regex) — the GPT2TokenizerFast setup,
     without special tokens, so `<|endoftext|>` in text is ordinary text as in Megatron's
     legacy GPT2BPETokenizer.
  2. OpenAI's GPT-2 encoder algorithm (the one Megatron's gpt2_tokenization.py uses), re-written
     here in a few lines over the `regex` module.
A disagreement aborts the script (none is expected for the characters used here; the two only
differ on code points assigned in recent Unicode versions, which the cases avoid).

Usage: pip install tokenizers==0.23.3 regex; python3 data/gpt2/make_tokenizer_fixture.py
"""
import json
import os
import random

import regex
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "Tests", "XMoEDataTests", "Tokenizer", "Fixtures", "gpt2_cases.json")
VOCAB, MERGES = os.path.join(HERE, "vocab.json"), os.path.join(HERE, "merges.txt")


def hf_tokenizer():
    tok = Tokenizer(models.BPE.from_file(VOCAB, MERGES))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


class ReferenceGPT2:
    """OpenAI's GPT-2 encoder algorithm (byte→unicode map, regex pieces, ranked BPE)."""

    PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self):
        with open(VOCAB, encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(MERGES, encoding="utf-8") as f:
            lines = f.read().split("\n")[1:-1]
        self.ranks = {tuple(line.split(" ")): i for i, line in enumerate(lines)}
        printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
        chars, extra = {}, 0
        for b in range(256):
            if b in printable:
                chars[b] = chr(b)
            else:
                chars[b] = chr(0x100 + extra)
                extra += 1
        self.byte_chars = chars

    def bpe(self, token):
        word = list(token)
        while len(word) > 1:
            pairs = [(word[i], word[i + 1]) for i in range(len(word) - 1)]
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def encode(self, text):
        ids = []
        for piece in self.PATTERN.findall(text):
            token = "".join(self.byte_chars[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token))
        return ids


FIXED_CASES = [
    # Golden vectors of the reference notes (megatron-data.md §4.2).
    "Hello world", " Hello  world\n", "It's 12345 o'clock, we'LL see!", "a  b\tc\n\nd ",
    "naïve café 東京 🚀", "\u00a0x", "x\u0301",
    # Empty and trivial.
    "", " ", "a", "\n", "'", "''", "'s", "'S",
    # Contractions, lower and upper case, and near misses.
    "I'm sure you're right, they've said we'll go, he'd know, it's hers, don't.",
    "I'M SURE YOU'RE RIGHT, THEY'VE SAID WE'LL GO, HE'D KNOW, IT'S HERS, DON'T.",
    "rock'n'roll o'er 'tis 'twas ma'am y'all ''s '''re 'x 're're 'lll 'ss",
    "it’s curly ’s and ‘quoted’",
    # <|endoftext|> is literal text.
    "<|endoftext|>", "first doc<|endoftext|>second doc", " <|endoftext|> \n<|endoftext|><|endoftext|>",
    # Whitespace runs.
    "a b  c   d    e", "trailing   ", "   leading", "tabs\t\tand\t mixed \t ", "\t\t\tx",
    "line\nline\n\nline\n\n\n", "crlf\r\nline\r\n\r\nend\r\n", "\r\r\n\n\r", " \n \n ",
    "\u2028\u2029\u0085\u000b\u000c", "nbsp\u00a0\u00a0x\u2003y\u3000z\u202fw\u205fv",
    " " * 40, "x" + " " * 37 + "y", "\n" * 17 + "z",
    # Digits and numbers.
    "0", "42", "3.14159", "1,000,000", "-273.15°C", "2024-01-31T12:34:56Z",
    "12345678901234567890123456789012345678901234567890", "Call 555-0100 or +1 (800) 123-4567.",
    "½ ¾ ² ³ ⁴ ① Ⅻ ٣٤٥ ४२ ໓ 𝟘𝟙", "v1.2.3-rc4 0x1F 1e-9 6.02e23",
    # Punctuation runs.
    "!!!???...", "Wait... what?!", "--- *** ### @@@ $$$ %%% ^^^ &&&", "(((nested)))[[x]]{{y}}",
    "a->b=>c<=d!=e==f", "«quotes» „German“ “English” 「日本」", "foo.bar@example.com https://x.org/a?b=c&d=e#f",
    "`code` ~tilde~ |pipe| \\back\\slash/", "…—–·•†‡§¶",
    # Emoji: simple, ZWJ sequences, skin tones, flags, keycaps, variation selectors.
    "😀😃😄", "👍 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿", "👨‍👩‍👧‍👦 family", "🏳️‍🌈 and 🏴‍☠️",
    "🇺🇸🇯🇵🇩🇪", "1️⃣ #️⃣ *️⃣", "❤️ ❤ ☺️ ✌🏽", "text😀text 😀 text", "🧑🏽‍💻 coding",
    # Combining marks and normalization forms.
    "e\u0301 é", "Zalgo: Z\u0336\u0301a\u0337\u0308l\u0338\u0303g\u0335\u0300o", "\u0301\u0302\u0303 start",
    "ñ n\u0303 Å A\u030a", "क्षत्रिय", "ﷺ ﬁ ﬂ", "ǅungla ǈ ǋ",
    # CJK, Korean, Japanese.
    "東京は日本の首都です。", "北京欢迎你", "한국어 텍스트입니다", "ひらがなとカタカナ、漢字。",
    "中文，标点！", "ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ１２３",
    # Right-to-left scripts.
    "مرحبا بالعالم", "السلام عليكم 123", "שלום עולם", "עִבְרִית", "mixed English عربي עברית text",
    # Other scripts.
    "Привет, мир!", "Γειά σου Κόσμε", "नमस्ते दुनिया", "สวัสดีชาวโลก", "ሰላም ዓለም", "Ողջույն", "გამარჯობა",
    # NUL and control characters.
    "\x00", "a\x00b", "\x01\x02\x03\x1b[31mred\x1b[0m", "\x1c\x1d\x1e\x1f sep", "\x7f\x80\x9f\xad",
    "bell\x07 backspace\x08 del\x7f",
    # Supplementary-plane letters and symbols.
    "𝕳𝖊𝖑𝖑𝖔 𝐁𝐨𝐥𝐝", "𠀀𠀁 ext-B", "𓀀 hieroglyph", "🂡 cards ♠♥♦♣",
    # A long paragraph of English.
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age "
    "of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of "
    "Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we "
    "had everything before us, we had nothing before us, we were all going direct to Heaven, we were "
    "all going direct the other way – in short, the period was so far like the present period, that "
    "some of its noisiest authorities insisted on its being received, for good or for evil, in the "
    "superlative degree of comparison only.\n\nThere were a king with a large jaw and a queen with a "
    "plain face, on the throne of England; there were a king with a large jaw and a queen with a fair "
    "face, on the throne of France. In both countries it was clearer than crystal to the lords of the "
    "State preserves of loaves and fishes, that things in general were settled for ever.",
    # Long pieces (more than the merger's heap threshold of 96 bytes).
    "a" * 300, "ab" * 150, "Supercalifragilisticexpialidocious" * 5, "1234567890" * 30, "-=" * 120,
    "x" + "!?" * 80 + "y", "\u3042" * 60, "😀" * 40, " " * 200 + "end", "\t" * 150,
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3 + " and more",
]

# Pools for random strings: mostly long-assigned code points, so Unicode-version skew between
# the implementations cannot change a class.
POOLS = [
    ("ascii_letters", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 10),
    ("digits", "0123456789", 4),
    ("punct", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 5),
    ("space", " ", 8),
    ("whitespace", "\t\n\r\x0b\x0c\u00a0\u0085\u1680\u2000\u2003\u200a\u2028\u2029\u202f\u205f\u3000", 3),
    ("contraction", "sStTrRvVeEmMlLdD'", 3),
    ("latin1", "".join(chr(c) for c in range(0xC0, 0x100)), 3),
    ("latin_ext", "".join(chr(c) for c in range(0x100, 0x180)), 2),
    ("combining", "".join(chr(c) for c in range(0x300, 0x370)), 2),
    ("greek", "".join(chr(c) for c in range(0x391, 0x3CA) if c != 0x3A2), 2),
    ("cyrillic", "".join(chr(c) for c in range(0x410, 0x450)), 2),
    ("hebrew", "".join(chr(c) for c in range(0x5D0, 0x5EB)) + "\u05b0\u05b4\u05bc", 1),
    ("arabic", "".join(chr(c) for c in range(0x621, 0x64B)) + "\u064b\u064e\u0660\u0665", 2),
    ("devanagari", "".join(chr(c) for c in range(0x905, 0x939)) + "\u093e\u094d\u0966", 1),
    ("thai", "".join(chr(c) for c in range(0xE01, 0xE2F)) + "\u0e31\u0e48\u0e50", 1),
    ("cjk", "".join(chr(c) for c in range(0x4E00, 0x4E80)) + "。、，！", 3),
    ("kana", "".join(chr(c) for c in range(0x3041, 0x3097)) + "".join(chr(c) for c in range(0x30A1, 0x30FB)), 2),
    ("hangul", "".join(chr(c) for c in range(0xAC00, 0xAC80)), 1),
    ("numbers_other", "½¾²³¹⁰④⑩Ⅰ Ⅻ٠١٢३४໑௧", 1),
    ("symbols", "©®™°±×÷€£¥§¶•…—–‘’“”«»←→↑↓∀∂∈∑√∞≈≠≤≥★☆♠♥✓✗", 2),
    ("emoji", "".join(chr(c) for c in range(0x1F600, 0x1F650)) + "👍🏻🏽🏿\u200d\ufe0f❤🚀🇺🇸", 2),
    ("controls", "\x00\x01\x02\x07\x08\x1b\x1c\x1d\x1e\x1f\x7f\x80\x9f\xad\u200b\u200c\u200e\ufeff", 1),
    ("math_alnum", "𝐀𝐁𝐂𝐚𝐛𝐜𝟎𝟏𝟐𝕬𝕭", 1),
]


def random_cases(seed=20250823, count=400):
    rng = random.Random(seed)
    weights = [w for _, _, w in POOLS]
    cases = []
    for i in range(count):
        length = rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144])
        # Bias each string towards a few pools so runs of one class are common.
        favourites = rng.sample(range(len(POOLS)), k=rng.randint(1, 4))
        chars = []
        for _ in range(length):
            pool = rng.choice(favourites) if rng.random() < 0.7 else rng.choices(range(len(POOLS)), weights)[0]
            chars.append(rng.choice(POOLS[pool][1]))
        cases.append("".join(chars))
    return cases


def main():
    hf, ref = hf_tokenizer(), ReferenceGPT2()
    cases = []
    texts = FIXED_CASES + random_cases()
    for text in texts:
        hf_ids = hf.encode(text).ids
        ref_ids = ref.encode(text)
        if hf_ids != ref_ids:
            raise SystemExit(f"HF tokenizers and the reference algorithm disagree on {text!r}:\n{hf_ids}\n{ref_ids}")
        if hf.decode(hf_ids) != text:
            raise SystemExit(f"HF decode does not round-trip {text!r}")
        cases.append({"text": text, "ids": hf_ids})
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    header = {
        "generator": "data/gpt2/make_tokenizer_fixture.py",
        "reference": "HF tokenizers ByteLevel BPE == OpenAI GPT-2 encoder algorithm (regex module)",
        "vocab_sha256": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
        "merges_sha256": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    }
    # One case per line keeps the file reviewable and diffs small.
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(json.dumps(header)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    print(f"{OUTPUT}: {len(cases)} cases, {sum(len(c['ids']) for c in cases)} ids")


if __name__ == "__main__":
    main()
