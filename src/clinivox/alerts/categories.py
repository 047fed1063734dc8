"""Critical-alert categories: paraphrase lexicons (regular expressions), numeric rules and
example sentences for semantic matching. Users add categories from a TOML or JSON file.

Patterns are matched case-insensitively on the hypothesis text with apostrophes normalised.
They are written for many wordings of each event and for common ASR spellings
(digits or words, British or American spelling).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clinivox.errors import InputError
from clinivox.nlu.numbers import NUM, parse_number

ICD10_PREFIX = re.compile(r"[A-Za-z][0-9]{2}(?:\.[0-9A-Za-z]{0,4})?")

S = r"(?:he|she|they|patient|pt|it|he's|she's|they're|they've|he has|she has|he is|she is)"


def _number(s: str) -> int | None:
    """Parse '75', 'sixty', 'one thirty' (130), 'a hundred and ten' (110)."""
    value = parse_number(s)
    return None if value is None else int(value)


def _low_systolic(m: re.Match) -> bool:
    systolic = _number(m.group("sys"))
    return systolic is not None and systolic < 90


@dataclass(frozen=True)
class Category:
    name: str
    patterns: tuple[str, ...] = ()  # regular expressions (case-insensitive)
    examples: tuple[str, ...] = ()  # sentences for semantic similarity
    rules: tuple[tuple[str, Callable[[re.Match], bool]], ...] = ()  # regex + predicate
    # ICD-10-CM code prefixes: a problem the NLU finds with such a code alerts
    codes: tuple[str, ...] = ()
    compiled: tuple[re.Pattern, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "compiled", tuple(
                re.compile(p, re.IGNORECASE) for p in self.patterns))
        except re.error as exc:
            raise InputError(f"category {self.name!r}: invalid pattern ({exc})") from None


BUILTIN: list[Category] = [
    Category("cardiac_arrest", codes=('I46', 'I49.0'), patterns=(
        r"\bno (?:signs of life|heart ?beat|cardiac output|output)\b", r"\bheart(?:'s| is)? not beating",
        r"\b(?:flat|flatline|flat line)(?:d)? on the monitor", r"\brhythm is flat", r"\bno heart sounds",
        r"\bcardiac arrest", r"\bcardio ?pulmonary arrest", r"\b(?:has |have |had )?arrested\b",
        r"\bgone into (?:cardiac )?arrest", r"\bin (?:cardiac )?arrest\b",
        r"\bheart (?:has |is |just )?(?:stopped|not beating|isn't beating)",
        r"\bno (?:palpable |central |carotid |femoral )?pulse", r"\bpulseless",
        r"\b(?:lost|losing|can't find|cannot find|can't feel|no longer has) (?:a |the |his |her )?pulse",
        r"\basystol", r"\bv[ -]?fib\b", r"\bventricular fibrillation", r"\bvf arrest",
        r"\bpulseless (?:electrical activity|v[ -]?tach)", r"\bpea arrest",
        r"\b(?:start|starting|begin|commence|continue|do|resume) (?:chest |cardiac )?compressions",
        r"\bchest compressions", r"\b(?:start|starting|begin|do|needs?) cpr\b", r"\bcpr\b",
        r"\bcode blue", r"\bcall (?:a|the) code\b", r"\bcrash call", r"\bflat ?lin",
        r"\b(?:charge|charging) (?:the )?(?:defib|paddles)", r"\bdefibrillat",
        r"\bshock (?:him|her|them) (?:now|again)", r"\bstand clear\b",
    ), examples=(
        "He has gone into cardiac arrest.", "Her heart has stopped.",
        "There is no pulse, start CPR.", "He's in VF, charge the defibrillator.",
        "The patient is pulseless, begin chest compressions.", "Call a code blue.",
    )),
    Category("respiratory_arrest", codes=('R09.2',), patterns=(
        r"\b(?:turning|going|gone|went) blue\b", r"\bcyano(?:sed|tic)\b", r"\bgasping\b",
        r"\bnot (?:getting|moving) (?:any )?air\b", r"\bbreathing (?:has )?stopped", r"\bno air (?:entry|movement)",
        r"\brespiratory rate (?:is |of )?(?:zero|0)\b",
        rf"\b(?:{S} )?(?:is |are |'s )?not breathing", r"\bisn't breathing", r"\baren't breathing",
        r"\b(?:stopped|stopping|stops) breathing", r"\bno (?:spontaneous )?(?:respiratory|breathing) effort",
        r"\bno (?:spontaneous )?(?:respirations|breaths|breath sounds)\b", r"\bapn(?:o)?e(?:a|ic)\b",
        r"\brespiratory arrest", r"\bbag[- ]valve[- ]mask", r"\bbag (?:and )?mask (?:him|her|them)",
        r"\bbvm\b", r"\b(?:start|begin|give) (?:rescue )?(?:breaths|ventilations)",
        r"\bbagging (?:him|her|them|the patient)", r"\bagonal (?:breathing|respirations|gasps)",
        r"\b(?:he|she)'?s? not (?:really )?breathing",
    ), examples=(
        "She's not breathing.", "He has stopped breathing, start bagging him.",
        "The patient is apnoeic with no respiratory effort.", "Get the bag valve mask.",
        "Respiratory arrest, give rescue breaths.",
    )),
    Category("shock", codes=('R57', 'R65.21'), patterns=(
        r"\b(?:blood )?pressure (?:is |'s )?barely (?:registering|there|recordable|palpable)", r"\bbarely (?:a |any )?(?:blood )?pressure",
        r"\bno (?:blood )?pressure\b", r"\bweak (?:and )?thready", r"\bpale,? (?:cold )?and clammy",
        r"\b(?:in|into|going into) (?:septic |hypovolaemic |hypovolemic |cardiogenic )?shock\b",
        r"\b(?:septic|hypovolaemic|hypovolemic|cardiogenic|haemorrhagic|hemorrhagic|distributive) shock",
        r"\bhypotensi(?:ve|on)\b", r"\bperi[- ]?arrest",
        r"\b(?:blood )?pressure(?:'s| is| has)? (?:unrecordable|unreadable|undetectable|unobtainable|not recordable|crashing|tanking|plummeting|bottoming out|in the boots|very low|dangerously low)",
        r"\b(?:blood )?pressure(?:'s| is| has)? (?:dropping|falling|dropped|fallen|going down) (?:fast|quickly|rapidly)",
        r"\b(?:can't|cannot|couldn't|unable to) (?:get|record|read|find) (?:a |any )?(?:blood )?pressure",
        r"\bno recordable (?:blood )?pressure", r"\bbp (?:is )?unrecordable",
        r"\bmottled and cold", r"\bthready pulse",
    ), rules=(
        (rf"\b(?:blood pressure|bp|pressure)(?:'s| is| of| at| now| down to| only)*[ ,]*(?P<sys>{NUM})"
         rf"\s*(?:over|/)\s*(?P<dia>{NUM})", _low_systolic),
        (rf"\bsystolic (?:is |of |at |down to )*(?P<sys>{NUM})\b", _low_systolic),
    ), examples=(
        "Blood pressure is unrecordable.", "She's in septic shock.",
        "He's hypotensive, pressure sixty over thirty and falling.",
        "We can't get a blood pressure on him.",
    )),
    Category("hemorrhage", codes=('R58', 'K92.0', 'K92.2'), patterns=(
        r"\blos(?:ing|t) (?:a |an )?(?:lot|huge amount|large amount|lots|loads|ton|tons|massive amount|litre|liter) of blood",
        r"\b(?:soaked|soaking) (?:through )?(?:in |with )?blood", r"\bbleeding (?:won't|will not) stop", r"\bpool of blood",
        r"\b(?:massive|major|heavy|severe|uncontrolled|catastrophic|profuse|torrential|significant|life[- ]threatening|arterial|brisk|active) (?:bleed|bleeding|blood loss|haemorrhage|hemorrhage)",
        r"\bha?emorrhag(?:e|ing|ic)\b", r"\bbleeding (?:out|heavily|profusely|everywhere|badly|a lot|like crazy|uncontrollably)",
        r"\bbled out\b", r"\bexsanguinat", r"\bpouring (?:with |out )?blood", r"\bblood (?:is )?everywhere",
        r"\blost (?:a lot|lots|loads) of blood", r"\b(?:won't|will not|doesn't|can't) stop bleeding",
        r"\b(?:spurting|gushing) blood", r"\bmassive transfusion", r"\btourniquet",
        r"\bvomiting (?:up )?(?:large amounts of )?blood", r"\bha?ematemesis",
    ), examples=(
        "There's massive bleeding from the wound.", "He's bleeding out.",
        "She has lost a lot of blood and it won't stop.", "Apply a tourniquet, arterial bleed.",
        "Activate the massive transfusion protocol.",
    )),
    Category("anaphylaxis", codes=('T78.2', 'T88.6', 'T80.52'), patterns=(
        r"\b(?:swollen|swelling) (?:face|lips|tongue|throat)", r"\b(?:face|lips?|tongue|throat) (?:is |are )?(?:puffing|blowing) up",
        r"\banaphyla(?:xis|ctic|xes|ctoid)", r"\bana ?phylaxis", r"\ban? ?aphylaxis",
        r"\b(?:severe|serious|bad|major) allergic reaction",
        r"\b(?:throat|tongue|lips?|face|airway) (?:is |are |'s )?(?:swelling|swollen|closing)",
        r"\bangio ?o?edema", r"\b(?:give|giving|draw up|get) (?:him |her )?(?:the |some )?(?:im |intramuscular )?(?:adrenaline|adrenalin|epinephrine|epi ?pen)",
        r"\bepi ?pen", r"\badrenaline (?:now|stat|im|intramuscular)",
    ), examples=(
        "This looks like anaphylaxis.", "Her throat is swelling up after the injection.",
        "Severe allergic reaction, give adrenaline now.", "Get the EpiPen.",
    )),
    Category("stroke", codes=('I60', 'I61', 'I62', 'I63', 'I64'), patterns=(
        r"\b(?:can't|cannot|unable to) (?:speak|talk|get (?:his|her|their) words out)\b",
        r"\b(?:arm|leg|side) (?:is |has gone |went |has )?(?:suddenly )?(?:weak|numb|floppy|paralysed|paralyzed|dead)\b",
        r"\b(?:one side|half) of (?:his|her|their|the) (?:face|body)", r"\bface (?:has )?(?:dropped|fallen)",
        r"\bmouth (?:is )?(?:drooping|lopsided)", r"\blost (?:the )?(?:use|power) (?:of|in) (?:his|her|their)",
        r"(?<!mini-)(?<!mini )\bstroke\b", r"\bcva\b", r"\bcode stroke", r"\bbrain attack",
        r"\bfacial droop", r"\bface (?:is )?drooping", r"\bdroop(?:ing)? (?:of )?(?:the )?(?:face|mouth)",
        r"\b(?:left|right)[- ]sided (?:weakness|numbness|paralysis|hemiparesis)",
        r"\bweakness (?:on|down) (?:the |his |her )?(?:left|right)(?: side)?",
        r"\bslurr(?:ed|ing) (?:speech|(?:his |her |their )?words)", r"\bhemi ?(?:plegi|pares)",
        r"\b(?:can't|cannot) (?:move|lift|feel) (?:his|her|their) (?:left |right )?(?:arm|leg|side)",
        r"\bsudden (?:onset )?(?:weakness|numbness|loss of speech|confusion)", r"\baphasi(?:a|c)",
        r"\bthromboly", r"\bbleed on the brain", r"\b(?:intracranial|brain) (?:bleed|haemorrhage|hemorrhage)",
    ), examples=(
        "New left sided weakness and facial droop, this could be a stroke.",
        "His speech is slurred and he can't lift his right arm.",
        "Call a code stroke.", "Sudden onset weakness down one side of the body.",
    )),
    Category("seizure", codes=('R56', 'G41'), patterns=(
        r"\bshaking all over", r"\b(?:jerking|twitching) (?:all over|uncontrollably|(?:his |her )?(?:arms|legs|limbs))",
        r"\b(?:rhythmic|uncontrollable|uncontrolled) (?:jerking|shaking)", r"\bconvulsion", r"\bpost ?ictal",
        r"\beyes (?:have )?rolled back",
        r"\bseiz(?:ure|ures|ing|ed|es)\b", r"\b(?:he|she|they)(?:'s| is| are) fitting\b",
        r"\bhaving a fit\b", r"\bconvuls", r"\bstatus epilepticus", r"\btonic[- ]clonic",
        r"\bgrand mal", r"\bfitting\b", r"\bepileptic fit",
    ), examples=(
        "He's seizing, time the seizure.", "She is having a fit.",
        "The patient is convulsing, give midazolam.", "Status epilepticus, it won't stop.",
    )),
    Category("airway", codes=('T17', 'R06.1'), patterns=(
        r"\bchoking on\b", r"\b(?:something|food|a (?:sweet|coin|toy)) (?:is )?stuck in (?:his|her|their|the) throat",
        r"\bthroat (?:is )?closing", r"\bsnoring respirations", r"\bneeds? an airway",
        r"\bairway (?:is |'s )?(?:obstructed|blocked|compromised|occluded|closing|at risk|not (?:patent|protected)|swelling)",
        r"\b(?:obstructed|blocked|compromised|occluded|difficult|losing (?:his|her|the)) airway",
        r"\b(?:can't|cannot|unable to) (?:protect|maintain|secure) (?:his |her |their |the )?(?:own )?airway",
        r"\bchoking\b", r"\bstridor", r"\b(?:prepare|ready|get ready|set up|prep) for (?:intubation|rsi|a tube)",
        r"\bintubat", r"\brapid sequence", r"\b(?:tube|intubate) (?:him|her|them)\b",
        r"\bcrico(?:thyroidotomy|thyrotomy)?\b", r"\bsurgical airway", r"\bforeign body in (?:the |his |her )?(?:airway|throat)",
        r"\bgurgling\b", r"\b(?:can't|cannot) (?:get air in|ventilate)",
    ), examples=(
        "His airway is obstructed, prepare for intubation.", "She's choking, there's stridor.",
        "He can't protect his airway, we need to tube him.", "Get ready for a surgical airway.",
    )),
]


def builtin_categories() -> list[Category]:
    return list(BUILTIN)


def load_categories(path: str | Path) -> list[Category]:
    """User categories from TOML or JSON: {name: {phrases, patterns, examples, codes}}.

    `phrases` are literal (matched on word boundaries), `patterns` regular expressions,
    `examples` sentences for semantic matching, `codes` ICD-10-CM code prefixes (a problem
    the NLU finds with such a code, asserted now, alerts). Errors name the category and
    field.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"categories file not found: {path}")
    try:
        raw = path.read_text(encoding="utf-8")
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}"
                         f" ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path.name}: expected a table of categories")
    out = []
    for name, spec in data.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            raise InputError(f"{path.name}: category name {name!r} must be lower_snake_case")
        if not isinstance(spec, dict):
            raise InputError(f"{path.name}: category {name!r} must be a table")
        unknown = set(spec) - {"phrases", "patterns", "examples", "codes"}
        if unknown:
            raise InputError(f"{path.name}: category {name!r}: unknown field(s) "
                             f"{', '.join(sorted(unknown))}")
        fields = {}
        for key in ("phrases", "patterns", "examples", "codes"):
            value = spec.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                      for v in value):
                raise InputError(f"{path.name}: category {name!r}: {key} must be a list of "
                                 "non-empty strings")
            fields[key] = value
        bad = [c for c in fields["codes"] if not ICD10_PREFIX.fullmatch(c.strip())]
        if bad:
            raise InputError(f"{path.name}: category {name!r}: {bad[0]!r} is not an "
                             "ICD-10-CM code or prefix (e.g. A41 or R65.21)")
        if not any(fields.values()):
            raise InputError(f"{path.name}: category {name!r} has no phrases, patterns, "
                             "examples or codes")
        patterns = tuple(r"\b" + re.escape(p.strip()).replace(r"\ ", r"\s+") + r"\b"
                         for p in fields["phrases"]) + tuple(fields["patterns"])
        out.append(Category(name, patterns=patterns, examples=tuple(fields["examples"]),
                            codes=tuple(c.strip().upper() for c in fields["codes"])))
    return out
