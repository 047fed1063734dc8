"""Symptoms said as sentences, not names: a body part and what it does ("my knee hurts",
"my wrist is really sore", "aching legs", "it stings when I pee"), what the patient cannot
do ("I can't catch my breath", "I can't keep anything down"), and sensations in everyday
words ("I feel faint", "I've got the shakes", "my heart keeps skipping").

The symptom tables (`concepts.SYMPTOMS`) list names; patients mostly say clauses, and a list
of clauses never ends (docs/nlu.md, "A sixth session": 26 of 106 everyday phrasings were
found with the tables alone). Here a clause is built from parts: a body part from one table,
a predicate from another, so "my ankle aches" is found without anyone having listed it, and
the pain is coded by its site as ICD-10-CM's index codes it (knee M25.569, jaw R68.84, foot
M79.673). Each pattern asks for the words that make it a complaint: a possessive or "the"
before the part, a verb after it, an adverb or the end of the clause after "can't see"
("I can't see why" is not a visual disturbance, "I can't see properly" is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# a body part -> the name of its pain and the pain's ICD-10-CM code (the unspecified side:
# the side is not coded anywhere in the NLU); None where ICD-10-CM has no code for the
# part's pain short of a guess (the pain is then R52, pain unspecified)
SITE_PAIN: dict[str, tuple[str, str | None]] = {
    "head": ("headache", "R51.9"), "tummy": ("abdominal pain", "R10.9"),
    "stomach": ("abdominal pain", "R10.9"), "belly": ("abdominal pain", "R10.9"),
    "abdomen": ("abdominal pain", "R10.9"), "chest": ("chest pain", "R07.9"),
    "back": ("back pain", "M54.9"), "lower back": ("low back pain", "M54.50"),
    "neck": ("neck pain", "M54.2"), "throat": ("sore throat", "J02.9"),
    "ear": ("earache", "H92.09"), "ears": ("earache", "H92.09"),
    "eye": ("eye pain", "H57.10"), "eyes": ("eye pain", "H57.10"),
    "tooth": ("toothache", "K08.89"), "teeth": ("toothache", "K08.89"),
    "jaw": ("jaw pain", "R68.84"), "shoulder": ("shoulder pain", "M25.519"),
    "shoulders": ("shoulder pain", "M25.519"), "elbow": ("elbow pain", "M25.529"),
    "elbows": ("elbow pain", "M25.529"), "wrist": ("wrist pain", "M25.539"),
    "wrists": ("wrist pain", "M25.539"), "hand": ("hand pain", "M79.643"),
    "hands": ("hand pain", "M79.643"), "finger": ("finger pain", "M79.646"),
    "fingers": ("finger pain", "M79.646"), "thumb": ("finger pain", "M79.646"),
    "hip": ("hip pain", "M25.559"), "hips": ("hip pain", "M25.559"),
    "knee": ("knee pain", "M25.569"), "knees": ("knee pain", "M25.569"),
    "ankle": ("ankle pain", "M25.579"), "ankles": ("ankle pain", "M25.579"),
    "foot": ("foot pain", "M79.673"), "feet": ("foot pain", "M79.673"),
    "heel": ("foot pain", "M79.673"), "heels": ("foot pain", "M79.673"),
    "toe": ("toe pain", "M79.676"), "toes": ("toe pain", "M79.676"),
    "leg": ("leg pain", "M79.606"), "legs": ("leg pain", "M79.606"),
    "arm": ("arm pain", "M79.603"), "arms": ("arm pain", "M79.603"),
    "thigh": ("thigh pain", "M79.659"), "thighs": ("thigh pain", "M79.659"),
    "calf": ("calf pain", "M79.669"), "calves": ("calf pain", "M79.669"),
    "shin": ("shin pain", "M79.669"), "shins": ("shin pain", "M79.669"),
    "joints": ("joint pain", "M25.50"), "joint": ("joint pain", "M25.50"),
    "knuckle": ("knuckle pain", "M25.549"), "knuckles": ("knuckle pain", "M25.549"),
    "muscles": ("myalgia", "M79.10"), "muscle": ("myalgia", "M79.10"),
    "breast": ("breast pain", "N64.4"), "breasts": ("breast pain", "N64.4"),
    "groin": ("groin pain", "R10.30"), "ribs": ("chest wall pain", "R07.89"),
    "bladder": ("bladder pain", None), "face": ("facial pain", None),
    "mouth": ("mouth pain", None), "nose": ("nose pain", None), "skin": ("skin pain", None),
    "bum": ("anal pain", None), "bottom": ("anal pain", None), "side": ("flank pain", None),
    "body": ("body aches", "M79.10"), "gums": ("gum pain", None),
}
_JOINTS = frozenset({"shoulder", "shoulders", "elbow", "elbows", "wrist", "wrists", "hand",
                     "hands", "finger", "fingers", "thumb", "hip", "hips", "knee", "knees",
                     "ankle", "ankles", "joints", "joint", "toe", "toes"})
# what a part does or is, by the finding it names: canonical, code (None: the site's pain
# code for the pain family)
_PAIN = (r"hurts|hurt|hurting|aches|ache|aching|achy|sore|painful|killing\s+me|throbbing|throbs|"
         r"pounding|scratchy")
_PREDICATES: tuple[tuple[str, str, str | None], ...] = (
    (_PAIN, "pain", None),
    (r"itchy|itching|itches|itch", "pruritus", "L29.9"),
    (r"numb", "numbness", "R20.0"),
    (r"tingly|tingling|tingles", "tingling", "R20.2"),
    (r"stiff|stiffer", "stiffness", None),  # joint stiffness M25.60 where the part is a joint
    (r"weak|weaker", "weakness", "R53.1"),
    (r"tender", "tenderness", None),  # breasts: N64.4
    (r"irritated", "irritation", None),
)
# a possessive or article before the part (the part of a person, not "back to work")
_OWNER = r"(?:my|your|his|her|their|the|both|one|a|an)"
_SIDE = r"(?:(?:left|right|lower|upper|whole)\s+)"
# words between a part and what it does: "my knee is really sore", "my legs have been
# feeling weak", "my back is killing me"
_LINK = (r"(?:is|are|was|were|'s|'re|has|have|had|been|being|feels?|felt|feeling|keeps?|kept|"
         r"still|really|very|so|quite|just|always|constantly|a|bit|little|lot|kind|of|sort|"
         r"getting|gets|got|gone|went|goes|become|becomes|became|started|starting|starts|to|"
         r"more|too|also|all|sometimes|often|now|then|extremely|terribly|awfully|"
         r"slightly|properly|absolutely)")
_NEG_LINK = r"(?:doesn't|does\s+not|don't|do\s+not|didn't|did\s+not|isn't|is\s+not|aren't|" \
            r"are\s+not|wasn't|was\s+not|weren't|hasn't|haven't|never|not)"


@dataclass(frozen=True)
class LaySymptom:
    start: int
    end: int
    text: str
    canonical: str
    code: str | None
    site: str | None = None


def _parts() -> str:
    return "|".join(sorted((re.escape(p).replace(r"\ ", r"\s+") for p in SITE_PAIN),
                           key=len, reverse=True))


def site_pain(site: str) -> tuple[str, str | None] | None:
    """The name and ICD-10-CM code of pain at `site` (a body part as said), if known."""
    return SITE_PAIN.get(" ".join(site.lower().split()))


def _coded(canonical: str, code: str | None, part: str) -> tuple[str, str | None]:
    """The name and code of a finding of the family `canonical` at `part`."""
    part = " ".join(part.lower().split())
    if canonical == "pain":
        name, code = SITE_PAIN.get(part, (f"{part} pain", None)) if part else ("pain", None)
        return name, code or "R52"  # pain, unspecified, where the site has no code of its own
    if canonical == "stiffness":
        return (f"{part} stiffness", "M25.60" if part in _JOINTS else None)
    if canonical == "tenderness":
        return ("breast pain", "N64.4") if part.startswith("breast") else \
            (f"{part} tenderness", None)
    if canonical == "weakness":
        return ("weakness", code)
    if canonical == "irritation" and part:
        return (f"{part} irritation", code)  # "my throat is irritated"
    return (canonical, code)


# functions the patient cannot perform: the pattern after "can't" (or "unable to",
# "struggling to", "hard to", "trouble", "difficulty") and the finding; the pattern ends
# with what must follow for it to be a complaint
_END = r"(?=\s*(?:$|[.,;:!?)]|\b(?:and|but|or|at|for|since|when|after|anymore|any\s+more|" \
       r"now|properly|well|very|that|much|because|as|without|in|on|out|sometimes)\b))"
_FUNCTIONS: tuple[tuple[str, str, str | None], ...] = (
    (r"breathe|catch\s+(?:my|your|his|her|their)\s+breath|get\s+(?:my|your|his|her|their)\s+"
     r"breath", "breathlessness", "R06.00"),
    (r"swallow(?:\s+(?:anything|food|properly|my\s+food))?" + _END, "dysphagia", "R13.10"),
    (r"keep\s+(?:anything|food|fluids?|water|drinks?|it|much|things)\s+down", "vomiting",
     "R11.10"),
    # not "I can't hear you", "I can't hear anything" (a call's sound): the ear is named
    (r"hear(?:\s+(?:properly|well|very\s+well|clearly|much|anything))?\s+(?:out\s+of|in|with|"
     r"from|on)\s+(?:my|your|his|her|their|the|this|that|one)\s+(?:left\s+|right\s+)?ears?",
     "hearing loss", "H91.90"),
    (r"see\s+(?:properly|clearly|straight|very\s+well|well|(?:out\s+of|from|with|in)\s+"
     r"(?:(?:the|my|your|his|her|their|this|that|one),?\s+(?:uh\s+|um\s+)?)+(?:left\s+|"
     r"right\s+)?eyes?)" + _END, "visual disturbance", "H53.9"),
    (r"walk(?:\s+(?:properly|straight|far|very\s+far|any\s+distance))?" + _END,
     "difficulty walking", "R26.2"),
    (r"(?:move|lift|raise|use|grip\s+with)\s+" + _OWNER + r"\s+" + _SIDE + r"?(?P<part>arm|arms|"
     r"leg|legs|hand|hands|fingers|foot|feet|shoulder|neck|head)", "weakness", "R53.1"),
    (r"feel\s+" + _OWNER + r"\s+" + _SIDE + r"?(?P<part>arm|arms|leg|legs|hand|hands|fingers|"
     r"feet|foot|toes|face|lips)", "numbness", "R20.0"),
    (r"concentrate|focus(?:\s+on\s+anything)?" + _END, "poor concentration", "R41.840"),
    # not "I can't remember what it is called"
    (r"remember\s+(?:things|stuff|names|anything" + _END + ")", "memory loss", "R41.3"),
    (r"stop\s+(?:crying|weeping)", "tearfulness", "R45.83"),
    (r"stop\s+(?:shaking|trembling)", "tremor", "R25.1"),
    (r"(?:pee|wee|urinate|pass\s+urine|pass\s+water)" + _END, "urinary retention", "R33.9"),
    (r"smell(?:\s+anything)?" + _END, "loss of smell", "R43.0"),
    (r"sleep(?:\s+(?:properly|well|at\s+night|through\s+the\s+night))?" + _END, "insomnia",
     "G47.00"),
)
_INJURED = (r"(?P<part>ankle|ankles|knee|wrist|back|neck|shoulder|muscle|muscles|hamstring|"
            r"groin|calf|thumb|finger|ligament|ligaments|tendon|achilles|cartilage|meniscus)")
_CANNOT = r"(?:can't|cannot|can\s+not|couldn't|could\s+not|can't\s+really|unable\s+to|" \
          r"struggling\s+to|struggle\s+to|struggled\s+to|hard\s+to|difficult\s+to|" \
          r"trouble\s+to)"
# a function said to be worse than it was, after its name
_WORSE = (r"(?:'s|\s+is|\s+was|\s+has\s+been|'s\s+been)?(?:[\s,]+(?:you\s+know|i\s+mean|uh|"
          r"um|it's|it\s+is|just|really|a\s+bit|definitely))*[\s,]+(?:not\s+(?:as|so|that|"
          r"very|too)\s+good|not\s+great|isn't\s+(?:as|so|that|very)\s+good|isn't\s+great|"
          r"(?:not|isn't)\s+what\s+it\s+(?:was|used\s+to\s+be)|(?:getting|got|gone)\s+"
          r"(?:a\s+bit\s+|much\s+|really\s+)?worse|deteriorat\w+)")
# sensations and states in everyday words: pattern, canonical, code
_STATES: tuple[tuple[str, str, str | None], ...] = (
    (r"(?:feel|feels|feeling|felt)\s+(?:very\s+|a\s+bit\s+|quite\s+|really\s+|a\s+little\s+)?"
     r"faint|faintness", "presyncope", "R55"),
    (r"(?:I'm|I\s+am|been|was|keep|kept|start|starts|started|feel|feeling|felt|is|are|were|"
     r"all)\s+"
     r"(?:really\s+|a\s+bit\s+|quite\s+)?shaking(?!\s+(?:hands|my\s+head|his\s+head|her\s+"
     r"head|it|the))", "tremor", "R25.1"),
    (r"(?:vision|eyesight|sight)\s+(?:(?:is|was|has\s+been|'s\s+been|'s|goes|went|gone|gets|"
     r"got|getting|a\s+bit|quite|really|very|all|bit)\s+)*(?:fuzzy|hazy|cloudy|dim|misty|"
     r"foggy)|(?:fuzzy|hazy|cloudy|misty|foggy)\s+vision", "blurred vision", "H53.8"),
    (r"(?:croaky|husky|raspy|gravelly)\s+voice|voice\s+(?:(?:is|was|has\s+been|'s\s+been|'s|"
     r"gone|went|a\s+bit|quite|really|very|all)\s+)*(?:croaky|husky|raspy|gravelly|hoarse)",
     "hoarseness", "R49.0"),
    (r"(?:nose|sinuses)\s+(?:(?:is|are|was|were|has\s+been|have\s+been|'s\s+been|'s|feels|"
     r"feel|always|a\s+bit|quite|really|very|all)\s+)*(?:blocked|stuffy|stuffed\s+up|"
     r"bunged\s+up|congested)", "nasal congestion", "R09.81"),
    (r"(?:chest)\s+(?:(?:is|was|has\s+been|'s\s+been|'s|feels|felt|a\s+bit|quite|really|"
     r"very)\s+)*heavy|heavy\s+chest|heaviness\s+(?:in|on|across)\s+(?:my|your|his|her|"
     r"the)\s+chest", "chest heaviness", "R07.89"),
    (r"glands\s+(?:(?:are|were|have\s+been|'re|feel|feels|all)\s+)*(?:up|swollen|"
     r"enlarged|come\s+up)", "lymphadenopathy", "R59.9"),
    (r"(?:hot\s+and\s+cold|cold\s+and\s+hot)(?:\s+(?:sweats|spells|episodes|flushes))?",
     "rigors", "R68.83"),
    (r"(?:up|wake\s+up|wakes\s+up|woke\s+up|waking\s+up|get\s+up|gets\s+up|getting\s+up|"
     r"got\s+up)(?:\s+(?:at|in\s+the)\s+night)?(?:\s+(?:\w+\s+)?times?)?\s+(?:to|for)\s+"
     r"(?:pee|wee|the\s+toilet|the\s+loo|a\s+wee|pass\s+urine|urinate)", "nocturia",
     "R35.1"),
    (r"drowsy|drowsiness|sleepy|sleepiness|somnolent", "drowsiness", "R40.0"),
    (r"shaky|shakiness|the\s+shakes|trembling|trembly|tremulous", "tremor", "R25.1"),
    (r"(?:heart|heartbeat)(?:'s)?\s+(?:(?:is|was|keeps|kept|has\s+been|'s\s+been|been|seems\s+to\s+be|"
     r"feels\s+like\s+it's|sometimes|often|always|just)\s+)*(?:fluttering|flutters|skipping|"
     r"skips(?:\s+a\s+beat)?|thumping|thumps|pounding|pounds|racing|races|jumping|missing\s+"
     r"beats|misses\s+beats|missing\s+a\s+beat|beating\s+(?:really\s+|very\s+|so\s+)?fast)|"
     r"fluttering\s+in\s+(?:my|your|his|her|the)\s+chest|skipped\s+beats?|missed\s+beats|"
     # said of "it" (the heart of the sentence before): compared with what is usual
     r"(?:beating|pounding|going)\s+(?:a\s+lot\s+|much\s+|a\s+bit\s+|really\s+|so\s+)?"
     r"(?:faster|quicker|harder)\s+than\s+(?:usual|normal|before)",
     "palpitations", "R00.2"),
    (r"upset\s+(?:stomach|tummy)|(?:stomach|tummy)\s+(?:upset|is\s+upset|'s\s+upset|has\s+been\s+"
     r"upset)", "upset stomach", "K30"),
    (r"burping|belching|burps", "eructation", "R14.2"),
    (r"trapped\s+wind|(?:lots\s+of|a\s+lot\s+of)\s+wind", "flatulence", "R14.3"),
    (r"snoring|snore|snores", "snoring", "R06.83"),
    (r"(?:puffed|winded)(?:\s+out)?|out\s+of\s+puff|short\s+of\s+puff", "breathlessness",
     "R06.00"),
    (r"burning\s+up|boiling\s+hot", "fever", "R50.9"),
    # not "getting spots" (acne)
    (r"(?:seeing|see|saw|seen)\s+(?:flashing\s+lights|flashes(?:\s+of\s+light)?|spots|stars|"
     r"floaters)|(?:get|gets|getting|having|noticed)\s+(?:flashing\s+lights|floaters)|"
     # a migraine's aura in everyday words: "zig-zag lines in my vision"
     r"(?:zig[\s-]?zag|zigzag|wavy|squiggly|shimmering)\s+(?:lines|patterns|shapes|lights)",
     "visual disturbance", "H53.19"),
    (r"(?:keep|kept|keeps)\s+forgetting(?:\s+things)?", "memory loss", "R41.3"),
    (r"(?:metallic|funny|strange|bad|horrible|bitter)\s+taste\s+in\s+(?:my|your|his|her|the)\s+"
     r"mouth", "taste disturbance", "R43.8"),
    (r"(?:gums?)\s+(?:(?:is|are|keep|keeps|have\s+been|has\s+been|been)\s+)?bleed(?:ing|s)?|"
     r"bleeding\s+gums", "bleeding gums", "K06.8"),
    (r"(?:missed|missing)\s+(?:a|my|her|your|two|three)\s+periods?|(?:period|periods)\s+(?:is|"
     r"are|was|were|'s|has\s+been|have\s+been)\s+late|late\s+period", "missed period", "N91.2"),
    (r"(?:some|any|light|bit\s+of|been|had|having|noticed)\s+spotting|spotting\s+between\s+"
     r"periods|bleeding\s+between\s+(?:my\s+|her\s+|your\s+)?periods",
     "intermenstrual bleeding", "N92.3"),
    (r"(?:hurts?|hurting|painful|pain|sore)\s+(?:during|with|after)\s+sex|painful\s+sex",
     "dyspareunia", "N94.10"),
    (r"(?:cloudy|smelly|foul[\s-]smelling|dark|frothy|foamy)\s+(?:urine|pee|wee)|(?:urine|pee|"
     r"wee)\s+(?:is\s+|was\s+|has\s+been\s+|looks\s+|smells\s+)?(?:cloudy|smelly|really\s+dark|"
     r"frothy|foamy)|(?:urine|pee|wee)\s+smells", "urine abnormal", "R39.89"),
    # urine of a colour that may be blood: "pink urine", "the urine was a little pink"
    (r"(?:pink|pinkish|red|reddish|brown|cola[\s-]coloured)\s+(?:urine|pee|wee)|(?:urine|pee|"
     r"wee)\s+(?:(?:is|was|has\s+been|looks|looked|a\s+little|a\s+bit|slightly|quite|"
     r"really|very|kind\s+of)\s+)+(?:pink|pinkish|red|reddish|brown)", "discoloured urine",
     "R82.90"),
    # "any blood at all in your urine": blood where it should not be, with words between
    (r"blood\s+(?:at\s+all\s+|whatsoever\s+)?in\s+(?:your|my|his|her|the)\s+(?:urine|pee|wee)",
     "haematuria", "R31.9"),
    (r"blood\s+(?:at\s+all\s+|whatsoever\s+)?in\s+(?:your|my|his|her|the)\s+(?:stools?|poo)",
     "blood in stool", "K92.1"),
    # a sense lost for a while: "your vision went", "my peripheral vision was not there"
    (r"(?:(?:peripheral|side)\s+)?(?:vision|sight|eyesight)\s+(?:(?:just|completely|totally|"
     r"suddenly|kind\s+of)\s+)?(?:went(?=\s*[,.;]|\s+(?:black|dark|blank|for|completely|"
     r"totally))|was\s+not\s+there|wasn't\s+there|disappeared|went\s+(?:black|dark|blank))",
     "vision loss", "H54.7"),
    (r"pale\s+(?:stools?|poo|poos)|(?:stools?|poo)\s+(?:is|are|was|were|has\s+been|have\s+been)"
     r"\s+pale", "pale stools", "R19.5"),
    (r"tearful|tearfulness", "tearfulness", "R45.83"),
    (r"(?:feel|feeling|felt|am|I'm|been)\s+(?:very\s+|really\s+|so\s+|a\s+bit\s+)?on\s+edge",
     "nervousness", "R45.0"),
    (r"(?:twisted|sprained|strained|pulled|jarred|rolled|went\s+over\s+on|tore|torn|"
     r"dislocated)\s+" + _OWNER + r"\s+" + _SIDE + r"?" + _INJURED, "sprain", None),
    # "a sprained wrist", "a torn ligament", "a pulled muscle", "a dislocated shoulder"
    (r"\b(?:a|an|my|his|her|your)\s+(?P<head>(?:bad(?:ly)?\s+)?(?:twisted|sprained|strained|"
     r"pulled|torn|dislocated)\s+" + _SIDE + r"?" + _INJURED + ")", "sprain", None),
    (r"blisters?", "blister", None),
    (r"(?:flaky|peeling|scaly)\s+skin|skin\s+(?:is\s+|has\s+been\s+)?(?:peeling|flaking|flaky)",
     "skin peeling", "R23.4"),
    # what the skin is like, in everyday words: "dry and cracked skin", "my skin is thickened"
    (r"(?P<head>cracking|cracks|cracked|dryness)\s+(?:of|in|on)\s+(?:your|my|his|her|the)\s+"
     r"skin|"
     r"(?:dry|cracked|cracking|rough)\s+(?:and\s+(?:dry|cracked|cracking|rough|itchy|red)\s+)?"
     r"skin|skin\s+(?:(?:is|was|has\s+been|'s|'s\s+been|gets|got|feels|very|really|so|all|"
     r"quite|a\s+bit|and)\s+)*(?:dry|cracked|cracking|rough)", "dry skin", "L85.3"),
    (r"(?:thickened|thick|hardened)\s+skin|skin\s+(?:(?:is|was|has|'s|got|gets|getting|"
     r"gone|very|really|so|quite|a\s+bit|all)\s+)*(?:thickened|thicker|hardened)",
     "thickened skin", "L85.9"),
    (r"(?:darkened|darker|dark|discoloured|discolored)\s+(?:patches|patch|areas|area)\s+"
     r"(?:on|of)\s+(?:my|your|his|her|the)\s+skin|(?:darkened|discoloured|discolored)\s+"
     r"(?:skin|patches|areas)", "skin discolouration", "L81.9"),
    # an injury to a part said with a preposition ("injuries to your head"), a knock to the
    # head in everyday words
    (r"(?:injury|injuries|trauma)\s+(?:to|of)\s+(?:my|your|his|her|their|the)\s+"
     r"(?P<part>head|face|back|neck|chest|knee|knees|ankle|ankles|wrist|wrists|shoulder|"
     r"shoulders|hand|hands|arm|arms|leg|legs|foot|feet|eye|eyes|hip|hips|elbow|ribs)",
     "injury", None),
    (r"(?:banged|bumped|hit|knocked|bashed|bang|bump|knock|bash)\s+(?:my|your|his|her|their)"
     r"\s+head(?!\s+(?:against\s+a\s+brick\s+wall))|knocked\s+(?:on|in)\s+the\s+head|"
     r"(?:bang|bump|knock|blow)\s+(?:on|to)\s+(?:the|my|your|his|her)\s+head",
     "head injury", "S09.90"),
    (r"(?:breathing\s+(?:(?:is|was|has\s+been|'s|gets|got|getting|feels|very|really|a\s+"
     r"bit|quite)\s+)*(?:laboured|labored|rattly|noisy))|(?:laboured|labored)\s+breathing|"
     r"(?:rattly|rattling|crackly|crackling|bubbly)\s+(?:noises?|sounds?|chest|breathing)|"
     r"chest\s+(?:(?:is|was|'s|sounds|feels|a\s+bit|quite|really|very|all)\s+)*"
     r"(?:rattly|rattling|crackly|bubbly)|"
     r"(?:get|gets|getting|got|become|becomes)\s+(?:really\s+|quite\s+|a\s+bit\s+)?"
     r"(?:laboured|labored)", "abnormal breathing", "R06.89"),
    (r"(?:ears?)\s+(?:(?:is|are|keep|keeps|have\s+been|has\s+been|been|always|constantly)\s+)*"
     r"ringing|ringing\s+in\s+(?:my|your|his|her|the|both)\s+ears?", "tinnitus", "H93.19"),
    (r"blacked\s+out|blacking\s+out|black\s*outs?", "syncope", "R55"),
    # what is taken for a blood pressure is for its hypertension: "what do you take for your
    # blood pressure?", "amlodipine for my blood pressure" (not "for your blood pressure
    # check", "... to be taken")
    (r"for\s+(?:your|my|his|her)\s+(?P<head>blood\s+pressure)(?!\s+(?:check|reading|"
     r"readings|test|to\s+be|monitor|machine|cuff))", "hypertension", "I10"),
    # a grip that fails: "have you been dropping things", "I keep dropping my cup"
    (r"(?:dropping|dropped|drop|drops)\s+(?:things|stuff|objects|cups?|glasses|my\s+cup|"
     r"everything)|(?:keep|keeps|kept)\s+dropping", "dropping things", "R27.8"),
    # a sense said to be worse than it was: "my hearing's, you know, it's not as good as it
    # used to be", "my eyesight isn't what it was"
    (r"hearing" + _WORSE, "hearing loss", "H91.90"),
    (r"(?:eyesight|vision|sight)" + _WORSE, "visual disturbance", "H53.9"),
    # a reaction with a word that makes it one ("a mild reaction to it", "a bit of a
    # reaction"), not "my first reaction"
    (r"(?:mild|slight|bad|severe|nasty|small|little|skin|local|localised|localized)\s+"
     r"reactions?|bit\s+of\s+(?:a\s+)?reaction|reactions?\s+to\s+(?:it|them|that|this)\b",
     "reaction", None),
    (r"(?:speech|words)\s+(?:(?:is|was|were|has\s+been|went|goes|gets|got|became|a\s+bit|"
     r"all)\s+)*slurred|slurred\s+(?:speech|words)|slurring\s+(?:my|his|her|your|their)\s+"
     r"words", "slurred speech", "R47.81"),
    (r"(?:face|mouth)\s+(?:(?:was|is|has|had|went|started|been|all)\s+)*(?:drooped|"
     r"drooping|droopy|dropped)", "facial droop", "R29.810"),
    (r"(?:periods?)\s+(?:(?:are|is|have\s+been|has\s+been|were|was|'re|really|very|quite|"
     r"a\s+bit|so|getting|got|much)\s+)*heav(?:y|ier)", "menorrhagia", "N92.0"),
    (r"blood\s+(?:when|after)\s+(?:I|you|he|she|they)\s+wipe|blood\s+on\s+the\s+"
     r"(?:toilet\s+)?paper", "rectal bleeding", "K62.5"),
    (r"memory\s+(?:(?:is|has\s+been|'s|'s\s+been|been|getting|got|gets|gone|a\s+bit|really|"
     r"quite|very|so)\s+)*(?:worse|bad|poor|terrible|awful|going)", "memory loss", "R41.3"),
    (r"food\s+(?:(?:gets|getting|keeps|kept|got|is|was|has\s+been|sometimes)\s+)*"
     r"(?:getting\s+)?stuck", "dysphagia", "R13.10"),
    (r"walk(?:ing|s|ed)?\s+(?:(?:a\s+bit|slightly|really|quite|very|a\s+little)\s+)?"
     r"(?:funny|funnily|differently|strangely|oddly|unsteadily|weirdly)", "abnormal gait",
     "R26.9"),
    (r"(?:lost|losing|loss\s+of)\s+(?:some\s+(?:of\s+)?|part\s+of\s+|all\s+)?"
     r"(?:my|your|his|her|the)\s+(?:vision|sight|eyesight)|(?:lost|losing)\s+(?:some\s+|"
     r"part\s+of\s+)?(?:my|your|his|her|the)?\s*(?:field\s+of\s+vision|visual\s+field)",
     "vision loss", "H54.7"),
)
# an organ or a system with "problems": the organ's unspecified disorder ("a heart problem",
# "kidney trouble", "problems with my liver", "a bad chest")
ORGAN_PROBLEM: dict[str, tuple[str, str | None]] = {
    "heart": ("heart disease", "I51.9"), "lung": ("lung disease", "J98.4"),
    "lungs": ("lung disease", "J98.4"), "chest": ("respiratory disorder", "J98.9"),
    "liver": ("liver disease", "K76.9"), "kidney": ("kidney disease", "N28.9"),
    "kidneys": ("kidney disease", "N28.9"), "bladder": ("bladder disorder", "N32.9"),
    "stomach": ("stomach disorder", "K31.9"), "tummy": ("stomach disorder", "K31.9"),
    "bowel": ("bowel symptoms", "R19.8"), "bowels": ("bowel symptoms", "R19.8"),
    "skin": ("skin disorder", "L98.9"), "thyroid": ("thyroid disorder", "E07.9"),
    "prostate": ("prostate disorder", "N42.9"), "eye": ("eye disorder", "H57.9"),
    "eyes": ("eye disorder", "H57.9"), "ear": ("ear disorder", "H93.90"),
    "ears": ("ear disorder", "H93.90"), "mental health": ("mental disorder", "F99"),
    "joint": ("joint disorder", "M25.9"), "joints": ("joint disorder", "M25.9"),
    "back": ("back disorder", "M53.9"), "sleep": ("sleep disorder", "G47.9"),
    "memory": ("memory loss", "R41.3"), "breathing": ("abnormal breathing", "R06.9"),
    "waterworks": ("urinary symptoms", "R39.9"), "muscles": ("muscle disorder", "M62.9"),
    **dict.fromkeys(("elbow", "elbows", "knee", "knees", "hip", "hips", "shoulder",
                     "shoulders", "wrist", "wrists", "ankle", "ankles"),
                    ("joint disorder", "M25.9")),
}
_NOT_SITES = frozenset({"sleep", "memory", "breathing", "mental health", "waterworks"})
_ORGANS = "|".join(sorted((re.escape(o).replace(r"\ ", r"\s+") for o in ORGAN_PROBLEM),
                          key=len, reverse=True))
_TROUBLE = r"(?:problems?|conditions?|troubles?|issues?|disorders?)"
# the joints and back a patient calls bad: "a bad knee", "my dodgy hip"
_BAD = r"(?:bad|dodgy|gammy|dicky|troublesome|knackered)"
_BAD_PARTS = r"(?P<part>knees?|hips?|shoulders?|ankles?|wrists?|elbows?|neck|back)"
# pain while passing urine in everyday words
_DYSURIA = (r"(?:hurts?|hurting|stings?|stinging|burns?|burning|painful|sore|pain|discomfort)"
            r"(?:\s+(?:a\s+(?:bit|lot|little)|quite\s+a\s+bit|sometimes|so\s+much|really\s+bad|"
            r"badly))?\s+(?:when|while|as|whenever|after)\s+(?:I|you|he|she|they|we)\s+"
            r"(?:(?:kind\s+of|sort\s+of|like|just)\s+)?(?:go\s+"
            r"to\s+)?(?:pee|wee|urinate|pass\s+urine|pass\s+water|go\s+to\s+the\s+toilet|"
            r"use\s+the\s+bathroom|do\s+a\s+wee)")


_ADJECTIVES = frozenset({"sore", "painful", "aching", "achy", "throbbing", "itchy", "numb",
                         "scratchy", "tingly", "tingling", "stiff", "stiffer", "weak", "tender"})


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern
    canonical: str
    code: str | None
    kind: str  # "part_first", "predicate_first", "cannot", "state", "object"


@lru_cache(maxsize=1)
def _rules() -> tuple[_Rule, ...]:
    parts = _parts()
    rules: list[_Rule] = []
    flags = re.IGNORECASE
    for pred, canonical, code in _PREDICATES:
        # "my knee hurts", "her legs have been feeling weak", "my knee doesn't hurt"
        rules.append(_Rule(re.compile(
            rf"\b(?P<owner>{_OWNER})\s+{_SIDE}?(?P<part>{parts})\s+"
            rf"(?P<gap>(?:(?:{_LINK}|{_NEG_LINK})\s+){{0,4}})(?P<pred>{pred})\b", flags),
            canonical, code, "part_first"))
        # "aching legs", "a sore foot", "numb fingers", "stiff hands", "tender breasts": the
        # adjectives only ("hurting back there" is no back)
        adjectives = "|".join(a for a in pred.split("|") if a in _ADJECTIVES)
        if adjectives:
            rules.append(_Rule(re.compile(
                rf"\b(?P<pred>{adjectives})\s+(?:and\s+\w+\s+)?{_SIDE}?(?P<part>{parts})\b",
                flags), canonical, code, "predicate_first"))
    # "the light is hurting my eyes", "it hurts my back", "I hurt my knee"; not "it hurts"
    # alone, whose pain is named where the pronoun's referent is
    rules.append(_Rule(re.compile(
        rf"\b(?P<pred>hurts|hurt|hurting|aches|aching)\s+(?P<owner>my|your|his|her|the)\s+"
        rf"{_SIDE}?(?P<part>{parts})\b", flags), "pain", None, "object"))
    rules.append(_Rule(re.compile(rf"\b(?P<pred>{_DYSURIA})\b", flags), "dysuria", "R30.0",
                       "state"))
    for pattern, canonical, code in _FUNCTIONS:
        rules.append(_Rule(re.compile(rf"\b(?P<pred>{_CANNOT}\s+(?:(?:really|properly|even|"
                                      rf"quite|always|ever)\s+)?"
                                      rf"(?:{pattern}))", flags), canonical, code, "cannot"))
    # "a heart problem", "kidney trouble", "problems with my liver", "a bad chest"
    rules.append(_Rule(re.compile(
        rf"\b(?P<part>{_ORGANS})\s+{_TROUBLE}\b|\b{_TROUBLE}\s+with\s+(?:my|your|his|her|their|"
        rf"the)\s+(?P<part2>{_ORGANS})\b|\b(?:a|my|his|her|your)\s+"
        rf"(?P<head>{_BAD}\s+(?P<part3>chest|stomach|tummy|heart))\b", flags), "organ", None,
        "organ"))
    # "a bad knee", "my dodgy hip": the joint's pain
    rules.append(_Rule(re.compile(rf"\b(?:a|my|his|her|your)\s+(?P<head>{_BAD}\s+(?:left\s+|"
                                  rf"right\s+)?{_BAD_PARTS})\b", flags), "pain", None,
                       "predicate_first"))
    for pattern, canonical, code in _STATES:
        rules.append(_Rule(re.compile(rf"\b(?P<pred>{pattern})\b", flags), canonical, code,
                           "state"))
    return tuple(rules)


# the part must be a person's: "the back of the queue", "on the one hand", "a hand with"
_NOT_A_PART_AFTER = re.compile(r"^\s+(?:of|door|garden|seat|row|end|side|bone|up)\b",
                               re.IGNORECASE)
# "sore" and friends before a noun that is not a part are not a finding ("a sore point")
_NOT_A_FINDING = re.compile(r"\b(?:sore\s+loser|sore\s+point|pain\s+in\s+the\s+neck|"
                            r"blisters?\s+packs?|blister\s+packaging)\b", re.IGNORECASE)


def _injury(said: str, site: str) -> str:
    """The name of a soft-tissue injury said in everyday words."""
    if "dislocat" in said:
        return f"dislocation of {site}"
    if site in ("muscle", "muscles", "hamstring", "groin", "calf") or "pulled" in said or \
            "strain" in said:
        return "muscle strain" if site in ("muscle", "muscles") else f"strain of {site}"
    if "tor" in said.split()[0] or "torn" in said:
        return f"tear of {site}"
    return f"sprain of {site}"


def find_lay_symptoms(text: str) -> list[LaySymptom]:
    """The symptoms of `text` said as clauses, by position, not overlapping (the longest
    first)."""
    found: list[LaySymptom] = []
    for rule in _rules():
        for m in rule.pattern.finditer(text):
            if _NOT_A_FINDING.search(text[max(0, m.start() - 12):m.end() + 12]):
                continue
            groups = m.groupdict()
            part = groups.get("part") or groups.get("part2") or groups.get("part3")
            if part and _NOT_A_PART_AFTER.match(text[m.end():]) and \
                    rule.kind in ("part_first", "object"):
                continue
            start, end = (m.start("head"), m.end("head")) if groups.get("head") else \
                (m.start(), m.end())
            canonical, code, site = rule.canonical, rule.code, None
            if part:
                site = " ".join(part.lower().split())
                if rule.kind in ("part_first", "predicate_first", "object"):
                    canonical, code = _coded(rule.canonical, rule.code, part)
                elif rule.kind == "organ":
                    canonical, code = ORGAN_PROBLEM[site]
                    if site in _NOT_SITES:
                        site = None  # a function, not a place
                elif rule.canonical == "sprain":
                    canonical = _injury(m.group(0).lower(), site)
                elif rule.canonical == "injury":
                    canonical, code = (("head injury", "S09.90") if site == "head" else
                                       (f"injury of {site}", None))
            if rule.kind == "part_first":
                # "my arm is getting weaker": the finding is what the part does, the part its
                # site (and an anatomy entity, as the annotation guideline has it); "my knee
                # doesn't hurt": the negation stays outside the mention
                start = m.start("pred")
            found.append(LaySymptom(start, end, text[start:end], canonical, code, site))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[LaySymptom] = []
    for s in sorted(found, key=lambda s: -(s.end - s.start)):
        if all(s.end <= o.start or o.end <= s.start for o in out):
            out.append(s)
    return sorted(out, key=lambda s: s.start)
