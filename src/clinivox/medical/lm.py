"""A word n-gram language model for rescoring: interpolated Kneser-Ney, stored as ARPA.

Drug names and diagnoses in the training text are replaced by class tokens (`<drug>`,
`<diagnosis>`), so the model learns where a drug name goes ("started on <drug> five
milligrams") rather than which names were in the corpus; a name it never saw gets the same
context score as one it did. ARPA is the format KenLM and SRILM write, so a user may bring
an LM built elsewhere.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from clinivox.errors import InputError

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
CLASS_TOKENS = {"drug": "<drug>", "diagnosis": "<diagnosis>"}
_TOKEN = re.compile(r"<[a-z]+>|[a-z0-9]+(?:'[a-z]+)?")
_LOG10 = math.log(10.0)


class LMError(InputError):
    """An LM file or corpus cannot be read."""


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class NGramLM:
    """Backoff n-gram model: `logprob(tokens)` in natural log, sentence markers added."""

    def __init__(self, order: int, probs: dict[tuple[str, ...], float],
                 backoffs: dict[tuple[str, ...], float]) -> None:
        self.order = order
        self.probs = probs  # log10 P(w | h) for seen n-grams
        self.backoffs = backoffs  # log10 backoff weight of a context
        self.unk = probs.get((UNK,), -7.0)

    # -- scoring ---------------------------------------------------------------------------
    def _word_log10(self, context: tuple[str, ...], word: str) -> float:
        backoff = 0.0
        for start in range(len(context) + 1):
            hist = context[start:]
            p = self.probs.get((*hist, word))
            if p is not None:
                return backoff + p
            backoff += self.backoffs.get(hist, 0.0) if hist else 0.0
        return backoff + self.unk

    def logprob(self, tokens: list[str], *, bos: bool = True, eos: bool = True) -> float:
        seq = ([BOS] if bos else []) + tokens + ([EOS] if eos else [])
        total = 0.0
        for i in range(1 if bos else 0, len(seq)):
            ctx = tuple(seq[max(0, i - self.order + 1):i])
            total += self._word_log10(ctx, seq[i])
        return total * _LOG10

    def score_text(self, text: str) -> float:
        return self.logprob(tokenize(text))

    # -- ARPA ------------------------------------------------------------------------------
    def save_arpa(self, path: Path) -> None:
        by_order: dict[int, list[tuple[str, ...]]] = defaultdict(list)
        for ng in self.probs:
            by_order[len(ng)].append(ng)
        opener = gzip.open if path.suffix == ".gz" else open
        path.parent.mkdir(parents=True, exist_ok=True)
        with opener(path, "wt", encoding="utf-8") as f:
            f.write("\\data\\\n")
            for n in range(1, self.order + 1):
                f.write(f"ngram {n}={len(by_order[n])}\n")
            for n in range(1, self.order + 1):
                f.write(f"\n\\{n}-grams:\n")
                for ng in sorted(by_order[n]):
                    line = f"{self.probs[ng]:.6f}\t{' '.join(ng)}"
                    if n < self.order and ng in self.backoffs:
                        line += f"\t{self.backoffs[ng]:.6f}"
                    f.write(line + "\n")
            f.write("\n\\end\\\n")

    @classmethod
    def load_arpa(cls, path: str | Path) -> NGramLM:
        path = Path(path)
        if not path.is_file():
            raise LMError(f"language model not found: {path}")
        opener = gzip.open if path.suffix == ".gz" else open
        probs: dict[tuple[str, ...], float] = {}
        backoffs: dict[tuple[str, ...], float] = {}
        order = 0
        section = 0
        try:
            with opener(path, "rt", encoding="utf-8") as f:
                for lineno, line in enumerate(f, start=1):
                    line = line.strip()
                    if not line:
                        continue
                    m = re.match(r"^\\(\d+)-grams:$", line)
                    if m:
                        section = int(m.group(1))
                        order = max(order, section)
                        continue
                    if line.startswith("\\") or line.startswith("ngram ") or section == 0:
                        continue
                    parts = line.split()
                    if len(parts) < section + 1:
                        raise LMError(f"{path.name}:{lineno}: malformed {section}-gram line")
                    ng = tuple(parts[1:1 + section])
                    probs[ng] = float(parts[0])
                    if len(parts) > section + 1:
                        backoffs[ng] = float(parts[section + 1])
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise LMError(f"{path.name}: not an ARPA language model ({exc})") from None
        if not probs:
            raise LMError(f"{path.name}: no n-grams found (is it an ARPA file?)")
        return cls(order, probs, backoffs)


def train_kneser_ney(sentences: Iterable[list[str]], order: int = 3,
                     discount: float = 0.75) -> NGramLM:
    """Interpolated Kneser-Ney with one discount per order."""
    if order < 1:
        raise ValueError("order must be >= 1")
    counts: list[Counter] = [Counter() for _ in range(order + 1)]
    n_sent = 0
    for toks in sentences:
        if not toks:
            continue
        n_sent += 1
        seq = [BOS, *toks, EOS]
        for n in range(1, order + 1):
            for i in range(len(seq) - n + 1):
                ng = tuple(seq[i:i + n])
                if ng == (BOS,):
                    continue
                counts[n][ng] += 1
    if n_sent == 0:
        raise LMError("the corpus has no sentences")
    # Lower orders use continuation counts: in how many contexts a word or n-gram follows.
    cont: list[Counter] = [Counter() for _ in range(order + 1)]
    for n in range(2, order + 1):
        for ng in counts[n]:
            cont[n - 1][ng[1:]] += 1
    for n in range(1, order):
        for ng, c in counts[n].items():
            if ng[0] == BOS:  # n-grams at sentence start have no left context to count
                cont[n][ng] = max(cont[n][ng], c)
    eff = [counts[order] if n == order else cont[n] for n in range(order + 1)]

    probs: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    # unigrams: discounted continuation counts, leftover mass spread uniformly (incl. <unk>)
    uni_total = sum(eff[1].values())
    vocab = [ng for ng in eff[1]]
    leftover = discount * len(vocab) / uni_total
    uniform = 1.0 / (len(vocab) + 1)
    p1: dict[tuple[str, ...], float] = {}
    for ng in vocab:
        p1[ng] = max(eff[1][ng] - discount, 0) / uni_total + leftover * uniform
    p1[(UNK,)] = leftover * uniform
    p1[(BOS,)] = 0.0
    lower = p1
    for ng, p in p1.items():
        probs[ng] = math.log10(p) if p > 0 else -99.0

    for n in range(2, order + 1):
        ctx_total: Counter = Counter()
        ctx_types: Counter = Counter()
        for ng, c in eff[n].items():
            ctx_total[ng[:-1]] += c
            ctx_types[ng[:-1]] += 1
        cur: dict[tuple[str, ...], float] = {}
        for ng, c in eff[n].items():
            h = ng[:-1]
            gamma = discount * ctx_types[h] / ctx_total[h]
            p_low = lower.get(ng[1:])
            if p_low is None:
                p_low = _backoff_prob(ng[1:], lower, backoffs, p1)
            cur[ng] = max(c - discount, 0) / ctx_total[h] + gamma * p_low
        for h in ctx_total:
            backoffs[h] = math.log10(discount * ctx_types[h] / ctx_total[h])
        for ng, p in cur.items():
            probs[ng] = math.log10(p)
        lower = {**lower, **cur}
    return NGramLM(order, probs, backoffs)


def _backoff_prob(ng, lower, backoffs, p1) -> float:
    w = 1.0
    while len(ng) > 1:
        if ng in lower:
            return w * lower[ng]
        w *= 10 ** backoffs.get(ng[:-1], 0.0)
        ng = ng[1:]
    return w * p1.get(ng, p1[(UNK,)])


# -- corpora ---------------------------------------------------------------------------------
def read_corpus(paths: Iterable[Path]) -> Iterator[str]:
    """Sentences from text files (one per line), Praat TextGrids (interval texts) and JSON
    notes (`note`, `presenting_complaint` fields), walking directories."""
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise LMError(f"corpus path not found: {root}")
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for p in files:
            suffix = p.suffix.lower()
            try:
                if suffix == ".textgrid":
                    text = p.read_text(encoding="utf-8", errors="replace")
                    for m in re.finditer(r'^\s*text = "(.*)"\s*$', text, re.M):
                        if m.group(1).strip():
                            yield m.group(1).replace('""', '"')
                elif suffix == ".json":
                    data = json.loads(p.read_text(encoding="utf-8"))
                    if isinstance(data, dict):
                        for field in ("presenting_complaint", "note"):
                            val = data.get(field)
                            if isinstance(val, str):
                                yield from (s for s in re.split(r"[\n.]+", val) if s.strip())
                elif suffix in (".txt", ".text", ""):
                    yield from (line for line in p.read_text(encoding="utf-8").splitlines()
                                if line.strip())
            except (OSError, UnicodeDecodeError, ValueError):
                raise LMError(f"cannot read corpus file {p.name}") from None


def classed_tokens(text: str, matcher) -> list[str]:
    """Tokens with drug names and diagnoses replaced by their class token."""
    if matcher is None:
        return tokenize(text)
    out: list[str] = []
    pos = 0
    for hit in matcher.find(text):
        cls = CLASS_TOKENS.get(hit.entry.category)
        if cls is None:
            continue
        out.extend(tokenize(text[pos:hit.start]))
        out.append(cls)
        pos = hit.end
    out.extend(tokenize(text[pos:]))
    return out


# -- domain priming --------------------------------------------------------------------------
PROMPT_CATEGORIES = ("symptom", "diagnosis", "drug", "procedure", "lab", "user")
PROMPT_TERMS = 24  # terms in a domain prompt (about 60 tokens)
PROMPT_MIN_SENTENCES = 2  # a term named in fewer corpus sentences is not listed


def domain_terms(texts: Iterable[str], matcher, max_terms: int = PROMPT_TERMS,
                 min_sentences: int = PROMPT_MIN_SENTENCES) -> list[str]:
    """The corpus's most often named clinical terms, most frequent first: what a domain
    prompt lists (`MedicalBiaser.prompt`). Counted once per sentence; one form per
    ingredient, drug class, code or concept (its most frequent); abbreviations and anatomy
    are left out (short, ambiguous, and not what Whisper mishears). Only lexicon terms are
    listed, so a corpus of patient notes puts no patient's words into the prompt."""
    counts: Counter[str] = Counter()
    entry_of = {}
    for text in texts:
        named: dict = {}  # once per sentence
        for h in matcher.find(text):
            if h.entry.category in PROMPT_CATEGORIES:
                named.setdefault(h.term.lower(), h.entry)
        counts.update(named.keys())
        entry_of.update(named)
    out: list[str] = []
    concepts: set[str] = set()
    for form, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < min_sentences or len(out) >= max_terms:
            break
        entry = entry_of[form]
        concept = (entry.code or entry.canonical or entry.term).lower()
        if concept in concepts:
            continue
        concepts.add(concept)
        out.append(form)
    return out


def format_prompt(terms: list[str]) -> str:
    """A term list as a prompt: "Vomiting, cough, fever." ("" for none)."""
    if not terms:
        return ""
    text = ", ".join(terms) + "."
    return text[:1].upper() + text[1:]
