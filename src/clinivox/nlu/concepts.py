"""Clinical concepts the NLU knows beyond the lexicon: symptoms and findings with their
ICD-10-CM codes and the words patients and clinicians use for them ("tummy ache",
"pins and needles", "being sick"), and the capital-letter abbreviations of common notes
("HTN", "T2DM").

The medical lexicon (shared with the ASR biasing, and left as it is so that transcripts
do not change) lists symptoms without codes and few lay forms. The codes here are the
ICD-10-CM codes of the unspecified symptom (R-codes where one exists). A form written in
capitals is matched in capitals only.

`EVERYDAY_CLINICAL` lists the everyday English words that are nonetheless the plain name of
a condition ("diabetes", "flu", "fracture"): the NLU's lexicon matcher drops every other
one-word diagnosis form that is an everyday word ("other", "hand", "street": index terms
of ICD-10-CM that are not names of a problem), so that ordinary words get no code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# dysuria said as what is felt and when: "stinging when you pass urine", "burning or
# stinging pain on passing urine"
DYSURIA = "|".join(
    f"{felt} {when} {act}"
    for felt in ("pain", "burning", "stinging", "burning or stinging", "stinging or burning",
                 "burning pain", "stinging pain", "burning or stinging pain", "discomfort")
    for when in ("when", "on", "while")
    for act in ("passing urine", "you pass urine", "i pass urine", "peeing", "i pee",
                "you pee", "weeing", "urinating", "passing water"))

# cancer by site, as said and as noted ("bowel cancer", "brain Ca", "cancer of the
# pancreas"): site words -> ICD-10-CM (the site unspecified further)
CANCER_SITES: tuple[tuple[str, str, str], ...] = (
    ("brain", "brain", "C71.9"), ("colon", "colon", "C18.9"), ("bowel", "bowel", "C18.9"),
    ("colorectal", "", "C18.9"), ("rectal", "rectum", "C20"), ("lung", "lung", "C34.90"),
    ("breast", "breast", "C50.919"), ("prostate", "prostate", "C61"),
    ("ovarian", "ovary", "C56.9"), ("stomach", "stomach", "C16.9"),
    ("gastric", "", "C16.9"), ("pancreatic", "pancreas", "C25.9"),
    ("bladder", "bladder", "C67.9"), ("cervical", "cervix", "C53.9"),
    ("liver", "liver", "C22.9"), ("oesophageal", "oesophagus", "C15.9"),
    ("esophageal", "esophagus", "C15.9"), ("kidney", "kidney", "C64.9"),
    ("renal", "", "C64.9"), ("thyroid", "thyroid", "C73"), ("testicular", "testis", "C62.90"),
    ("throat", "throat", "C14.0"), ("skin", "skin", "C44.90"), ("bone", "bone", "C41.9"),
    ("womb", "womb", "C55"), ("uterine", "uterus", "C55"), ("mouth", "mouth", "C06.9"),
)
CANCERS = tuple(
    (f"{adj} cancer", code, "|".join(
        [f"{adj} cancers", f"{adj} ca", f"{adj} carcinoma", f"{adj} malignancy"]
        + ([f"cancer of the {noun}", f"cancer in the {noun}"] if noun else [])))
    for adj, noun, code in CANCER_SITES)

# canonical, ICD-10-CM, other forms ("|"-separated)
SYMPTOMS: tuple[tuple[str, str | None, str], ...] = (
    ("chest pain", "R07.9", "pain in my chest|pain in the chest|chest pains"),
    ("chest discomfort", "R07.89", "discomfort in my chest|discomfort in the chest"),
    ("chest tightness", "R07.89", "tight chest|tightness in my chest|tightness in the chest"
     "|chest feels tight|tight in my chest|tight in your chest|tight in the chest"
     "|chest is tight|chest was tight|chest felt tight|chest pressure|pressure on my chest"
     "|pressure in my chest|pressure on your chest"
     "|pressure in your chest|pressure on the chest|pressure in the chest"),
    ("shortness of breath", "R06.02", "short of breath|out of breath|short of breathe"),
    ("breathlessness", "R06.00", "breathless|dyspnoea|dyspnea|difficulty breathing"
     "|difficulty in breathing|trouble breathing|struggling to breathe|hard to breathe"
     "|problems breathing|problem breathing|trouble with my breathing"
     "|breathing difficulties|breathing difficulty"),
    ("orthopnoea", "R06.01", "orthopnea"),
    ("wheeze", "R06.2", "wheezing|wheezy|wheezes"),
    ("stridor", "R06.1", ""),
    ("palpitations", "R00.2", "palpitation|heart racing|racing heart|heart pounding"
     "|funny heartbeats|funny heartbeat|irregular heartbeat|irregular heartbeats"
     "|extra heartbeats|extra beats|fast heartbeat|racing heartbeat"),
    ("tachycardia", "R00.0", ""), ("bradycardia", "R00.1", ""),
    ("syncope", "R55", "fainting|fainted|passed out|presyncope|blackouts|a faint"
     "|blackout|a blackout"),
    ("dizziness", "R42", "dizzy|light headed|lightheaded|light-headed|vertigo"),
    ("headache", "R51.9", "headaches|head ache|sore head"),
    ("migraine", "G43.909", "migraines"),
    ("nausea", "R11.0", "nauseous|nauseated|feeling sick|feel sick|queasy"),
    ("vomiting", "R11.10", "vomit|vomited|vomits|being sick|throwing up|threw up|thrown up"
     "|been sick"),
    ("diarrhoea", "R19.7", "diarrhea|loose stools|loose stool|runny stools|the runs"),
    ("constipation", "K59.00", "constipated"),
    ("lower abdominal pain", "R10.30", "lower abdo pain|lower tummy pain"
     "|pain in the lower abdomen|pain in my lower tummy"),
    ("upper abdominal pain", "R10.10", "upper abdo pain|upper tummy pain"),
    ("epigastric pain", "R10.13", "epigastric discomfort"),
    ("suprapubic pain", "R10.2", "suprapubic discomfort|suprapubic tenderness"),
    ("abdominal pain", "R10.9", "abdo pain|tummy pain|tummy ache|stomach pain|stomach ache"
     "|stomachache|belly pain|belly ache|pain in my tummy|pain in my stomach"
     "|pain in the abdomen"),
    ("pelvic pain", "R10.2", ""),
    ("back pain", "M54.9", "backache|back ache|bad back"),
    ("neck pain", "M54.2", ""), ("shoulder pain", "M25.519", ""),
    ("knee pain", "M25.569", ""), ("hip pain", "M25.559", ""), ("leg pain", "M79.606", ""),
    ("joint pain", "M25.50", "joint pains|arthralgia|aching joints|painful joints"),
    ("myalgia", "M79.10", "muscle aches|muscle ache|muscle pain|muscle pains"
     "|aching muscles|body aches"),
    ("pain", "R52", "pains|aching|ache|painful"),
    ("fever", "R50.9", "fevers|pyrexia|febrile|feverish|high temperature|temperatures"
     "|a temperature|high temp|a temp|temps|raised temperature|raised temp|temperature|temp"),
    ("rigors", "R68.83", "chills|shivers|shivering|shivery|shivered"),
    ("sweating", "R61", "night sweats|sweats|sweaty|clammy|diaphoresis|sweatiness"),
    ("restlessness", "R45.1", "restless"),
    ("fatigue", "R53.83", "tiredness|tired all the time|exhaustion|exhausted|lethargy"
     "|lethargic|tired|fatigued"),
    ("malaise", "R53.81", "generally unwell|feeling unwell|feel unwell|run down|unwell"),
    ("weakness", "R53.1", "feel weak|feeling weak|felt weak|feels weak|getting weaker"
     "|gone weak|went weak|weak|weaker|feels weaker|feel weaker|felt weaker|feeling weaker"),
    ("muscle weakness", "M62.81", "weakness of the muscles|weak muscles"),
    ("weight loss", "R63.4", "lost weight|losing weight|weight losses"),
    ("weight gain", "R63.5", "gained weight|putting on weight|put on weight"),
    ("loss of appetite", "R63.0", "lost my appetite|reduced appetite|poor appetite|anorexia"
     "|off my food|off food|not eating"),
    ("polydipsia", "R63.1", "excessive thirst|very thirsty|always thirsty"),
    ("polyuria", "R35.8", "passing urine more|weeing more|peeing more|urinating more"
     "|passing more urine"),
    ("urinary frequency", "R35.0", "frequency of urination|going to the toilet more often"
     "|frequency"),
    ("urinary urgency", "R39.15", ""),
    ("dysuria", "R30.0", DYSURIA + "|burning when passing urine|burning when i pee"
     "|pain passing urine|painful urination|stinging when passing urine|burning on urination"),
    ("haematuria", "R31.9", "hematuria|blood in urine|blood in the urine|blood in my urine"
     "|blood in your urine"),
    ("frank haematuria", "R31.0", "frank hematuria|visible haematuria|visible hematuria"
     "|gross haematuria|gross hematuria"),
    ("urinary symptoms", "R39.9", "urinary sx|urinary problems|waterworks problems|LUTS"
     "|urine symptoms|urine problems|bladder symptoms"),
    ("vaginal discharge", "N89.8", "PV discharge|discharge from the vagina"),
    ("vaginal bleeding", "N93.9", "PV bleeding|PV bleed|bleeding from the vagina"),
    ("incontinence", "R32", "incontinent|leaking urine"),
    ("cough", "R05.9", "coughing|coughs|dry cough|chesty cough|tickly cough"),
    ("sputum", "R09.3", "phlegm|mucus|sputum production"),
    ("haemoptysis", "R04.2", "hemoptysis|coughing up blood|coughed up blood"
     "|bringing up blood|brought up blood"
     "|coughed up a bit of blood|cough up blood"),
    ("sore throat", "J02.9", "throat pain|painful throat|sore throats"),
    ("hoarseness", "R49.0", "hoarse voice|hoarse|lost my voice"),
    ("common cold", "J00", "a cold|head cold|colds|cold symptoms|cold sx|coryzal symptoms"
     "|a bad cold|a heavy cold|a nasty cold|a stinking cold|a streaming cold|a slight cold"
     "|a little cold|bit of a cold|a horrible cold|a terrible cold|a really bad cold"
     "|coryza"),
    ("hay fever", "J30.1", "hayfever"), ("allergic rhinitis", "J30.9", ""),
    ("enlarged tonsils", "J35.1", "swollen tonsils|tonsillar enlargement"),
    ("viral infection", "B34.9", "viral illness|viral illnesses|a virus|viral infections"
     "|the virus|virus thing|viral thing"),
    ("pregnancy", "Z33.1", "pregnant"),
    ("bowel symptoms", "R19.8", "bowel sx|bowel problems|bowel issues"
     "|problems with my bowels|problems with your bowels|problem with my bowels"
     "|problem with your bowels|trouble with my bowels"),
    ("speech disturbance", "R47.9", "speech disturbances|problems with my speech"
     "|difficulty speaking|speech problems|trouble speaking"),
    ("dysphasia", "R47.02", "expressive dysphasia|receptive dysphasia|aphasia"),
    ("unsteadiness", "R26.81", "balance issues|balance problems|problems with balance"
     "|problems with my balance|unsteady"),
    ("gait disturbance", "R26.9", "gait disturbances|unsteady gait|abnormal gait"
     "|unsteady on my feet|off balance"),
    ("collapse", "R55", "collapsed|collapses|collapsing"),
    ("pneumothorax", "J93.9", "collapsed lung|collapsed a lung"),
    ("runny nose", "J34.89", "rhinorrhoea|rhinorrhea|runny noses|nose is running"
     "|nose has been running|running nose|nose running|sniffling|sniffles|the sniffles|sniffly"),
    ("nasal congestion", "R09.81", "blocked nose|stuffy nose|congested nose"),
    ("sneezing", "R06.7", ""),
    ("epistaxis", "R04.0", "nosebleed|nosebleeds|nose bleed|nose bleeds"),
    ("earache", "H92.09", "ear ache|ear pain|otalgia|sore ear"),
    ("tinnitus", "H93.19", "ringing in my ears|ringing in the ears"),
    ("dysphagia", "R13.10", "difficulty swallowing|trouble swallowing|hard to swallow"
     "|odynophagia|painful swallowing|pain on swallowing|pain when swallowing"),
    ("heartburn", "R12", "acid reflux|reflux"),
    ("dyspepsia", "R10.13", "indigestion"),
    ("bloating", "R14.0", "bloated|abdominal distension"),
    ("flatulence", "R14.3", "passing wind"),
    ("haematemesis", "K92.0", "hematemesis|vomiting blood|vomited blood"),
    ("melaena", "K92.1", "melena|black stools|black stool|tarry stools"),
    ("rectal bleeding", "K62.5", "bleeding from the bottom|bleeding from the back passage"),
    # ICD-10-CM's index: "Blood, in feces K92.1" (occult: R19.5)
    ("blood in stool", "K92.1", "blood in the stool|blood in my stool|blood in stools"
     "|blood in the poo|blood in my poo|fresh blood in stool|hematochezia|haematochezia"),
    ("jaundice", "R17", "jaundiced|yellow skin"),
    ("rash", "R21", "rashes|skin rash|spots"),  # "spots": FORM_NEEDS_BEFORE
    ("erythema", "L53.9", "redness|red skin"),
    # "dry", "dryness" ("it's been dry and itchy", "your dryness"): the skin's where the skin
    # is talked of (FORM_CONTEXT; "dry": FORM_NEEDS_BEFORE); "it's quite dry" of a cough is
    # no finding
    ("dry skin", "L85.3", "xerosis|dry|dryness"), ("cracked skin", None, "skin cracks"),
    ("insect bite", "T14.8", "insect bites|bug bite|bug bites|bitten by an insect"
     "|wasp bite|bee bite|horsefly bite"),
    ("insect sting", None, "bee sting|wasp sting|stung by a bee|stung by a wasp|bee stings"
     "|wasp stings|insect stings"),
    ("diabetes mellitus", "E11.9", "diabetic"),
    ("epilepsy", "G40.909", "epileptic"),  # "known epileptic", as "known diabetic"
    ("stiffness", None, "stiff|stiffer|joint stiffness|stiff joints|stiffness in joints"),
    ("pruritus", "L29.9", "itching|itchy|itchiness|itch"),
    ("swelling", "R60.9", "swollen|oedema|edema"),
    ("ankle swelling", "R60.0", "swollen ankles|swollen ankle|ankle oedema|ankle edema"),
    ("lymphadenopathy", "R59.9", "swollen glands|swollen lymph nodes|enlarged lymph nodes"),
    ("numbness", "R20.0", "numb|numbing|losing feeling|lost feeling|loss of feeling"
     "|loss of sensation|lost sensation|losing sensation"),
    ("tingling", "R20.2", "pins and needles|paraesthesia|paresthesia"),
    ("tremor", "R25.1", "tremors|shaky hands"),
    ("seizure", "R56.9", "seizures|convulsion|convulsions|fits|a fit|epileptic fit"
     "|epileptic fits"),
    ("confusion", "R41.0", "confused|disorientated|disoriented|delirium"),
    ("memory loss", "R41.3", "forgetful|forgetfulness|memory problems"),
    ("hallucinations", "R44.3", "hallucinating"),
    ("blurred vision", "H53.8", "blurry vision|vision is blurred|vision blurred"
     "|vision is blurry|vision has been blurry|vision's blurry|vision went blurry"
     "|vision goes blurry|blurring of vision|blurry"),
    ("diplopia", "H53.2", "double vision"),
    ("visual disturbance", "H53.9", "vision problems|problems with my vision|vision sx"
     "|visual symptoms|visual sx|visual problems"),
    ("photophobia", "H53.14", "light hurts my eyes|sensitive to light|sensitivity to light"
     "|sensitive to bright light|sensitive to bright lights|sensitivity to bright light"
     "|sensitivity to bright lights|sensitive to the light|sensitivity to lights"),
    ("neck stiffness", None, "stiff neck"),

    ("slurred speech", "R47.81", "slurring"),
    ("facial droop", "R29.810", "facial drooping|face drooping"),
    ("loss of consciousness", "R40.4", "lost consciousness|unconscious|lose consciousness"
     "|losing consciousness"),
    ("insomnia", "G47.00", "can't sleep|trouble sleeping|difficulty sleeping|not sleeping"),
    ("anxiety", "F41.9", "anxious"),
    ("stress", "Z73.3", "stressed|under stress|stressful"),
    ("low mood", "F32.A", "feeling low|feeling down|feel down|depressed mood"),
    ("dehydration", "E86.0", "dehydrated"),
    ("hypotension", "I95.9", "low blood pressure|low BP"),
    ("lactose intolerance", "E73.9", "lactose intolerant"),
    ("aura", None, "visual aura|visual auras|auras"),
    ("blocked ear", None, "blocked ears|ear feels blocked|ears feel blocked|ear is blocked"
     "|ears are blocked|ears feel bunged up|ear feels bunged up"),
    ("throat closing", None, "closing of the throat|throat is closing|throat feels tight"
     "|tight throat|throat tightness"),
    ("hypertension", "I10", "high blood pressure|raised blood pressure|high BP|raised BP"
     "|blood pressure problems|blood pressure problem|problems with my blood pressure"
     "|problem with my blood pressure|problems with your blood pressure"
     "|trouble with my blood pressure"),
    ("hypercholesterolaemia", "E78.00", "high cholesterol|raised cholesterol"
     "|hypercholesterolemia"),
    ("hypoxia", "R09.02", "low oxygen|low sats"), ("cyanosis", "R23.0", "cyanosed|cyanotic"),
    ("claudication", "I73.9", ""),
    ("dysmenorrhoea", "N94.6", "painful periods|period pain|dysmenorrhea"),
    ("menorrhagia", "N92.0", "heavy periods"),
    ("loss of smell", "R43.0", "anosmia|lost my sense of smell"),
    ("falls", "R29.6", "a fall|falling over|fell over"),
    ("allergic reaction", "T78.40", "allergic reactions"),
    # single everyday words of symptoms; the ambiguous ones are terms only where the words
    # around them make them one (`FORM_GUARDS`, `FORM_NEEDS_BEFORE`, `FORM_CONTEXT`)
    ("bleeding", "R58", "bleed|bleeds|bled"),  # "bled": FORM_NEEDS_BEFORE
    ("cramp", "R25.2", "cramps|cramping|crampy pain|crampy|muscle cramps|muscle cramp"),
    ("abdominal cramps", "R10.9", "stomach cramps|tummy cramps|abdominal cramping"),
    ("soreness", "R52", "sore"),
    ("pus", None, "purulent discharge"),
    ("discharge", None, "discharges"),
    # body systems with "problems" or "symptoms", as notes and patients say them
    ("mood disorder", "F39", "mood symptoms|mood sx|mood problems|mood issues|low mood sx"),
    ("skin disorder", "L98.9", "skin problems|skin problem|skin issues|skin symptoms"
     "|skin sx"),
    ("thyroid disorder", "E07.9", "thyroid problems|thyroid problem|thyroid issues"),
    ("kidney disease", "N28.9", "kidney problems|kidney problem|renal problems"),
    ("joint disorder", "M25.9", "joint problems|joint problem"),
    ("abnormal breathing", "R06.9", "breathing problems|breathing problem|respiratory symptoms"
     "|respiratory sx"),
    ("mental disorder", "F99", "mental health problems|mental health problem"
     "|mental health issues"),
    # common symptoms a check of 174 symptom phrasings found missing (docs/nlu.md, "A
    # fourth session"); not from the gold set
    # not "going to the toilet a lot": bowels or bladder
    ("frequent urination", "R35.0", "urinary frequency|peeing a lot|weeing a lot"
     "|passing urine a lot|passing water a lot"),
    ("watery eyes", "H04.20", "watering eyes|eyes watering|eyes are watering"),
    ("loss of taste", "R43.8", "lost my sense of taste|can't taste anything"),
    ("bruising", "R23.3", "bruises easily|bruise easily|easy bruising"),
    ("lump", "R22.9", "lumps"), ("hair loss", "L65.9", "losing my hair|losing hair"),
    ("nightmares", "F51.5", "bad dreams"), ("hot flushes", "R23.2", "hot flashes|hot flush"),
    ("excessive thirst", "R63.1", "thirst|thirsty|very thirsty|thirsty all the time"
     "|polydipsia"),
    ("pallor", "R23.1", "pale"), ("halitosis", "R19.6", "bad breath"),
    ("hiccups", "R06.6", "hiccough|hiccoughs"), ("clumsiness", "R27.8", "clumsy"),
    ("loss of balance", "R26.81", "losing my balance|lose my balance|unsteady on my feet"
     "|unsteadiness"),
    ("limping", "R26.89", "a limp"),
)
# common conditions by the names clinicians and patients use that the lexicon (ICD-10-CM
# titles, its common diagnosis names) does not reach: canonical, ICD-10-CM, other forms. Some
# were worse than missed: "gestational diabetes" was coded as type 2 diabetes (E11.9) and
# "heat stroke" as a cerebral infarction (I63.9). Written from a list of common primary-care
# conditions, not from the gold set (docs/nlu.md, "A fourth session").
CONDITIONS: tuple[tuple[str, str | None, str], ...] = (
    ("gonorrhoea", "A54.9", "gonorrhea"), ("chlamydia", "A74.9", "chlamydial infection"),
    ("genital herpes", "A60.00", ""), ("genital warts", "A63.0", "genital wart"),
    ("sexually transmitted infection", "A64", "sexually transmitted infections"
     "|sexually transmitted disease|sexually transmitted diseases"),
    ("cold sore", "B00.1", "cold sores"), ("wart", "B07.9", "warts"),
    ("blood clot", "I82.90", "blood clots"),
    ("irregular heartbeat", "I49.9", "irregular heart beat|irregular heart rhythm"),
    ("verruca", "B07.0", "verrucas|verrucae|plantar wart|plantar warts"),
    ("threadworms", "B80", "threadworm|pinworms|pinworm"),
    # not "hep B": notes write it for the vaccine ("UTD with hep B")
    ("hepatitis A", "B15.9", ""), ("hepatitis B", "B19.10", ""), ("hepatitis C", "B19.20", ""),
    ("malaria", "B54", ""),
    ("dengue fever", "A90", "dengue"), ("norovirus", "A08.11", "norovirus infection"),
    ("salmonella infection", "A02.9", "salmonella"), ("septic shock", "R65.21", ""),
    ("slapped cheek syndrome", "B08.3", "slapped cheek|fifth disease"),
    ("roseola", "B08.20", ""), ("kawasaki disease", "M30.3", ""),
    ("fungal nail infection", "B35.1", "fungal nail|fungal nails|nail fungus"),
    ("croup", "J05.0", ""), ("pulmonary fibrosis", "J84.10", ""),
    ("mouth ulcer", "K12.0", "mouth ulcers|aphthous ulcer|aphthous ulcers"),
    ("gum disease", "K05.6", "periodontal disease"),
    ("dental abscess", "K04.7", "tooth abscess"), ("diverticulitis", "K57.92", ""),
    ("hiatal hernia", "K44.9", ""), ("bowel obstruction", "K56.609", "intestinal obstruction"),
    ("pilonidal sinus", "L05.92", "pilonidal cyst"), ("dandruff", "L21.0", ""),
    ("ingrown toenail", "L60.0", "ingrowing toenail|ingrown toenails|ingrowing toenails"
     "|ingrown toe nail"),
    ("liver failure", "K72.90", "hepatic failure"), ("kidney failure", "N19", "renal failure"),
    ("erectile dysfunction", "N52.9", "impotence"),
    ("prostate enlargement", "N40.0", "enlarged prostate gland"),
    ("testicular torsion", "N44.00", "torsion of the testicle|torsion of the testis"),
    ("fibroids", "D25.9", "fibroid|uterine fibroids"),
    ("breast lump", "N63.0", "lump in my breast|lump in the breast|breast lumps"),
    ("cervical ectropion", "N86", ""), ("bacterial vaginosis", "N76.0", ""),
    ("pelvic inflammatory disease", "N73.9", ""), ("amenorrhoea", "N91.2", "amenorrhea"),
    ("gestational diabetes", "O24.419", ""), ("placenta praevia", "O44.00", "placenta previa"),
    ("morning sickness", "O21.9", ""),
    ("hyperthyroidism", "E05.90", ""), ("high blood sugar", "R73.9", "high blood sugars"
                                                     "|high sugars|high sugar levels"),
    ("low blood sugar", "E16.2", "low blood sugars|low sugars|low sugar levels"),
    ("vitamin b12 deficiency", "E53.8", "b12 deficiency"),
    ("down syndrome", "Q90.9", "down's syndrome|downs syndrome"),
    ("motor neurone disease", "G12.20", "motor neuron disease"),
    ("brain tumour", "D49.6", "brain tumor"), ("osteopenia", "M85.80", ""),
    ("carpal tunnel syndrome", "G56.00", "carpal tunnel"),
    ("tendonitis", "M77.9", "tendinitis"),
    ("achilles tendonitis", "M76.60", "achilles tendinitis"), ("bunion", "M21.619", "bunions"),
    ("self-harm", "R45.88", "self harm|self-harming|self harming"),
    ("macular degeneration", "H35.30", ""),
    ("dry eye syndrome", "H04.129", "dry eyes|dry eye"),
    ("impacted earwax", "H61.20", "earwax|ear wax"), ("hearing loss", "H91.90", "loss of hearing"),
    ("perforated eardrum", "H72.90", "perforated ear drum|burst eardrum"),
    ("meniere's disease", "H81.09", "menieres disease"),
    ("deviated septum", "J34.2", "deviated nasal septum"),
    ("heat stroke", "T67.01XA", "heatstroke"),
    ("nappy rash", "L22", "diaper rash"),
    ("restless legs syndrome", "G25.81", "restless legs|restless leg syndrome"),
    # conditions by their everyday names, from a list of 104 written at the start of the
    # sixth session (docs/nlu.md, "A sixth session"); not from the gold set
    ("menopause", "N95.1", "the menopause|menopausal symptoms|menopausal"),
    ("iron deficiency", "E61.1", "low iron|iron deficient|low iron levels"),
    ("pulmonary embolism", "I26.99", "clot on the lung|clot on the lungs|clot on my lung"
     "|clot on his lung|clot on her lung|clot in the lung|clot in my lung|clots on the lungs"
     "|clots in the lungs|blood clot in the lung|blood clot on the lung"),
    ("strabismus", "H50.9", "a squint"), ("amblyopia", "H53.009", "lazy eye|a lazy eye"),
    ("furuncle", "L02.92", "a boil|boils"), ("burnout", "Z73.0", "burn-out|burnt out"),
    ("vitreous floaters", "H43.399", "floaters|eye floaters"),
    ("knee effusion", "M25.469", "water on the knee|water on my knee"),
    ("hole in the heart", "Q21.9", "a hole in the heart|hole in his heart|hole in her heart"),
    ("throat infection", "J02.9", "throat infections"),
    ("eye infection", "H10.9", "eye infections"),
    ("yeast infection", "B37.9", "yeast infections"),
    ("fungal infection", "B49", "fungal infections"),
    ("ulcer", None, "an ulcer|ulcers"), ("cyst", None, "a cyst|cysts"),
    ("prolapse", None, "a prolapse"), ("sprain", None, "a sprain|sprains"),
    ("autoimmune disease", "M35.9", "autoimmune diseases|autoimmune condition"
     "|autoimmune conditions|autoimmune disorder|autoimmune disorders|autoimmune problems"
     "|autoimmune stuff"),
    ("tenderness", None, "tender"),  # FORM_NEEDS_BEFORE
    ("sports injury", "T14.90", "sport injury|sporting injury|sports injuries|boxing injury"
     "|rugby injury|football injury"),
    ("trapped nerve", None, "a trapped nerve|pinched nerve|a pinched nerve"),
    ("shin splints", None, ""),
)
# tests in the words of notes and consultations (the lexicon has the formal names: "full
# blood count", "C-reactive protein"): canonical, other forms
TESTS: tuple[tuple[str, str], ...] = (
    ("blood test", "blood tests|bloods|blood work|bloodwork|blood sample|blood samples"),
    ("blood glucose", "blood sugar|blood sugars|sugar levels|sugar level|glucose levels"
     "|glucose level|blood glucose levels"),
    ("allergy test", "allergy tests|allergy testing|skin prick test|skin prick testing"),
    ("stool sample", "stool samples|stool test|stool tests|stool culture"),
    ("blood film", "blood films"),
    ("brain scan", "brain scans|head scan|head scans"),
    ("inflammatory markers", "inflammatory marker"),
    ("autoantibodies", "rheumatological antibodies|rheumatology antibodies|autoimmune antibodies"
     "|autoimmune screen|autoimmune bloods|rheumatology bloods|rheum bloods"),
    ("scan", "scans"),  # a scan not named ("a scan of your brain"): FORM_NEEDS_BEFORE
    ("blood cultures", ""),
    ("urea and electrolytes", "U&E|U&Es|U+E|U+Es|renal function"),
    ("urine test", "urine tests|urine sample|urine samples|urine dip|urine dipstick"
     "|dipstick|urinalysis|MSU|mid-stream urine"),
    ("swab", "swabs|throat swab|nasal swab|covid swab|swabbed"),
    ("pregnancy test", "pregnancy tests"),
    ("sexual health screen", "STI screen|STD screen|STI test|STD test|STI screening"
     "|STD screening|sexual health check"),
    ("x-ray", "x-rays|xray|xrays|x ray|chest x-ray|CXR"),
    ("D-dimer", "d dimer|ddimer"),
    ("ECG", "ECGs|EKG|heart tracing"),
    # common tests a check of 76 test names found missing (docs/nlu.md, "A fourth session")
    ("cervical screening", "smear test|smear tests|cervical smear"),
    ("COVID test", "covid tests|PCR test|PCR tests|lateral flow test|lateral flow tests"
     "|lateral flow"),
    ("mammogram", "mammograms|mammography|breast screening"),
    ("bone density scan", "bone density scans|DEXA scan|DEXA scans|DXA scan"),
    ("hearing test", "hearing tests|audiogram"), ("eye test", "eye tests|eye examination"),
    ("kidney function test", "kidney function|kidney function tests|kidney tests"),
    ("urine culture", "urine cultures"), ("angiogram", "angiograms|angiography"),
    ("Holter monitor", "24-hour tape|24 hour tape|24-hour ECG|24 hour ECG|heart monitor"),
    ("blood pressure check", "blood pressure checked|blood pressure reading"
     "|blood pressure readings|blood pressure"),  # "blood pressure": FORM_NEEDS_BEFORE
    # tests not named ("going for tests", "some more tests"): FORM_NEEDS_BEFORE
    ("tests", ""),
    # common laboratory tests and investigations by the names and abbreviations of British
    # notes (written from the usual requests, not from gold sentences)
    ("troponin", "trop|trop T|trop I|troponins|high-sensitivity troponin"),
    ("urate", "serum urate|uric acid level|uric acid levels|urate level|urate levels"),
    ("rheumatoid factor", "rheum factor|RhF"), ("antinuclear antibody", "ANA|ANAs"),
    ("lipid profile", "lipids|lipid profile|cholesterol test|cholesterol check"),
    ("vitamin B12 level", "B12 level|B12 levels|B12 and folate|folate level"),
    ("clotting screen", "clotting|coagulation screen|clotting studies"),
    ("creatine kinase", "CK level"), ("blood gas", "blood gases|ABG|VBG|arterial blood gas"
                                      "|venous blood gas"),
    ("ultrasound scan", "USS|ultrasound scans"), ("gastroscopy", "OGD|upper GI endoscopy"),
    ("faecal immunochemical test", "FIT test|FIT tests"), ("CA-125", "CA125|CA 125"),
    ("bone profile", "bone profiles"), ("coeliac screen", "coeliac serology|celiac screen"
                                         "|TTG|tTG"),
    ("iron studies", "iron levels|iron profile"),
    ("glucose tolerance test", "OGTT|glucose tolerance tests"),
    ("urine microscopy and culture", "urine MC&S|urine M&C|MC&S"),
    ("nerve conduction studies", "nerve conduction study|nerve conduction test"),
    ("electroencephalogram", "EEG|EEGs"), ("echocardiogram", "echo|echocardiograms"),
    ("thyroid function tests", "thyroid function|thyroid levels|thyroid bloods|thyroid test"
     "|thyroid tests|thyroid blood test"),
    ("liver function tests", "liver function|liver bloods|liver tests"),
)
# drug classes in the words of notes that the shared lexicon (and so the ASR biasing) does
# not list: canonical (the lexicon's class name where it has one), other forms
DRUG_CLASS_WORDS: tuple[tuple[str, str], ...] = (
    ("analgesics", "analgesia|simple analgesia"),
    ("oral contraceptives", "combined pill|combined oral contraceptive|COCP|progesterone only pill"
     "|progesterone-only pill"),
    ("anti-inflammatory agents, non-steroidal",
     "anti-inflammatory|anti-inflammatories|anti-inflammatory medication"
     "|anti-inflammatory medications|anti-inflammatory tablets|anti-inflammatory painkillers"),
    ("antimalarials", "anti-malarials|malaria tablets|malaria prevention|malaria prophylaxis"
     "|malaria preventative medication|malaria medication|malaria pills"),
    # in the words of British consultations
    ("oral contraceptives", "the pill"),  # only after "on", "taking", ... (FORM_NEEDS_BEFORE)
    ("proton pump inhibitors", "proton pump inhibitor"),
    ("antitussive agents", "cough syrup|cough mixture|cough medicine|cough medicines"
     "|cough linctus|linctus"),
    ("histamine antagonists", "hay fever tablets|hayfever tablets|allergy tablets"
     "|hay fever medication|hayfever medication|antihistamine tablets"),
    # medicines named by what they treat, in everyday British words
    ("antihypertensive agents", "blood pressure tablets|blood pressure tablet"
     "|blood pressure medication|blood pressure medications|blood pressure medicine"
     "|blood pressure pills|BP tablets|BP meds|BP medication"),
    ("lipid regulating agents", "cholesterol tablets|cholesterol medication|cholesterol pills"),
    ("diuretics", "water tablets|water tablet|water pills"),
    ("hypnotics and sedatives", "sleeping tablets|sleeping pills|sleeping tablet"),
)
# drugs known by what they look like in British consultations: the inhaler's colour names
# the reliever (salbutamol, blue) and the preventer (beclometasone, brown): ingredient, forms
LAY_DRUGS: tuple[tuple[str, str], ...] = (
    ("albuterol", "blue inhaler|blue inhalers|blue reliever|blue reliever inhaler"),
    ("beclomethasone", "brown inhaler|brown inhalers|brown preventer|brown preventer inhaler"),
    ("ferrous sulfate", "iron tablets|iron tablet|iron supplements|iron pills"),
    # common medicines the offline drug source lacks (its hormones) or names otherwise
    ("estradiol", "estradiol|oestradiol"), ("progesterone", "progesterone"),
    ("testosterone", "testosterone"), ("levothyroxine", "thyroxine|thyroxin"),
    ("sennosides", "senna"),
)
# allergies to what is not a drug: the allergen, as the record names it
FOOD_ALLERGY_NAMES: tuple[tuple[str, str], ...] = (
    ("peanut", "peanut"), ("peanut", "peanuts"), ("nut", "nut"), ("nut", "nuts"),
    ("shellfish", "shellfish"), ("egg", "egg"), ("egg", "eggs"), ("milk", "milk"),
    ("latex", "latex"), ("wheat", "wheat"), ("fish", "fish"), ("sesame", "sesame"))
# ("allergic to peanuts", "allergy to nuts", with or without fillers between, are
# `entities._FOOD_ALLERGEN`'s)
FOOD_ALLERGIES: tuple[tuple[str, str], ...] = tuple(
    (allergen, f"{form} allergy|{form} allergies") for allergen, form in FOOD_ALLERGY_NAMES)
# body parts in everyday words (the lexicon's anatomy is the formal names)
ANATOMY = ("head", "face", "forehead", "eye", "eyes", "ear", "ears", "nose", "mouth", "lip",
           "lips", "tongue", "teeth", "tooth", "jaw", "throat", "neck", "shoulder",
           "shoulders", "arm", "arms", "elbow", "elbows", "wrist", "wrists", "hand",
           "hands", "finger", "fingers", "thumb", "chest", "breast", "breasts", "back",
           "lower back", "tummy", "belly", "belly button", "navel", "groin", "hip", "hips",
           "leg", "legs", "thigh", "knee", "knees", "calf", "calves", "shin", "ankle",
           "ankles", "foot", "feet", "toe", "toes", "heel", "skin", "scalp", "spine",
           "ribs", "lymph nodes", "LNs", "glands", "bowel", "bowels", "brain", "lungs",
           "knuckle", "knuckles", "joint", "joints", "palm", "palms", "fingertips",
           "fingertip")
# words that name a body part only in some uses: the anatomy only after a possessive
# or "the" ("my back", "the chest"), not "come back", "give me a hand"
AMBIGUOUS_ANATOMY = frozenset({"back", "hand", "hands", "head", "face", "arm", "arms",
                               "foot", "feet", "heel", "calf", "shin", "skin", "chest",
                               "breast", "glands", "joint", "joints"})

# The lexicon's abbreviations (said as words or letters) that name a problem, a test or a
# procedure: canonical -> (label, normalised name, ICD-10-CM code). The others (BD, OD, PO,
# IV, ...) are a drug's attributes, not entities.
ABBREVIATIONS: dict[str, tuple[str, str, str | None]] = {
    "CVA": ("problem", "stroke", "I63.9"), "TIA": ("problem", "transient ischaemic attack",
                                                   "G45.9"),
    "MI": ("problem", "myocardial infarction", "I21.9"),
    "STEMI": ("problem", "ST elevation myocardial infarction", "I21.3"),
    "NSTEMI": ("problem", "non-ST elevation myocardial infarction", "I21.4"),
    "AF": ("problem", "atrial fibrillation", "I48.91"),
    "AKI": ("problem", "acute kidney injury", "N17.9"),
    "CKD": ("problem", "chronic kidney disease", "N18.9"),
    "COPD": ("problem", "chronic obstructive pulmonary disease", "J44.9"),
    "DVT": ("problem", "deep vein thrombosis", "I82.409"),
    "PE": ("problem", "pulmonary embolism", "I26.99"),
    "UTI": ("problem", "urinary tract infection", "N39.0"),
    "SOB": ("problem", "shortness of breath", "R06.02"),
    "ECG": ("test", "electrocardiogram", None), "CT": ("test", "CT scan", None),
    "MRI": ("test", "MRI scan", None), "CPR": ("procedure", "cardiopulmonary resuscitation",
                                               None),
}
# capital-letter abbreviations of notes: form -> (label, normalised name, ICD-10-CM)
NOTE_ABBREVIATIONS: dict[str, tuple[str, str, str | None]] = {
    "HTN": ("problem", "hypertension", "I10"),
    "T2DM": ("problem", "type 2 diabetes mellitus", "E11.9"),
    "T1DM": ("problem", "type 1 diabetes mellitus", "E10.9"),
    "DM": ("problem", "diabetes mellitus", "E11.9"),
    "GORD": ("problem", "gastro-oesophageal reflux disease", "K21.9"),
    "GERD": ("problem", "gastro-oesophageal reflux disease", "K21.9"),
    "IBS": ("problem", "irritable bowel syndrome", "K58.9"),
    "URTI": ("problem", "upper respiratory tract infection", "J06.9"),
    "LRTI": ("problem", "lower respiratory tract infection", "J22"),
    "IHD": ("problem", "ischaemic heart disease", "I25.9"),
    "CCF": ("problem", "congestive cardiac failure", "I50.9"),
    "CHF": ("problem", "congestive heart failure", "I50.9"),
    "OA": ("problem", "osteoarthritis", "M19.90"),
    "RA": ("problem", "rheumatoid arthritis", "M06.9"),
    "HF": ("problem", "heart failure", "I50.9"),
    "LOC": ("problem", "loss of consciousness", "R40.4"),
    "N&V": ("problem", "nausea and vomiting", "R11.2"),
    "SOBOE": ("problem", "shortness of breath on exertion", "R06.02"),
    "Abx": ("drug", "antibiotics", ""),
    "POP": ("drug", "oral contraceptives", "oral contraceptives"),  # progestogen-only pill
    "HRT": ("drug", "hormone replacement therapy", "hormone replacement therapy"),
    "PPI": ("drug", "proton pump inhibitors", "proton pump inhibitors"),
    "BP": ("test", "blood pressure", ""),  # "BP checked"; "BP 140/90" is a vital
    # the lexicon's abbreviations again, so that their plurals are found ("TIAs", "UTIs"):
    # the lexicon's matcher takes no plural of an abbreviation
    **{k: ABBREVIATIONS[k] for k in ("TIA", "UTI", "DVT", "CVA", "MI")},
    "BMs": ("test", "blood glucose", ""), "CBG": ("test", "blood glucose", ""),
    "HIV": ("problem", "HIV disease", "B20"), "BMI": ("test", "body mass index", ""),
    "OCD": ("problem", "obsessive-compulsive disorder", "F42.9"),
    "PTSD": ("problem", "post-traumatic stress disorder", "F43.10"),
    "PCOS": ("problem", "polycystic ovary syndrome", "E28.2"),
    "MRSA": ("problem", "MRSA infection", "A49.02"),
    "BPH": ("problem", "benign prostatic hyperplasia", "N40.0"),
    "TB": ("problem", "tuberculosis", "A15.9"),
}
# Everyday words the lexicon's reading of the ICD-10-CM index codes wrongly, found by
# reading the codes of every word of `EVERYDAY_CLINICAL`: "arthritis" as rheumatic fever
# (I00), "burns" as Burns' disease (M92.10), "inflammation" as phlebitis (I80.3),
# "paralysis" as another paralytic syndrome (G83.3), "tumor" at the category (D49). The
# index's own entry for the word alone: form -> (normalised name, code; None: the index has
# no code for the word alone).
LEXICON_CODE_FIXES: dict[str, tuple[str, str | None]] = {
    "arthritis": ("Arthritis, unspecified", "M19.90"),
    "burns": ("Burn of unspecified body region, unspecified degree", "T30.0"),
    "inflammation": ("inflammation", None),
    "paralysis": ("Paralytic syndrome, unspecified", "G83.9"),
    **dict.fromkeys(("tumor", "tumour", "tumors", "tumours"),
                    ("Neoplasm of unspecified behavior of unspecified site", "D49.9")),
}
# everyday English words that are the plain name of a condition: kept as terms
EVERYDAY_CLINICAL = frozenset({
    "acne", "arthritis", "autism", "blindness", "burn", "burns", "cancer", "concussion",
    "dementia", "depression", "diabetes", "epilepsy", "flu", "fracture", "hallucinations",
    "hepatitis", "influenza", "inflammation", "injury", "itch", "leukemia", "malnutrition",
    "miscarriage", "obesity", "paralysis", "paranoia", "piles", "pneumonia", "poisoning",
    "pregnancy", "psychosis", "schizophrenia", "scar", "tuberculosis", "tumor", "wound",
    "worms", "asthma", "migraine", "stroke", "angina", "gout", "eczema", "psoriasis",
    "measles", "mumps", "chickenpox", "shingles", "anaemia", "anemia", "sepsis",
    "meningitis", "bronchitis", "tonsillitis", "sinusitis", "appendicitis", "cough",
    "fever", "rash", "nausea", "vomiting", "diarrhoea", "diarrhea", "headache",
})

# everyday words that the lexicon's sources list as the name of a product or an external
# cause (allergen extracts, homeopathic products, ICD-10-CM's chapter of external causes),
# found by listing every one-word everyday form the NLU's matcher still codes
NOT_TERMS = frozenset({"buffers", "cloves", "diamonds", "hops", "oats", "pots", "sulfur",
                       "epigen", "earthquake", "flood", "hurricane", "tornado", "terrorism",
                       "plague",
                       # what a blood test looks for, far more often than a drug given
                       # ("rheumatological antibodies")
                       "antibodies", "antibody",
                       # ICD-10-CM titles' bracketed acronyms that name something else here:
                       # "[HIV]" of R75 (inconclusive laboratory evidence), "[BMI]" of Z68
                       # (a measurement); NOTE_ABBREVIATIONS has them
                       "hiv", "bmi"})
# ICD-10-CM codes of external causes (V00-Y99) say how an injury came about; they are not
# problems
EXTERNAL_CAUSE = ("V", "W", "X", "Y")


@dataclass(frozen=True)
class Concept:
    canonical: str
    label: str
    code: str | None


@dataclass(frozen=True)
class ConceptHit:
    start: int
    end: int
    text: str
    concept: Concept


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, Concept], re.Pattern, re.Pattern]:
    forms: dict[str, Concept] = {}

    def add(concept: Concept, other: str, with_canonical: bool = True) -> None:
        for form in ([concept.canonical] if with_canonical else []) + \
                [f for f in other.split("|") if f]:
            forms.setdefault(form.lower(), concept)
            if re.search(r"\bmy\b", form):  # "pain in my chest": anyone's
                for owner in ("your", "his", "her", "their", "the"):
                    forms.setdefault(re.sub(r"\bmy\b", owner, form.lower()), concept)

    for canonical, code, other in (*SYMPTOMS, *CANCERS, *CONDITIONS):
        add(Concept(canonical, "problem", code), other)
    for canonical, other in TESTS:
        add(Concept(canonical, "test", None), other)
    # an allergen or a class name alone is not the allergy or the drug ("milk", "analgesics"
    # are the lexicon's to find)
    for canonical, other in FOOD_ALLERGIES:
        add(Concept(canonical, "allergy", None), other, with_canonical=False)
    for canonical, other in DRUG_CLASS_WORDS:
        add(Concept(canonical, "drug", canonical), other, with_canonical=False)
    for ingredient, other in LAY_DRUGS:
        add(Concept(ingredient, "drug", ingredient), other, with_canonical=False)
    for part in ANATOMY:
        forms.setdefault(part.lower(), Concept(part.lower(), "anatomy", None))
    lower = sorted(forms, key=len, reverse=True)
    # the words of a form said with a hyphen between them too: "run-down" is "run down"
    ci = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(f).replace(r"\ ", r"[\s-]+")
                                             for f in lower) + r")(?![\w-])", re.IGNORECASE)
    caps = re.compile(r"(?<![\w&])(?:" + "|".join(re.escape(f) for f in sorted(
        NOTE_ABBREVIATIONS, key=len, reverse=True)) + r")s?(?![\w&])")  # "TIAs"
    return forms, ci, caps


# forms that name the problem only when the next word does not make them something else:
# "tired of waiting", "a cold drink", "cold hands" (the illness is "a cold", said last or
# before a function word)
# before a function word ("I feel very weak though"), or a verb after the discharge it
# names ("discharge coming from your ears")
_FOLLOW = (r"\s*(?:$|[.,;:!?)\-]|(?:and|or|with|for|since|last|at|in|on|that|which|but|too|as|"
           r"now|again|from|so|or|i|he|she|you|we|they|it|recently|yesterday|today|lately|"
           r"coming|leaking|oozing|draining|dripping|down|"
           r"though|either|anymore|still|sometimes|then|all)\b)")
_BEFORE_A_NOUN = re.compile(rf"^(?!{_FOLLOW})", re.IGNORECASE)
FORM_GUARDS: dict[str, re.Pattern] = {
    "tired": re.compile(r"^\s+of\b", re.IGNORECASE),
    # "no problems with your blood pressure control": the control, not the hypertension
    **dict.fromkeys(("problems with my blood pressure", "problem with my blood pressure",
                     "problems with your blood pressure", "trouble with my blood pressure"),
                    re.compile(r"^\s+(?:control|readings?|checks?|machine|monitor)\b",
                               re.IGNORECASE)),
    "spots": re.compile(r"^\s+(?:of\s+(?:rain|paint|light)|on\s+the\s+(?:list|team))\b",
                        re.IGNORECASE),
    "warts": re.compile(r"^\s+and\s+all\b", re.IGNORECASE),  # "warts and all"
    "lump": re.compile(r"^\s+(?:sum|of\s+(?:sugar|wood|coal|clay|metal))\b", re.IGNORECASE),
    # a hormone's level is a test, not the medicine ("her progesterone was checked")
    **dict.fromkeys(("estradiol", "oestradiol", "progesterone", "testosterone"), re.compile(
        r"^\s+(?:level|levels|test|tests|result|results|was|were|is|came|blood)\b",
        re.IGNORECASE)),
    "hand": re.compile(r"^[\s-]+side\b", re.IGNORECASE),  # "on the left hand side"
    # "the back of your head", "at the back of my throat": a place on a part, not the back
    "back": re.compile(r"^\s+of\b", re.IGNORECASE),
    # "a faint" before a noun is an adjective ("a faint smell"); before a time or the end
    # of the clause it is a faint ("had a faint this morning")
    "a faint": re.compile(r"^\s+(?!(?:this|last|yesterday|today|earlier|at|in|on|when|while|"
                          r"and|after|before|again)\b)[a-z]", re.IGNORECASE),
    "anxiety": re.compile(r"^[\s-]+(?:provoking|inducing)\b", re.IGNORECASE),
    "stress": re.compile(r"^[\s-]+(?:test|testing|free|ball)\b", re.IGNORECASE),
    # "the urgency of those tests", "some urgency to this": a matter's, not the bladder's
    "urgency": re.compile(r"^\s+(?:of|to|for|about|around|in|with)\b", re.IGNORECASE),
    # followed by a noun they are something else: "diabetic clinic", "a stiff drink", "a
    # cold drink", "collapse multiple buffers" (the verb with an object is not a faint)
    **dict.fromkeys(("diabetic", "epileptic", "stiff", "stiffer", "a cold", "colds",
                     "head cold", "collapse",
                     "collapsed", "collapses", "collapsing", "temperature", "temp", "temps",
                     "a temp", "fits", "weak", "weaker", "sore", "frequency", "unwell",
                     "blurry", "pale", "clumsy", "thirsty", "a fit"),
                    _BEFORE_A_NOUN),  # "unwell contacts": who else is ill, not a finding
    # before a noun, or "discharge from hospital"
    **dict.fromkeys(("discharge", "discharges"), re.compile(
        rf"{_BEFORE_A_NOUN.pattern}|^\s+from\s+(?:the\s+)?(?:hospital|ward|clinic|icu|a&e|"
        r"service|care|follow)", re.IGNORECASE)),
}


# everyday words that are a symptom only after words that make them one: "no temperature",
# "fever/temp" (not "room temperature", "take your temperature"), "any fits" (not "it
# fits"), "feeling weak", "it's sore", "red and sore"
_AFTER_LIST = r"(?:\b(?:and|or|nor|no|nil|any)\s+|[,/]\s*)$"
FORM_NEEDS_BEFORE: dict[str, re.Pattern] = {
    # "on the pill": the contraceptive; "take the pill with water": any tablet
    "the pill": re.compile(r"\b(?:on|taking|started|starting|stopped|stopping|off|using|"
                           r"about|apart\s+from|other\s+than|besides|as\s+well\s+as)\s+$",
                           re.IGNORECASE),
    **dict.fromkeys(("temperature", "temp", "temps"), re.compile(
        rf"(?:\bwith\s+|\bbit\s+of\s+(?:a\s+)?|\b(?:bring|brings|bringing|brought|get|"
        rf"getting|keep|keeping|lower|lowering)\s+(?:the|your|his|her|my)\s+|{_AFTER_LIST})",
        re.IGNORECASE)),
    "a temp": re.compile(r"\b(?:had|have|has|got|having|get|getting|with|running|run|no)\s+$",
                         re.IGNORECASE),
    "fits": re.compile(rf"(?:\b(?:having|had|have|has|of|epileptic|febrile|more)\s+|"
                       rf"{_AFTER_LIST})", re.IGNORECASE),
    # "she had a fit", "had a faint", "gets boils" (not "a good fit", "it boils", "a fit
    # young man")
    # ... or listed with another: "a seizure or a fit"
    **dict.fromkeys(("a fit", "a faint", "boils"), re.compile(
        rf"(?:\b(?:had|have|has|having|get|gets|getting|got|another|first|recurrent|any|of|"
        rf"with)\s+|{_AFTER_LIST})$", re.IGNORECASE)),
    **dict.fromkeys(("weak", "weaker"), re.compile(
        rf"(?:\b(?:feel|feels|feeling|felt|very|quite|bit|so|really|been|generally|more|"
        rf"became|becoming|gone|went|go|getting|got|much|even|is|are)\s+|{_AFTER_LIST})",
        re.IGNORECASE)),
    "sore": re.compile(rf"(?:\b(?:is|it's|its|be|been|feels?|feeling|felt|are|was|were|bit|"
                       rf"very|quite|so|really|slightly|still|get|gets|getting|looks?|"
                       rf"looking)\s+|{_AFTER_LIST})", re.IGNORECASE),
    # "it's painful", "it's not very painful", "red and painful", "is it very tender"; not
    # "a painful decision", "at a tender age"
    **dict.fromkeys(("painful", "tender"), re.compile(
        rf"(?:\b(?:is|it's|be|been|feels?|feeling|felt|are|was|were|bit|very|quite|so|really|"
        rf"slightly|still|get|gets|getting|gone|looks?|looking|not|too|more|less|extremely|"
        rf"little|of|it)[\s,]+(?:(?:uh+|um+|er+)[\s,]+)*|{_AFTER_LIST})$", re.IGNORECASE)),
    # "take your blood pressure", "checked my blood pressure": the measurement ("high blood
    # pressure" is the problem's own, longer form)
    "blood pressure": re.compile(
        r"\b(?:take|took|taken|taking|check|checked|checking|measure|measured|measuring|"
        r"monitor|monitored|monitoring|record|recorded)\s+(?:(?:your|my|his|her|their|the)\s+)?$",
        re.IGNORECASE),
    # spots on the skin: "any spots", "I've got little red spots" (not "spots of rain": guard)
    "spots": re.compile(r"\b(?:any|some|few|no|got|have|has|had|having|red|little|small|itchy|"
                        r"tiny|raised|white|these|those|of)\s+$", re.IGNORECASE),
    # a scan, not the verb ("scan the code")
    **dict.fromkeys(("scan", "scans"), re.compile(
        r"\b(?:a|an|the|some|any|another|urgent|further|more|your|his|her|doing|do|need|"
        r"having|have|had|book|arrange|organise|organize|request|for)\s+$", re.IGNORECASE)),
    # "it's been dry and itchy", "is it the skin on your hand that's dry?" (not "keep it dry")
    "dry": re.compile(
        r"(?:\b(?:it's|it\s+is|it\s+was|been|feels?|feeling|felt|very|quite|so|really|bit|"
        r"little|that's|getting|gets|gone|looks?|slightly|still|and)[\s,]+(?:(?:uh+|um+)[\s,]+)*|"
        r"[,/]\s*)$", re.IGNORECASE),
    # "it has bled", "it bled a bit" (not "bled dry")
    "bled": re.compile(r"\b(?:has|have|had|it|they|that|which|and|also|sometimes|never|ever)"
                       r"\s+$", re.IGNORECASE),
    # tests not named: "going for tests", "we'll do some more tests"
    "tests": re.compile(
        r"\b(?:some|any|few|more|further|other|those|these|the|for|do|run|running|have|had|"
        r"having|get|getting|doing|routine|basic|simple|urgent)\s+$", re.IGNORECASE),
}
# nor after words that make them something else: "after discharge", "hospital discharge"
FORM_NOT_BEFORE: dict[str, re.Pattern] = {
    **dict.fromkeys(("discharge", "discharges"), re.compile(
        r"\b(?:after|before|on|upon|until|since|for|pending|hospital|planned|safe|"
        r"early|day|date|of)\s+(?:\w+\s+)?$", re.IGNORECASE)),
    "mouth": re.compile(r"\bby\s+$", re.IGNORECASE),  # "by mouth": a drug's route
    "stomach": re.compile(r"\bempty\s+$", re.IGNORECASE),  # "not on an empty stomach"
    "head": re.compile(r"\btop\s+of\s+(?:my|your|his|her|the)\s+$", re.IGNORECASE),
    # what another finding is like: "cough is dry", "the rash is dry and itchy"
    "dry": re.compile(r"\b(?:cough|rash|eczema|patch|patches|spots?|lesions?)\s+(?:is|was|'s|"
                      r"has\s+been|been|feels|looks|seems)\s+(?:\w+\s+)?$", re.IGNORECASE),
    # someone else: "have you been around anyone unwell"
    "unwell": re.compile(r"\b(?:anyone|anybody|someone|somebody|people|others|contacts|"
                         r"everyone|nobody|no\s+one)\s+$", re.IGNORECASE),
    # the saying "feed a cold, starve a fever"
    **dict.fromkeys(("a cold", "a fever"), re.compile(r"\b(?:starve|feed)[\s,]+$",
                                                      re.IGNORECASE)),
    # the verb, not the injury: "it really burns", "that burns when I pee"
    **dict.fromkeys(("burns", "burn"), re.compile(
        r"\b(?:it|that|this|which|really|still|sometimes|also|just|only|kind\s+of|sort\s+of|"
        r"will|would|might|may|can|could|to)\s+$", re.IGNORECASE)),
}
# and "frequency" is urinary frequency only among words about passing urine
_URINARY = re.compile(r"urin|dysuria|\bpee|\bwee|toilet|urgency|nocturia|pass(?:ing)? water|"
                      r"\bUTI|\bLUTS|\bPU\b|haematuria|hematuria|bladder", re.IGNORECASE)
_SKIN = re.compile(r"\bskin|\bitch|\brash|eczema|dermatitis|\bpatch|cracked|cracking|scaly|"
                   r"flaky|emollient|moisturi[sz]", re.IGNORECASE)
FORM_CONTEXT: dict[str, re.Pattern] = {"frequency": _URINARY, "dry": _SKIN, "dryness": _SKIN}
_CONTEXT_CHARS = 120


def form_key(written: str, forms: dict | frozenset | None = None) -> str:
    """The form a match written as `written` is of: its words lowercased, one space between;
    a hyphen between words read as a space where the form has none ("run-down")."""
    key = " ".join(written.lower().split())
    if forms is None:
        forms = _tables()[0]
    return key if key in forms or "-" not in key else " ".join(re.split(r"[\s-]+", key))


def guarded(written: str, text: str, end: int) -> bool:
    """The words around a form, written as `written` and ending at `end`, make it something
    else ("anxiety provoking", "a cold drink", "room temperature", "it fits")."""
    form = form_key(written)
    start = end - len(written)
    guard = FORM_GUARDS.get(form)
    if guard is not None and guard.search(text[end:]):
        return True
    before = text[max(0, start - 40):start]
    need = FORM_NEEDS_BEFORE.get(form)
    if need is not None and not need.search(before):
        return True
    not_before = FORM_NOT_BEFORE.get(form)
    if not_before is not None and not_before.search(before):
        return True
    context = FORM_CONTEXT.get(form)
    return context is not None and not context.search(
        text[max(0, start - _CONTEXT_CHARS):end + _CONTEXT_CHARS])

@lru_cache(maxsize=1)
def _guarded_forms() -> re.Pattern:
    keys = sorted({*FORM_GUARDS, *FORM_NEEDS_BEFORE, *FORM_NOT_BEFORE, *FORM_CONTEXT},
                  key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(k).replace(r"\ ", r"[\s-]+")
                                               for k in keys) + r")(?![\w-])", re.IGNORECASE)


def declined(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] holds a form the tables decline where it stands (`guarded`:
    "warts and all", "a sore point", "the kettle boils"): the tables' decision on that word
    in that context stands over a learned tagger's."""
    return any(guarded(m.group(0), text, m.end())
               for m in _guarded_forms().finditer(text, start, end))


_OWNED = re.compile(r"\b(?:my|your|his|her|their|our|the|left|right|both|on|in)\s+"
                    r"(?:(?:left|right|lower|upper)\s+)?$", re.IGNORECASE)
# the next part of a list of a person's parts ("your chest and hands"), where the word
# before "and" is a part itself (not "to the shop and back")
_OWNED_LIST = re.compile(r"\b(?:my|your|his|her|their|the)\s+(?:[a-z]+,?\s+)*?(?P<last>[a-z]+),?"
                         r"\s+(?:and|or)\s+$", re.IGNORECASE)
BODY_PARTS = frozenset(a.lower() for a in ANATOMY)


def _owned(before: str) -> bool:
    """A body part's word is the part here: a possessive or "the" before it, or it is the
    next part of a list of them."""
    if _OWNED.search(before):
        return True
    m = _OWNED_LIST.search(before[-80:])
    return m is not None and m.group("last").lower() in BODY_PARTS


def symptom_forms() -> frozenset[str]:
    """Every lowercase form of the symptoms here."""
    return frozenset(f for f, c in _tables()[0].items() if c.label == "problem")


def symptom_code(name: str) -> str | None:
    """The ICD-10-CM code of a symptom known by `name` (any of its forms)."""
    concept = _tables()[0].get(" ".join(name.lower().split()))
    return concept.code if concept else None


def find_concepts(text: str) -> list[ConceptHit]:
    """The symptoms and note abbreviations of `text`, longest first, not overlapping."""
    forms, ci, caps = _tables()
    out = []
    pos = 0
    while (m := ci.search(text, pos)) is not None:
        concept = forms[form_key(m.group(0), forms)]
        if (concept.canonical in AMBIGUOUS_ANATOMY and not _owned(text[:m.start()])) \
                or guarded(m.group(0), text, m.end()):
            # a form that is something else here may hide one that starts inside it: "a
            # cold sore" is not "a cold" before a noun, and is a cold sore
            pos = m.start() + 1
            continue
        out.append(ConceptHit(m.start(), m.end(), m.group(0), concept))
        pos = m.end()
    for m in caps.finditer(text):
        form = m.group(0) if m.group(0) in NOTE_ABBREVIATIONS else m.group(0)[:-1]
        label, name, code = NOTE_ABBREVIATIONS[form]
        out.append(ConceptHit(m.start(), m.end(), m.group(0),
                              Concept(name, label, code or None)))
    return sorted(out, key=lambda h: h.start)
