"""`clinivox lexicon build`, `clinivox lm build` and `clinivox tune`: the medical layer's
offline steps. Each writes into the clinivox cache by default, where `--medical` finds it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clinivox.errors import InputError


def default_path() -> Path:
    from clinivox.medical.vocabulary import default_lexicon_path

    return default_lexicon_path()


def add_parsers(sub) -> None:
    p = sub.add_parser("lexicon", help="the medical lexicon")
    lsub = p.add_subparsers(dest="lexicon_command", required=True, metavar="ACTION")
    b = lsub.add_parser("build", help="build the lexicon from the bundled PyPI data")
    b.add_argument("--out", type=Path, default=None, help="default: the clinivox cache")
    b.add_argument("--vocab", type=Path, action="append", default=[],
                   help="user terms (txt or csv), may be repeated")
    b.set_defaults(func=run_build)

    p = sub.add_parser("lm", help="the domain language model")
    lsub = p.add_subparsers(dest="lm_command", required=True, metavar="ACTION")
    b = lsub.add_parser("build", help="build an n-gram LM (Kneser-Ney, ARPA) from medical text",
                        description="Text files (a sentence a line), Praat TextGrids and JSON "
                        "notes are read; folders are walked. Drug names and diagnoses become "
                        "class tokens. The lexicon's clinical terms are always included.")
    b.add_argument("--corpus", type=Path, action="append", default=[],
                   help="file or folder, may be repeated (e.g. ../shared/data/primock57_text)")
    b.add_argument("--exclude-manifest", type=Path, action="append", default=[],
                   help="leave out sentences that are references in this evaluation manifest")
    b.add_argument("--order", type=int, default=3)
    b.add_argument("--out", type=Path, default=None, help="default: the clinivox cache")
    b.add_argument("--prompt-terms", type=int, default=None, metavar="N",
                   help="also write the domain prompt beside the LM: the corpus's N most "
                   "often named clinical terms (default 24; 0: none). --medical re-decodes "
                   "the words Whisper was unsure of with it as context; --bias-profile "
                   "primed decodes every chunk with it and rescores the beam without it")
    b.add_argument("--model", default="tiny.en",
                   help="model whose vocabulary decides which words are everyday words")
    b.set_defaults(func=run_lm_build)

    t = sub.add_parser("tune", help="grid-search the medical rescoring weights on dev data",
                       description="Decodes each manifest once, then replays the biasing "
                       "decisions for every grid point; saves the best weights as a profile.")
    t.add_argument("--manifest", type=Path, action="append", required=True,
                   help="dev manifest (JSONL with audio, text, terms); may be repeated")
    t.add_argument("--model", default="tiny.en")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument("--lm", type=Path, default=None, help="ARPA LM (default: the cached one)")
    t.add_argument("--vocab", type=Path, action="append", default=[])
    t.add_argument("--out", type=Path, default=None,
                   help="profile path (default: the cache, used by --medical with this kind "
                   "of model: Whisper as released, or a model trained with term prompts)")
    t.add_argument("--profile", default=None,
                   help="profile to start from, whose other settings are kept (default: the "
                   "one --medical uses with --model)")
    t.add_argument("--limit", type=int, default=0, help="use the first N rows of each manifest")
    t.add_argument("--rows", type=_row_range, default=None, metavar="A:B",
                   help="use rows A to B-1 of each manifest (0-based)")
    t.add_argument("--confirm", type=Path, action="append", default=[],
                   help="held-out manifest: the start and chosen profiles are scored on it, "
                   "and it takes no part in the choice; may be repeated")
    t.add_argument("--confirm-rows", type=_row_range, default=None, metavar="A:B",
                   help="use rows A to B-1 of each --confirm manifest")
    t.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="search these values of a weight instead of the default ones "
                   "(am_weight, lm_weight, length_weight, bias, gate_logprob), or add one "
                   "(min_score, rare_penalty, screen_penalty); may be repeated")
    t.add_argument("--insertion-cost", type=float, default=3.0,
                   help="word errors one inserted lexicon term costs on top of its own "
                   "(default 3: a wrong term in a record is worse than a term missed; "
                   "0: plain WER)")
    t.add_argument("--keep-weights", action="store_true",
                   help="no grid search: keep the start profile's weights (with --verifier, "
                   "to train a verifier for them)")
    t.add_argument("--verifier", action="store_true",
                   help="also train a rewrite verifier (a logistic regression over each "
                   "rewrite's evidence; its threshold chosen by cross-validation on the "
                   "tuning rows), saved beside the profile, which then uses it")
    t.add_argument("--table", type=Path, default=None,
                   help="also write every grid point's weights and scores (JSON lines; "
                   "with --confirm, its scores on the held-out rows too)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=run_tune)


def run_build(args: argparse.Namespace) -> int:
    from clinivox.medical.lexicon import build_lexicon, load_user_vocabulary

    lex = build_lexicon()
    for vocab in args.vocab:
        lex.extend(load_user_vocabulary(vocab))
    out = args.out or default_path()
    lex.save(out)
    print(json.dumps({"entries": len(lex), "by_category": lex.by_category(),
                      "path": str(out)}, indent=2))
    return 0


def reference_sentences(manifests: list[Path]) -> set[str]:
    """The normalised sentences an evaluation manifest holds: each row's reference (`text`)
    and, for a corpus built by `clinivox data synth`, the verbatim words its voice spoke
    (`spoken`). A written-style reference ("Okay. And any pain?") no longer equals the
    transcript line it came from ("OK. Um, and any pain?"), so without `spoken` that line
    stayed in the LM. Rows without a reference (an alert stream) add nothing."""
    from clinivox.eval.metrics import normalize_text
    from clinivox.io.manifest import read_manifest

    out: set[str] = set()
    for m in manifests:
        read_manifest(m, require_text=False)  # its rows checked, typed errors
        for line in Path(m).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.update(normalize_text(row[k]) for k in ("text", "spoken")
                           if isinstance(row.get(k), str))
    out.discard("")
    return out


def run_lm_build(args: argparse.Namespace) -> int:
    from clinivox.eval.metrics import normalize_text
    from clinivox.medical.lm import (
        PROMPT_TERMS,
        classed_tokens,
        domain_terms,
        format_prompt,
        read_corpus,
        train_kneser_ney,
    )
    from clinivox.medical.terms import TermMatcher
    from clinivox.medical.vocabulary import (
        default_lm_path,
        domain_prompt_path,
        everyday_words,
        load_lexicon,
    )

    if not 1 <= args.order <= 6:
        raise ValueError("--order must be within [1, 6]")
    n_terms = PROMPT_TERMS if args.prompt_terms is None else args.prompt_terms
    if not 0 <= n_terms <= 100:
        raise ValueError("--prompt-terms must be within [0, 100]")
    lex = load_lexicon()
    # Class tokens exactly as the biaser will read them when it scores a hypothesis
    # (knowledge.matcher): a bare lexicon matcher turned every "all" (Acute lymphoblastic
    # leukemia [ALL]) and "other" (an ICD title's [other]) of the corpus into <diagnosis>,
    # so the LM never saw those words and made <diagnosis> as common as "the".
    everyday = everyday_words(args.model)
    matcher = TermMatcher(lex, everyday)
    excluded = reference_sentences(args.exclude_manifest)
    sentences = []
    kept: list[str] = []
    dropped = 0
    for text in read_corpus(args.corpus):
        if excluded and normalize_text(text) in excluded:
            dropped += 1
            continue
        toks = classed_tokens(text, matcher)
        if toks:
            sentences.append(toks)
            kept.append(text)
    n_corpus = len(sentences)
    # the lexicon's curated clinical words, so the LM knows them even when the corpus does not
    for e in lex.entries:
        if e.language == "en" and e.category not in ("drug", "diagnosis"):
            sentences.append(classed_tokens(e.term, matcher))
    lm = train_kneser_ney(sentences, order=args.order)
    out = args.out or default_lm_path()
    lm.save_arpa(out)
    # The domain prompt: brand names and ICD titles that are everyday words ("all",
    # "school") are not clinical terms here, so they are matched as the biaser matches them.
    terms = domain_terms(kept, matcher, n_terms) \
        if n_terms else []
    prompt_path = domain_prompt_path(out)
    if terms:
        prompt_path.write_text(format_prompt(terms) + "\n", encoding="utf-8")
    else:
        prompt_path.unlink(missing_ok=True)
    print(json.dumps({"sentences": n_corpus, "excluded_sentences": dropped,
                      "lexicon_lines": len(sentences) - n_corpus, "order": args.order,
                      "ngrams": len(lm.probs), "path": str(out),
                      "prompt_terms": len(terms),
                      "prompt": str(prompt_path) if terms else None}, indent=2))
    return 0


def _row_range(text: str) -> tuple[int, int]:
    a, sep, b = text.partition(":")
    try:
        lo, hi = int(a or 0), int(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give rows as A:B") from None
    if not sep or lo < 0 or hi <= lo:
        raise argparse.ArgumentTypeError(f"{text!r}: give rows as A:B with 0 <= A < B")
    return lo, hi


def _tune_rows(manifests: list[Path], rows: tuple[int, int] | None, limit: int = 0) -> list:
    from clinivox.io.manifest import read_manifest

    out = []
    for m in manifests:
        rs = read_manifest(m)
        if rows is not None:
            rs = rs[rows[0]:rows[1]]
        out.extend(rs[:limit] if limit else rs)
    return out


def _write_table(path: Path, table: list, names: list[str], confirm: list, matcher) -> None:
    from clinivox.eval.tuning import score

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for prof, sc in table:
                row = {"weights": {k: getattr(prof, k) for k in names}, "tune": sc.to_dict()}
                if confirm:
                    row["confirm"] = score(confirm, prof, matcher).to_dict()
                f.write(json.dumps(row) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write the table {path.name}: {exc.strerror}") from None


def run_tune(args: argparse.Namespace) -> int:
    from clinivox.asr.recognizer import Recognizer
    from clinivox.asr.types import TranscribeOptions
    from clinivox.biasing import load_biaser
    from clinivox.biasing.build import trained_with_term_prompts
    from clinivox.biasing.profile import default_profile_path
    from clinivox.cli.progress import item_progress
    from clinivox.eval.tuning import collect, grid_search, parse_grid, score

    if args.insertion_cost < 0:
        raise InputError("--insertion-cost must be >= 0")
    grid = parse_grid(args.grid)
    rows = _tune_rows(args.manifest, args.rows, args.limit)
    held = _tune_rows(args.confirm, args.confirm_rows)
    if not rows:
        raise InputError("no rows to tune on (check --rows and --limit)")
    recognizer = Recognizer(args.model, device=args.device)
    biaser = load_biaser(recognizer.engine, vocab_files=args.vocab, lm=args.lm,
                         profile=args.profile)
    matcher = biaser.matcher
    with item_progress(disable=args.quiet or not sys.stderr.isatty()) as progress:
        task = progress.add_task("decoding dev set", total=len(rows) + len(held))
        records = collect(recognizer, biaser, rows, TranscribeOptions(),
                          progress=lambda: progress.advance(task))
        confirm = collect(recognizer, biaser, held, TranscribeOptions(),
                          progress=lambda: progress.advance(task))
    base = biaser.profile
    start = score(records, base, matcher)
    if args.keep_weights:
        best, best_score, table = base, start, [(base, start)]
        grid = {}
    else:
        best, best_score, table = grid_search(records, base, grid, matcher=matcher,
                                              insertion_cost=args.insertion_cost)
    out = args.out or default_profile_path(clinical=trained_with_term_prompts(recognizer.engine))
    backup = None
    if out.is_file():  # the profile `--medical` uses now: kept, so a bad tune can be undone
        import shutil
        import time

        backup = out.with_name(f"{out.stem}.{time.strftime('%Y%m%d-%H%M%S')}.bak{out.suffix}")
        shutil.copy2(out, backup)
        print(f"clinivox: the previous profile is kept as {backup}", file=sys.stderr)
    report: dict = {
        "rows": len(rows), "grid_points": len(table), "insertion_cost": args.insertion_cost,
        "start": start.to_dict(),
        "best": {**best_score.to_dict(),
                 "weights": {k: getattr(best, k) for k in grid}},
    }
    if confirm:
        report["confirm"] = {"rows": len(confirm), "start": score(confirm, base, matcher).to_dict(),
                             "best": score(confirm, best, matcher).to_dict()}
    if args.verifier:
        import dataclasses

        from clinivox.eval.tuning import fit_verifier

        check, fitted = fit_verifier(records, dataclasses.replace(best, verifier=""), matcher,
                                     args.insertion_cost)
        vpath = out.with_name(out.stem + ".verifier.json")
        try:
            check.save(vpath, model=args.model, manifests=[str(m) for m in args.manifest],
                       rows=len(rows))
        except OSError as exc:
            raise InputError(f"cannot write the verifier {vpath.name}: {exc.strerror}") from None
        best = dataclasses.replace(best, verifier=str(vpath.resolve()))
        report["verifier"] = {**fitted, "path": str(vpath),
                              "best": score(records, best, matcher, check).to_dict()}
        if confirm:
            report["confirm"]["best_with_verifier"] = score(confirm, best, matcher,
                                                            check).to_dict()
    if args.table is not None:
        _write_table(args.table, table, list(grid), confirm, matcher)
    best.save(out, dev_manifests=[str(m) for m in args.manifest], dev_rows=len(rows),
              dev_wer=round(best_score.wer, 4), dev_term_recall=round(best_score.term_recall, 4),
              dev_inserted_terms_per_1k_words=round(best_score.inserted_per_1k_words, 2),
              insertion_cost=args.insertion_cost,
              **({"confirm": report["confirm"]} if confirm else {}))
    report.update(profile=str(out), backup=str(backup) if backup else None)
    print(json.dumps(report, indent=2))
    return 0
