"""Assertions in the manner of ConText (Harkema et al. 2009; medspaCy's rule set is its
descendant): is a finding present, absent, possible, historical, hypothetical, or someone
else's (family)?

Trigger phrases act forwards (a pre-trigger governs the words after it) or backwards (a
post-trigger governs the words before it), within the mention's clause: a scope ends at a
sentence end or a termination word ("but", "however", "although", "except", "apart from",
...). Pseudo-triggers contain a trigger's words but do not trigger ("not only", "no
increase", "not necessarily", "gram negative"): they are removed first. A question ("Any
chest pain?") asserts nothing: hypothetical; a question that asks where, when, which or how
long takes the finding as given ("Where is the pain?") and is judged like a statement, as is
a statement with a question tag ("it's numb, right?"). A conditional reaches further than
the other triggers (15 words). Problems listed one after another share a negation,
conditional, experiencer or doubt (`entities`). In notes, "?" written against a word is a
query ("Imp: ?UTI"): possible. A finding that has resolved or stopped ("rash, now
resolved", "tried ibuprofen") is historical, not absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ASSERTIONS = ("present", "absent", "possible", "historical", "family", "hypothetical")

PSEUDO = ("not only", "not just", "no increase", "no change", "no significant change",
          "not necessarily", "gram negative", "no further",
          "not been able", "without difficulty", "can't rule out", "cannot rule out",
          "could not rule out", "not ruled out", "no doubt", "nothing but",
          "nil of note", "nothing of note", "nil else of note", "nil significant",
          # a recommendation, not doubt: "I think you should be on some antibiotics"
          "i think you should", "i think we should", "i think you need", "i think we need",
          "i think it's worth", "i think it would be", "i think the best",
          "i think using", "i think taking", "i think trying", "i think starting",
          "no harm in",
          # a conditional of manner, not of the finding: "if I'm honest, the pain is worse"
          "if i'm honest", "if i'm being honest", "if i am honest",
          "if that makes sense", "if that's ok", "if that's okay", "if that's alright",
          "if you don't mind", "if you like", "if i remember rightly",
          "if i remember correctly", "if i recall", "as if",
          # a polite request: "Mum, if you can call 999 and say ..."
          "if you can", "if you could", "if you would", "if you wish", "if you'd like",
          "if you want to",
          # what is looked for is the finding's cause; the finding is there ("blood tests to
          # check for other types of causes of joint swelling")
          "check for causes of", "check for other causes of", "check for the cause of",
          "check for other types of causes of", "look for causes of", "look for the cause of",
          "look for a cause of", "test for causes of",
          # a treatment that did not help with a finding: the finding is there ("the cream
          # hasn't helped with the itch")
          "hasn't helped with", "haven't helped with", "didn't help with", "doesn't help with",
          "not helped with", "not helping with", "did not help with", "has not helped with",
          # the cause hedged, not the finding: "I think that's 'cause I'm stressed"
          "i think that's because", "i think that's 'cause", "i think it's because",
          "i think it's 'cause",
          # the clinician's own step, not a condition on a finding: "if I send it to your
          # pharmacy, start the antibiotics today"
          "if i send", "once i send", "when i send")
ABSENT_PRE = ("no", "not", "never", "denies", "denied", "denying", "deny", "without",
              # a denial hedged in conversation (sixth session)
              "wouldn't say", "would not say", "can't say", "cannot say", "couldn't say",
              "haven't noticed", "hasn't noticed", "didn't notice", "not noticed",
              "negative for", "no history of", "no evidence of", "no signs of", "no sign of",
              "absence of", "free of", "ruled out", "rules out", "isn't", "wasn't", "doesn't",
              "didn't", "hasn't", "haven't", "don't", "not having", "no known", "nor",
              "neither", "none", "no longer", "nothing", "unremarkable for",
              "nil",  # "nil" is the negation of British notes ("nil radiation")
              # from medspaCy's shipped English rules
              "lack of", "fails to reveal", "failed to reveal", "no findings to indicate")
ABSENT_POST = ("ruled out", "was ruled out", "has been ruled out", "is negative",
               "was negative", "not present", "unlikely", "is unlikely",
               # from medspaCy's shipped English rules
               "has been negative", "not evident", "is not evident", "are not evident",
               "no longer present")
# doubt put as a question the speaker asks themself: "I wonder whether you have X", "not
# sure if it's X" (uncertainty, not a hypothetical "if"): read as one word, "uncertain"
UNCERTAIN_IF = ("wonder whether", "wonder if", "not sure whether", "not sure if",
                "not certain if", "not certain whether", "unsure whether", "unsure if",
                "don't know if", "don't know whether", "do not know if", "sure if",
                "sure whether", "not saying")
POSSIBLE_PRE = ("uncertain", "possible", "possibly", "potentially", "perhaps", "early signs of",
                "probable", "probably", "likely", "suspected",
                "suspect", "suspicious for", "query", "questionable", "may have", "might have",
                "could have", "could be", "may be", "might be", "rule out", "r/o",
                "concern for", "concerned about", "worried about", "differential",
                "worried that", "concerned that", "scared that", "afraid that", "fear that",
                "must have had", "must have been", "thought it was", "thought it's",
                "thought i had", "suspecting", "suspicion of", "you think", "he thinks",
                "she thinks", "they think",
                "consistent with", "suggestive of", "in keeping with", "think it's",
                "i think", "sounds like", "exclude", "to exclude",
                # an impression hedged: "this seems like bursitis", "looks like eczema"
                "seems like", "seems to be", "looks like", "appears to be",
                "seems to me like", "looks to me like", "sounds to me like",
                "seems to me to be", "looks to me to be",
                "worrisome for", "what must be ruled out is",  # these two: medspaCy's
                # a differential weighed: "we need to think about things like malaria"
                "need to think about", "have to think about", "think about things like",
                # a clinician's provisional conclusion
                "working diagnosis", "provisional diagnosis", "presumptive", "presumed",
                "possibility of",
                # what a test is for is not found yet: "check for things like gout"
                "check for", "checking for", "test for", "testing for", "screen for",
                "screening for", "look for", "looking for", "evaluate for",
                "maybe")
POSSIBLE_POST = ("is possible", "is likely", "is suspected", "is not excluded",
                 "cannot be excluded", "can't be excluded", "or something", "perhaps",
                 "or something like that")
HISTORICAL_PRE = ("history of", "h/o", "previous", "previously", "prior", "past history of",
                  "in the past", "used to have", "years ago", "tried", "had tried",
                  "have tried", "stopped taking", "stopped using", "came off", "come off",
                  # a drug that ended an episode before ("resolved with analgesia")
                  "resolved with", "settled with", "cleared with",
                  # what the patient did or had and does no more (sixth session)
                  "used to get", "used to take", "used to be on", "used to suffer from",
                  "used to suffer with", "used to use", "used to need", "stopped the",
                  "stopped my", "stopped his", "stopped her", "was taken off",
                  "were taken off")
# a finding that was there and is no more (ConText's temporality: it happened, in the past)
RESOLVED = ("resolved", "has resolved", "have resolved", "settled", "has settled",
            "gone away", "went away", "has gone", "have gone", "cleared", "cleared up",
            "stopped", "has stopped", "disappeared")
HISTORICAL_POST = ("years ago", "year ago", "months ago", "month ago", "last year", "in the past",
                   "in past",
                   "as a child", "when i was", "when he was", "when she was", "in childhood",
                   "months back", "years back", "month back", "year back", "until last",
                   "until recently", "up until", "as a kid", "as a teenager", "as a baby",
                   *RESOLVED)
# a relative, as one person or a group: who a finding said after them belongs to
RELATIVES = ("mother", "father", "mum", "mom", "dad", "brother", "sister", "son",
             "daughter", "grandmother", "grandfather", "grandma", "grandpa", "aunt", "auntie",
             # in British and family words (sixth session)
             "grandad", "granddad", "grandpa's", "nan", "nana", "nanna", "gran", "granny",
             "grandparents", "grandparent", "grandson", "granddaughter", "niece", "nephew",
             "stepfather", "stepmother", "stepbrother", "stepsister", "half-brother",
             "half-sister", "twin", "mam", "mummy", "daddy", "father-in-law",
             "mother-in-law", "brother-in-law", "sister-in-law",
             "uncle", "cousin", "sibling", "siblings", "parents", "husband", "wife",
             "partner")
FAMILY_PRE = (*RELATIVES, "family history of", "family history", "fh of", "fh", "fhx",
              "relative", "relatives",
              # "in my family, there's hypothyroidism": the family named as the experiencer
              "in my family", "in our family", "in the family", "my family", "our family",
              "family members", "family member")
FAMILY_POST = ("runs in the family", "runs in my family", "in the family",
               "on my mother's side", "on my father's side")
HYPOTHETICAL_PRE = ("if", "in case", "should you", "should he", "should she", "watch for",
                    "would have", "you'd have", "would get", "you'd get", "would develop",
                    "watch out for", "look out for", "come back if", "return if",
                    "call us if", "let us know if", "unless", "whether", "at risk of",
                    "risk of", "to prevent", "to avoid", "prevention of", "afraid of",
                    "should there",  # medspaCy's
                    # a drug's effects, said of people in general (sixth session)
                    "can cause", "may cause", "might cause", "could cause", "can make you",
                    "may make you", "might make you",
                    "could make you", "can lead to", "may lead to", "could lead to",
                    "side effects such as", "side effects like", "side effect of",
                    # advice on what the patient may do, and treatment said in general
                    "you can take", "you could take", "you can try", "you could try",
                    "you can also take", "you can also try", "you could also try",
                    "you can get", "you can buy", "you could get", "you could buy",
                    "you can use", "you could use", "we can try", "we could try",
                    "worth using", "worth trying", "worth taking", "worth considering",
                    "you may take", "you might want to", "you might want to try",
                    "the treatment for it is", "the treatment for this is",
                    "the treatment for that is", "the treatment is",
                    # a treatment only considered, or held back for a condition (a British
                    # "delayed script" is started only if the illness does not settle)
                    "consider prescribing", "consider starting", "consider giving",
                    "consider trying", "consider a trial of", "delayed script for",
                    "delayed script of", "delayed prescription for", "delayed prescription of",
                    "back-up prescription for", "backup prescription for",
                    # a British note's safety-netting: what to come back for, not had
                    "safety netted re", "safety-netted re", "safety netting re",
                    "safety-netting re", "safety netted for", "safety-netted for",
                    "safety net advice re", "safety-net advice re", "safety netted about",
                    "safety-netted about", "warned re", "warned about", "red flags re",
                    "red flags such as", "red flag symptoms such as")
# advice said after the treatment: "Paracetamol would be advisable", "cetirizine might help"
HYPOTHETICAL_POST = ("would be advisable", "would be a good idea", "would be worth trying",
                     "might help", "may help", "could help", "can help",
                     # what a finding does in general: "stress can really affect your
                     # immune system"
                     "can affect", "can really affect", "can cause", "can trigger")
# ... and after "which": "things like loratadine or piriton, which can help the itch"
ADVICE_AFTER = re.compile(r"^[\s,]*(?:(?:or|and)\s+[\w-]+[\s,]*)*which\s+(?:can|may|might|"
                          r"could|should|will|would)\s+(?:\w+\s+)?help\b", re.IGNORECASE)
# Weakest of all: a mention that is asked about or talked about in general, not asserted of
# this patient. Conversational transcripts often lack the question mark ("any chest pain",
# "have you ever had a seizure"), and "denies any chest pain" must stay absent, so these
# count only when no other trigger claims the scope.
GENERIC_PRE = ("any", "ever", "ever had", "information about", "leaflet", "what's a",
               "what is a", "symptoms of", "signs and symptoms",
               # people in general, not this patient: "people with multiple sclerosis can
               # have visual problems"
               "people with", "people who have", "patients with", "someone with",
               "somebody with", "when someone has", "when people have",
               # a finding described in general: "like when you lose consciousness"
               "like when you", "like when someone", "like when people")
# the words that turn a sentence against what came before: they end a trigger's scope
# (`TERMINATE`) and a sentence-opening condition's (`CONTRAST`)
_CONTRAST_WORDS = r"but|however|although|though|except|apart from|aside from|whereas|yet|because"
TERMINATE = re.compile(rf"[.;!?\n]|\b(?:{_CONTRAST_WORDS}|other than|besides|which|who|"
                       # "No PMH of note, asthma as a child"; "had a heart attack two
                       # years ago and is now breathless"
                       r"of note|and\s+(?:is\s+|has\s+|have\s+)?now)\b|"
                       r",\s*(?:just|only)\b|"  # "no pain, just some tightness"
                       # a clause with its own subject: "no chest pain, I have a cough"
                       r",\s*(?:i|he|she|they|we)\s+(?:(?:just|also|still|only|do|"
                       r"really)\s+)?(?:have|has|had|'ve|'s|am|'m|is|was|"
                       r"get|got|feel|felt|do|did|noticed|notice)\b|"
                       r",\s*(?:it's|it is|it was|that's|that is)\b|"
                       # a question of its own after a comma: "when you say it's not
                       # helping, is it bringing the temperature down?"
                       r",\s*(?:is|does|has|was|did|do|are|have|can)\s+(?:it|that|this|there)\b|"
                       # a note's next finding with its own predicate: "not on any
                       # medication, allergic to peanuts", "no fever, has a cough"
                       # (not "has", "is": a speaker repeats them, "my mum has, has migraines")
                       r",\s*(?:allergic|takes|taking|uses|using|reports|complains|"
                       r"describes)\b",
                       re.IGNORECASE)
# "No," that answers the question before ("No, I feel tired") negates nothing after it
ANSWER_NO = re.compile(r"\b(?:no|nope|nah)(?=\s*,)", re.IGNORECASE)
WINDOW_WORDS = 8  # a pre-trigger reaches this many words at most
CONDITIONAL_WORDS = 15  # a conditional ("if", "in case")


@dataclass(frozen=True)
class Assertion:
    value: str  # one of ASSERTIONS
    trigger: str | None  # the phrase that decided it (None: present by default)


def _words(text: str) -> list[str]:
    return [w if w != "~" else "query"
            for w in re.findall(r"[a-z0-9/']+|~", text.lower().replace("’", "'"))]


@lru_cache(maxsize=64)
def _split(phrases: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each phrase with its words, longest phrase first (the trigger tables, split once)."""
    return tuple((ph, tuple(ph.split())) for ph in sorted(phrases, key=len, reverse=True))


def _find(words: list[str], phrases: tuple[str, ...]) -> str | None:
    """The longest phrase of `phrases` that occurs in `words` (as whole words)."""
    for phrase, p in _split(phrases):
        if any(tuple(words[i:i + len(p)]) == p for i in range(len(words) - len(p) + 1)):
            return phrase
    return None


def _replace(out: list[str], phrases: tuple[str, ...], last: str) -> None:
    """Each occurrence of a phrase of `phrases` in `out` blanked ("_"), its last word made
    `last`."""
    for _, p in _split(phrases):
        for i in range(len(out) - len(p) + 1):
            if tuple(out[i:i + len(p)]) == p:
                out[i:i + len(p)] = ["_"] * (len(p) - 1) + [last]


def _strip_pseudo(words: list[str]) -> list[str]:
    """The words with pseudo-triggers blanked out (they must not trigger), and the
    self-questioning doubts (`UNCERTAIN_IF`) read as "uncertain"."""
    out = list(words)
    _replace(out, UNCERTAIN_IF, "uncertain")
    _replace(out, PSEUDO, "_")
    for i in range(len(out) - 1):  # "1 week history of X", "3/7 history of X": how long the
        if out[i] in ("history", "hx") and i > 0 and (  # complaint has lasted, not its past
                DURATION_UNIT.match(out[i - 1]) or re.fullmatch(r"\d+/(?:7|52|12)", out[i - 1])):
            out[i] = "_"
    return out


DURATION_UNIT = re.compile(r"^(?:hours?|days?|weeks?|months?|years?|hrs?|wks?|yrs?|"
                           r"(?:day|week|month|year)s?-?long)$")


# A sentence that opens as a question asks, whatever punctuation the transcript gave it
# (speech recognition often ends a question with a full stop, or nothing): "Have you had
# any chest pain", "Does anyone in the family have diabetes", "Is the pain worse at night".
# Fillers before the opener are skipped; "do you know," is a discourse marker, not a question.
_FILLER = r"(?:(?:and|so|okay|ok|right|um+|uh+|er+|well|now|then|also|just|alright|all right)" \
          r"[\s,]+)*"
QUESTION_OPENER = re.compile(
    rf"^\s*{_FILLER}(?:(?:do|does|did|have|has|had|are|is|was|were|can|could|will|would|"
    r"should|may)(?:n't|\s+not)?\s+(?:you|he|she|they|there|anyone|anybody|any|the|your|his|"
    r"her|their|it|we|i)\b(?!\s+know\s*,)|any\b|how about\b|what about\b)", re.IGNORECASE)


# The trigger tables in the order that decides between triggers of two kinds in one scope:
# a hypothetical or a negation outranks an experiencer ("no family history of diabetes" is
# absent), an experiencer outranks uncertainty and time ("my father had a stroke" is
# family), and the generic words ("any", "ever") come last.
TRIGGERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("hypothetical", HYPOTHETICAL_PRE, HYPOTHETICAL_POST),
    ("absent", ABSENT_PRE, ABSENT_POST),
    ("family", FAMILY_PRE, FAMILY_POST),
    ("possible", POSSIBLE_PRE, POSSIBLE_POST),
    ("historical", HISTORICAL_PRE, HISTORICAL_POST),
    ("hypothetical", GENERIC_PRE, ()),
)


# A question that asks about a finding already given ("Where is the pain?", "How long have
# you had the cough?", "Which fingers feel numb?", "Who looks after your diabetes?") does
# not put it in doubt.
WH_OPENER = re.compile(
    rf"^\s*{_FILLER}(?:where|whereabouts|when|which|who|who's|whose|how long|how often|"
    r"how many|how much|how bad|how severe|what kind of|what sort of|what type of|"
    r"in what way|what way|in which way|"
    r"what colou?r|what's the nature|what is the nature|tell me about)\b",
    re.IGNORECASE)
# nor does a statement with a question tag ("it's numb, right?", "you're using the
# hydrocortisone, yeah?", "you have a headache, is that correct?")
TAG_QUESTION = re.compile(
    r"[\s,]\s*(?:right|yeah|yes|ok|okay|correct|no|you know|is that right|is that correct|"
    r"is that so|isn't it|aren't you|don't you|didn't you|haven't you|isn't that right|"
    # ", did it?", ", does it?", ", hasn't he?": an auxiliary and a pronoun
    r"(?:did|does|do|is|was|has|have|had|are|were|can|could|will|would)(?:n't)?\s+"
    r"(?:it|you|he|she|they|that|there|i|we))"
    r"\s*\?\s*$", re.IGNORECASE)
# nor a request about a finding the patient has named ("you've taken some painkillers,
# would you tell me the names?")
REQUEST = re.compile(r"\b(?:(?:would|could|can)\s+you|(?:are|were)\s+you\s+able\s+to)\s+"
                     r"(?:tell|give|name|describe|show|"
                     r"spell)\b|\btell me\b", re.IGNORECASE)
# nor a finding named as the one given, beside the one asked about: "with the pain, have
# you noticed any other symptoms?", "apart from being itchy, any other symptoms?"
GIVEN = re.compile(r"\b(?:with the|with your|with this|apart from|other than|besides|"
                   r"aside from|along with|as well as|about your|about the|regarding your|"
                   r"regarding the|in terms of your|in terms of the|as for your)[\s,]+"
                   r"(?:(?:being|the|your|this|that|dry|and|a|an|some|um+|uh+|er+)[\s,]+)*$",
                   re.IGNORECASE)
# a negation of the finding's kind, not of the finding: "I've never had headaches like this"
LIKE_THIS = re.compile(r"^\s+(?:quite\s+|exactly\s+)?like\s+(?:this|that|these|those|it)\b"
                       r"(?!\s+(?:is|was|are|were|'s)\b)", re.IGNORECASE)
# the finding named with a definite word just before it (`assertion`'s "given")
DEFINITE = re.compile(r"\b(?:the|your|this|that|his|her|their)\s+(?:(?:usual|normal|same|"
                      r"old|regular|new|main)\s+)?$", re.IGNORECASE)
# illnesses English names with "the" whoever has them ("have you had the flu?")
THE_IDIOM = frozenset({"flu", "measles", "mumps", "chickenpox", "chicken pox", "shingles",
                       "runs", "flu jab"})
# a finding said as a body part and what it does ("throat is closing", "chest feels tight"):
# "your" before it belongs to the phrase, not to a finding already named
BODY_WORDS = frozenset({"throat", "chest", "nose", "heart", "head", "vision", "skin", "eyes",
                        "ears", "legs", "arms", "tummy", "stomach", "face", "lips", "tongue"})
# ... but a body word that begins a disease's name is the name's: "the heart attack", "your
# chest infection", "the skin rash"
DISEASE_HEADS = frozenset({"attack", "attacks", "failure", "cancer", "infection", "infections",
                           "disease", "condition", "injury", "rash", "murmur", "bug", "ulcer",
                           "pain", "pains", "discomfort", "tightness", "pressure"})
# "if I lean forward, the headache gets worse": a movement that brings the finding on or
# makes it worse; the finding is there
AGGRAVATED = re.compile(r"\b(?:if|when|whenever)\s+(?:i|you|he|she)\s+(?:\w+\s+)?(?:lean|bend|"
                        r"move|walk|cough|sneeze|lie|eat|stand|sit|turn|press|touch|breathe|"
                        r"run|exercise|lift|climb|swallow|laugh)\b", re.IGNORECASE)
# the speaker repeating what the patient said: "you mentioned you have asthma", "you said"
REPORTED = re.compile(r"\byou(?:'ve| have)?\s+(?:mentioned|said|told me|described)\b",
                      re.IGNORECASE)
# asking what is taken or done for a finding: "what medications are you using for asthma?"
WHAT_FOR = re.compile(r"\bwhat\s+(?:medications?|medicines?|treatments?|tablets|pills|"
                      r"do you (?:take|use|do)|are you (?:taking|using)|have you (?:tried|taken|"
                      r"used))\b.*\b(?:for|about)\s+(?:the\s+|your\s+)?$", re.IGNORECASE)
# "?" written against the next word, not after the last one: a note's query ("?UTI",
# "Imp: ?viral"). Replaced by a character that does not end the sentence and reads as
# the pre-trigger "query".
QUERY_MARK = re.compile(r"(?:(?<=^)|(?<=[\s:(,/;-]))\?(?=[A-Za-z])|"
                        r"(?<=\s)\?\s+(?=[a-z])")  # "working diagnosis ? muscular"
# the finding of the clause before went away: "diarrhoea - but now resolved", "had a rash,
# which has since gone": resolution words with no finding of their own, after a "but"
_RESOLVED_WORDS = "|".join(re.escape(r) for r in RESOLVED)
RESOLVED_AFTER = re.compile(
    r"^[\s,-]*(?:(?:yesterday|last\s+(?:night|week)|this\s+morning|for\s+(?:a\s+)?(?:few|"
    r"couple\s+of|\w+)\s+(?:days|hours|weeks))[\s,]+)?"  # "a fever yesterday but it's settled"
    r"(?:but|and|which|that)?[\s,-]*(?:(?:now|it's|that's|they've|it|this|that|they|has|have|"
    r"had|since|is|are|was|all|completely|fully|then|'s)\s+)*(?:"
    + _RESOLVED_WORDS + r"|(?<=it's\s)(?:\w+\s+)?gone|(?<=they've\s)(?:\w+\s+)?gone)\b",
    re.IGNORECASE)


# the finding of the sentence before went away, said of it with a pronoun: "It started with
# vomiting. But then that went away", "I drank loads when I had the diarrhoea. Now that it
# stopped, ..."
RESOLVED_NEXT = re.compile(
    r"^\s*(?:(?:uh+|um+|er+|and|but|so|then|now|well|ok|okay)[\s,]+)*(?:now that\s+)?"
    r"(?:it|that|this|they|those|these)(?:'s\s+|\s+)(?:(?:has|have|had|all|just|completely|"
    r"fully|kind of|sort of|then|since|now|eventually|finally)[\s,]+)*(?:"
    + _RESOLVED_WORDS + r"|got better|went off|gone(?=\s*(?:now|completely|[.,;!]|$)))\b",
    re.IGNORECASE)


def _resolved_next(mention: str, after_all: str, stop: re.Match | None) -> bool:
    """The next sentence says, with a pronoun, that the finding went away (`RESOLVED_NEXT`),
    and the finding is not named again after it ("... and then it stopped. But the cough
    kept going": the pronoun was about something else)."""
    if stop is None or stop.group(0) == "?":
        return False
    m = RESOLVED_NEXT.match(after_all[stop.end():])
    if m is None:
        return False
    later = after_all[stop.end() + m.end():].lower()
    return re.search(rf"\b{re.escape(mention)}\b", later) is None


# An episode placed in the past: a remote time ("in 2015", "two years ago", "last winter",
# "when I was younger", "in her first pregnancy") in the sentence, and the finding governed
# by a verb in the simple past ("had", "was treated for", "caught"), not the present perfect
# of a complaint that goes on ("I've had a cough since 2015"). ConText's temporality.
_REMOTE = (r"(?:(?:in|back\s+in|during)\s+(?:19|20)\d\d\b|"
           r"\b(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
           r"twenty|thirty|few|couple\s+of|several|many|some)\s+(?:years?|months?|decades?|weeks)\s+"
           r"(?:ago|back|before|previously)\b|"
           r"\blast\s+(?:year|month|winter|summer|spring|autumn|fall|christmas|easter)\b|"
           r"\b(?:when|while)\s+(?:i|he|she|you|they|we)\s+(?:was|were)\s+(?:younger|little|small|"
           r"young|a\s+child|a\s+kid|a\s+baby|a\s+teenager|a\s+toddler|at\s+school|in\s+(?:school|"
           r"college|university)|growing\s+up|pregnant|\d+)\b|"
           r"\bas\s+a\s+(?:child|kid|baby|teenager|toddler|student)\b|\bgrowing\s+up\b|"
           r"\bin\s+(?:my|his|her|your|their)\s+(?:childhood|teens|twenties|thirties|youth|"
           r"(?:first|last|previous|second)\s+pregnancy)\b)")
REMOTE_TIME = re.compile(_REMOTE, re.IGNORECASE)
_SIMPLE_PAST = re.compile(
    r"(?<!\bi've\s)(?<!\bhave\s)(?<!\bhas\s)(?<!\bve\s)"
    r"\b(?:had|did\s+have|did\s+get|was|were|got|caught|developed|suffered|took|needed|underwent|broke|"
    r"contracted|picked\s+up)\b(?!\s+(?:been|had)\b)[^.;!?]*$", re.IGNORECASE)


# a clause that comes back to the present after the past verb
_NOW = re.compile(r"\b(?:now|currently|still|these\s+days|at\s+the\s+moment|since\s+then)\b"
                  r"|\b(?:has|have|is|are)\s+(?:got\s+|developed\s+|had\s+)?$", re.IGNORECASE)


def _past_episode(head: str, rest: str) -> bool:
    """A mention between `head` (its sentence before it) and `rest` (its sentence after it)
    is an episode of the past: a remote time in its sentence and a simple-past verb before
    it (`REMOTE_TIME`)."""
    past = _SIMPLE_PAST.search(head)
    if not past or re.search(r"\b(?:since|for)\s*$", head, re.I):
        return False
    if _NOW.search(past.group(0)):
        return False  # "had a stroke last year and now has weakness": the weakness is now
    # the time said with the episode, not with a later clause's ("had a cough, I was 40")
    return bool(REMOTE_TIME.search(head) or REMOTE_TIME.search(rest[:60]))


# "I had eczema before.", "anxiety in past": said last in the clause, a time before now;
# not a comparison with it ("stiffer than before", "worse than before": a finding now)
BEFORE_AFTER = re.compile(r"^\s*(?:(?!than\b)[\w']+\s+){0,2}?(?:before|previously|in (?:the )?past)"
                          r"\s*(?:[.,;!?)-]|$)", re.IGNORECASE)
# "if your cough isn't getting any better", "if the weakness progresses": the condition is
# on how a finding the patient has goes on; the finding itself is there
_OWN_FINDING = re.compile(r"\b(?:your|the|this|that|his|her|my)\s+$", re.IGNORECASE)
_COURSE = re.compile(
    r"^[\s,]*(?:(?:is|isn't|is not|are|aren't|are not|does|doesn't|does not|do|don't|keeps?|"
    r"has|hasn't|has not|have|haven't|was to|were to|is to)\s+|'s\s+)?"
    r"(?:(?:n't|not|still|also)\s+)*"
    r"(?:(?:getting|get|gets|going|goes|go|got)\s+(?:any\s+|much\s+)?"
    r"(?:better|worse|on)|improv\w*|settl\w*|persist\w*|continu\w*|progress\w*|"
    r"worsen\w*|spread\w*|last\w*|clear\w*|(?:were to |to )?becom\w*|"
    # a treatment's effect: "if the Implanon hasn't been working", "if the cream doesn't help"
    r"(?:been\s+)?(?:work|works|working|help|helps|helping))\b", re.IGNORECASE)


def sentence_start(text: str, start: int) -> int:
    """The offset where the sentence holding `start` begins (after the last . ! ? or line
    break before it)."""
    ends = list(re.finditer(r"[.!?\n]", text[:start]))
    return ends[-1].end() if ends else 0


HEDGED_IT = re.compile(r",\s*(?:it's|it is|it was|that's|that is)$", re.IGNORECASE)
HEDGE_END = re.compile(r"\b(?:looks|seems|sounds|looked|seemed|sounded)\s+like\s*$|"
                       r"\b(?:i\s+think|i\s+guess|i\s+suspect|i\s+believe|probably|"
                       r"possibly|maybe)\s*$", re.IGNORECASE)
# what a treatment helps with is there: "they can sometimes help with the itchiness"
HELP_WITH = re.compile(r"\bhelps?\s+(?:with\s+)?(?:the|your|this|that)\s+$", re.IGNORECASE)
# the patient's own known condition: "your usual eczema" is not doubted by "do you think"
ESTABLISHED = re.compile(r"\b(?:your|my|his|her|their)\s+(?:usual|normal|regular|known|"
                         r"existing)\s+$", re.IGNORECASE)


# A speaker looking for a word asks nothing about a finding: "I take, ohh what's it
# called? Salbutamol inhalers?" (the name offered after it is not asked either)
WORD_FINDING = re.compile(
    r"\bwhat(?:(?:'s| is| was| are| were)\s+(?:it|they|that|this|those|the one)\s+called"
    r"| (?:do|did) (?:you|they|we) call (?:it|them|that|those)"
    r"|(?:'s| is| was)\s+the\s+(?:name|word)(?:\s+(?:of|for)\s+(?:it|that|them))?)\s*\?"
    r"(?:[^.!?\n]{0,60}\?)?", re.IGNORECASE)


def _no_question(m: re.Match) -> str:
    return m.group(0).replace("?", ",")


@lru_cache(maxsize=8)
def _prepared(text: str) -> str:
    """The text as the triggers read it, the same length (offsets hold): a note's query
    mark read as "query", an answering "No," blanked, a word-finding question's marks read
    as commas. Once per text, not per mention."""
    text = QUERY_MARK.sub(lambda m: "~" + m.group(0)[1:], text)
    text = WORD_FINDING.sub(_no_question, text)
    return ANSWER_NO.sub(lambda m: " " * len(m.group(0)), text)


# Disfluencies do not count against a trigger's reach: "it sounds like you could be going
# into, uh, what we say an a, an anaphylactic reaction"
FILLER_WORDS = frozenset({"uh", "uhh", "um", "umm", "er", "erm", "hmm", "mm", "ohh", "oh",
                          "ah", "eh"})


# words that only introduce a name ("what we call", "something called"): like fillers, they
# do not use up a trigger's reach ("you could be going into what we say an anaphylactic
# reaction")
NAMING = (("what", "we", "call"), ("what", "we", "say"), ("what", "they", "call"),
          ("what's", "called"), ("what", "is", "called"), ("something", "called"),
          ("what", "doctors", "call"), ("what", "we", "would", "call"))


ARTICLES = frozenset({"a", "an", "the"})


def _fluent(words: list[str]) -> list[str]:
    """The words without fillers, naming phrases (`NAMING`), a word said twice in a row
    ("I, I") and an article restarted ("a, an, an, a life-threatening")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        naming = next((p for p in NAMING if tuple(words[i:i + len(p)]) == p), None)
        if naming is not None:
            i += len(naming)
            continue
        i += 1
        if w in FILLER_WORDS or (out and out[-1] == w != "_") or \
                (w in ARTICLES and out and out[-1] in ARTICLES):  # "_": a blanked trigger
            continue
        out.append(w)
    return out


# A sentence that opens with a condition: what follows from it is conditional too, however
# long the condition ("If you feel like you're still feeling breathless and run-down, I
# think there's no harm in starting a course of antibiotics"), up to a contrast
CONDITION_OPENER = re.compile(rf"^\s*{_FILLER}(?:if|unless|in case)\b", re.IGNORECASE)
CONTRAST = re.compile(rf"\b(?:{_CONTRAST_WORDS}|otherwise)\b", re.IGNORECASE)


# a sentence about someone the sentence before named as a relative: "My father used to have
# high blood pressure. He died of bowel cancer." (he, she, they as its subject)
THIRD_PERSON = re.compile(rf"^\s*{_FILLER}(?:he|she|they)\b", re.IGNORECASE)
_YOU_OR_ME = frozenset({*("i", "i'm", "i've", "i'd", "i'll", "me", "my", "myself"),
                        "you", "you're", "you've", "your"})


def _he_or_she_last(head: str) -> bool:
    """The last person the head names is "he" or "she", with no "I" or "you" after: "Can you
    remember what age he was when he had the heart attack?"."""
    words = _words(head)
    last = max((i for i, w in enumerate(words) if w in ("he", "she", "he's", "she's", "he'd",
                                                         "she'd")), default=-1)
    return last >= 0 and not _YOU_OR_ME & set(words[last:])


def _relative_before(text: str, sentence: int, head: str) -> bool:
    """The sentence is about a relative named in the sentence before: its head speaks of him
    or her (`THIRD_PERSON`, or "he" or "she" the last person it names), and the sentence
    before names a relative with no one else after."""
    if not ((THIRD_PERSON.match(head) and not _YOU_OR_ME & set(_words(head)))
            or _he_or_she_last(head)):
        return False
    prev = text[sentence_start(text, max(0, sentence - 1)):sentence]
    words = _words(prev)
    at = max((i + len(p) for _, p in _split(FAMILY_PRE) for i in range(len(words))
              if tuple(words[i:i + len(p)]) == p), default=-1)
    return at >= 0 and not _YOU_OR_ME & set(words[at:])


def assertion(text: str, start: int, end: int) -> Assertion:
    """The assertion of the mention `text[start:end]` (character offsets)."""
    judged = _assertion(text, start, end)
    if judged.value in ("present", "historical"):
        prepared = _prepared(text)
        sentence = sentence_start(prepared, start)
        if sentence > 0 and _relative_before(prepared, sentence, prepared[sentence:start]):
            return Assertion("family", "relative named before")
        if _relative_next(prepared, start, end):
            return Assertion("family", "relative named after")
    return judged


# the next sentence gives the finding to a relative with a pronoun: "The main one would be
# heart attack. My father passed away of that." (only when nothing else is named between)
RELATIVE_NEXT = re.compile(
    r"^\s*(?:(?:uh+|um+|er+|and|but|so|well|yeah|yes)[\s,]+)*"
    r"(?:(?:my|his|her|our|their)[\s,]+)?(?:my|his|her|our|their)\s+"  # "My, my father"
    r"(?:" + "|".join(re.escape(f) for f in sorted(RELATIVES, key=len, reverse=True)) +
    r")(?:\s*,\s*\w+)?\s+(?:(?:also|actually|sadly|unfortunately)\s+)?(?:had|has|got|gets|"
    r"suffered\s+(?:from|with)|suffers\s+(?:from|with)|died\s+(?:of|from|with)|"
    r"passed\s+away\s+(?:of|from|with)|was\s+diagnosed\s+with|is\s+diagnosed\s+with)\s+"
    r"(?:that|it|this|one|those|them)\b", re.IGNORECASE)


def _relative_next(text: str, start: int, end: int) -> bool:
    """The sentence after the mention text[start:end], which ends its own sentence (three
    words at most after it) and is not said of the speaker or the listener there ("I have
    asthma. My mother has it too." is both), opens by giving it to a relative
    (`RELATIVE_NEXT`), and not as well ("too", "also")."""
    stop = re.search(r"[.!?]", text[end:])
    if stop is None or stop.group(0) == "?" or len(_words(text[end:end + stop.start()])) > 3:
        return False
    if _YOU_OR_ME & set(_words(text[sentence_start(text, start):start])):
        return False
    nxt = text[end + stop.end():]
    m = RELATIVE_NEXT.match(nxt)
    if m is None:
        return False
    rest = re.split(r"[.!?]", nxt[m.end():], maxsplit=1)[0]
    return not re.search(r"\b(?:too|also|as\s+well)\b", rest, re.IGNORECASE)


def _given_under_condition(trig: str, before: str, head: str, after_all: str) -> bool:
    """A hypothetical trigger's finding is there all the same: the condition is on how the
    patient's own finding goes on ("if your cough isn't getting better", "if I lean forward,
    the headache gets worse"), or advice helps with it ("you can get Piriton, it can help
    with the itchiness"; not under a condition proper: "if you get a rash, ... help with the
    rash")."""
    if _COURSE.match(after_all) and (_OWN_FINDING.search(before) or AGGRAVATED.search(head)):
        return True
    return bool(HELP_WITH.search(before)) and trig not in ("if", "unless", "in case", "whether")


def _assertion(text: str, start: int, end: int) -> Assertion:
    text = _prepared(text)
    after_all = text[end:]
    stop = re.search(r"[.!?\n]", after_all)
    sentence = sentence_start(text, start)
    head = text[sentence:start]
    question = text[sentence: end + stop.end()] if stop is not None else ""
    request = REQUEST.search(head) or REQUEST.search(after_all[: stop.start()] if stop else "")
    # a question about a finding already named ("Is the pain constant?", "Is that the blue
    # inhaler?", "similar to your eczema?", "you mentioned you have asthma, so what do you
    # take?") takes it as given
    mention = text[start:end].lower()
    first, *more = mention.split()
    given = bool((DEFINITE.search(head) and mention not in THE_IDIOM
                  and (first not in BODY_WORDS  # "your throat is closing"
                       or (more and more[0] in DISEASE_HEADS)))
                 or REPORTED.search(head) or WHAT_FOR.search(head))
    if stop is not None and stop.group(0) == "?" and not WH_OPENER.match(head) \
            and not TAG_QUESTION.search(question) and not GIVEN.search(head) \
            and not request and not given:
        if DOUBT_QUESTION.search(head):
            return Assertion("possible", "could it be")  # "Could this be a migraine?"
        return Assertion("hypothetical", "?")  # a question asserts nothing
    opener = QUESTION_OPENER.match(head)
    if opener is not None and not request and not given and \
            not TERMINATE.search(head):  # its own clause
        return Assertion("hypothetical", opener.group(0).strip().lower())
    before = text[:start]
    cuts = list(TERMINATE.finditer(before))
    # "it looks like, it's just a viral infection": the hedge's clause goes on after the
    # comma ("it's" opens no clause of its own there)
    while cuts and HEDGED_IT.match(cuts[-1].group(0)) and \
            HEDGE_END.search(before[:cuts[-1].start()]):
        cuts.pop()
    clause = before[cuts[-1].end():] if cuts else before
    # pseudo-triggers first: a window may cut one
    words = _strip_pseudo(_fluent(_words(clause)))
    pre = words[-WINDOW_WORDS:]
    # a conditional governs more words than the other triggers: its condition ("if there is
    # progressing weakness of the arms and legs") and what follows from it ("if your lips
    # swell, use the EpiPen"), to the end of the sentence when the sentence opens with it
    cond = words[-CONDITIONAL_WORDS:]
    if CONDITION_OPENER.match(head) and not CONTRAST.search(head):
        cond = _strip_pseudo(_fluent(_words(head)))
    m = TERMINATE.search(after_all)
    post = _strip_pseudo(_words(after_all[: m.start()] if m else after_all)[:6])
    sentence_rest = after_all[: stop.start()] if stop else after_all
    for value, pre_t, post_t in TRIGGERS:
        if value == "historical" and (RESOLVED_AFTER.match(sentence_rest)
                                      or BEFORE_AFTER.match(after_all)
                                      or _resolved_next(mention, after_all, stop)):
            return Assertion("historical", "resolved")
        scope = _after_last_self(pre) if value == "family" else \
            cond if pre_t is HYPOTHETICAL_PRE else pre
        trig = _find(scope, pre_t) or _find(post, post_t)
        if trig is None and post_t is HYPOTHETICAL_POST and ADVICE_AFTER.match(after_all):
            trig = "which can help"
        if trig is not None and pre_t is HYPOTHETICAL_PRE and \
                _given_under_condition(trig, before, head, after_all):
            continue
        if trig is not None and value == "absent" and LIKE_THIS.match(after_all):
            return Assertion("present", "like this")  # "never had headaches like this"
        if trig is not None and value == "possible" and ESTABLISHED.search(before):
            continue  # "is this similar to your usual eczema?"
        if value == "possible" and IF_ANY.match(after_all):
            return Assertion("possible", "(if any)")  # "minimal swelling (if any)"
        if trig is not None and value == "historical" and trig in HISTORICAL_POST and \
                ONSET.match(sentence_rest):
            continue  # "the cough started two years ago": when it began, and it goes on
        if trig == "no longer" and value == "absent":
            # a negation of its own after it is the nearer: "no longer smoking, no cough"
            last = max((i for i in range(len(scope) - 1) if scope[i:i + 2] == ["no", "longer"]),
                       default=len(scope))
            nearer = _find(scope[last + 2:], tuple(t for t in ABSENT_PRE if t != "no longer"))
            if nearer is not None:
                return Assertion("absent", nearer)
        if trig is not None and value == "absent" and (
                trig == "no longer" or NO_MORE.match(sentence_rest)):
            return Assertion("historical", "no more")  # "I don't get the headaches any more"
        if trig is not None:
            return Assertion(value, trig)
    if _past_episode(head, sentence_rest):
        return Assertion("historical", "past episode")
    return Assertion("present", None)


# a question that offers a diagnosis for what the patient has: doubt, not a question of
# whether the patient has a finding
DOUBT_QUESTION = re.compile(r"\b(?:could|might|can|would)\s+(?:it|this|that|these|they)\s+"
                            r"(?:\w+\s+)?be\s+(?:a\s+|an\s+|the\s+|some\s+(?:kind|sort)\s+of\s+)?$|"
                            r"\b(?:is|was)\s+(?:it|this|that)\s+(?:maybe|possibly|perhaps)\s+"
                            r"(?:a\s+|an\s+)?$", re.IGNORECASE)
# a note's doubt whether a finding is there at all, said after it in brackets
IF_ANY = re.compile(r"^\s*\(\s*if\s+any\s*\)", re.IGNORECASE)
# said after a finding: when it began ("started two years ago"), not that it ended
ONSET = re.compile(r"^\s*(?:[\w']+\s+){0,3}?(?:started|began|begun|came\s+on|first\s+"
                   r"(?:started|appeared|noticed|began))\b", re.IGNORECASE)
# said after a negated finding: it was there and is no more
NO_MORE = re.compile(r"^\s*(?:[\w']+\s+){0,3}?(?:any\s?more|no\s+more)\b", re.IGNORECASE)


def ended_after(text: str, end: int) -> bool:
    """A time in the past or a resolution said just after the mention that ends at `end`
    ("asthma as a child", "rash, resolved")."""
    return _find(_words(text[end:])[:6], HISTORICAL_POST) is not None


def _classes() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each assertion class with all its pre-triggers, in the order of its first row in
    TRIGGERS."""
    merged: dict[str, tuple[str, ...]] = {}
    for value, pre_t, _ in TRIGGERS:
        merged[value] = merged.get(value, ()) + pre_t
    return tuple(merged.items())


CLASSES = _classes()


def clause_trigger(text: str) -> Assertion | None:
    """The first assertion class (in the order of `assertion`) with a pre-trigger anywhere
    in `text`, pseudo-triggers removed; None when the text holds none. For a matcher that
    compares whole clauses (the alert monitor's semantic layer) rather than a mention."""
    words = _strip_pseudo(_words(text))
    for value, triggers in CLASSES:
        trig = _find(words, triggers)
        if trig is not None:
            return Assertion(value, trig)
    return None


SELF = ("i", "i'm", "i've", "i'd", "i'll", "me", "myself")
# "I think", "I don't know", "I remember": the speaker hedging, not the patient as the one
# who has it ("my dad has, I think it's hypothyroidism")
HEDGE = frozenset({"think", "know", "don't", "guess", "believe", "remember", "mean",
                   "suppose", "reckon", "recall", "uncertain", "_"})


def _after_last_self(words: list[str]) -> list[str]:
    """The words after the speaker last names themself: "my mother has diabetes and I have
    asthma": the experiencer changes back to the patient at "I"."""
    last = max((i for i, w in enumerate(words) if w in SELF
                and not (i + 1 < len(words) and words[i + 1] in HEDGE)), default=-1)
    return words[last + 1:]
