"""A second synthetic PHI set, with wordings and categories the unit tests' set
(tests/unit/test_privacy.py: 8 templates) does not use: spoken phone numbers and NHS
numbers, hospital numbers, postcodes and ZIP codes, spoken dates, ages, facilities, URLs,
names after other cues, surnames said alone. Values from faker, seeded; `split` picks the
seed: `validation` for decisions, `test` reported once.

Each row: (sentence, [(category, value)], medical words in it).
"""

from __future__ import annotations

import random

_ONES = ["oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
        "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
        "twenty-first", "twenty-second", "twenty-third", "twenty-fourth", "twenty-fifth",
        "twenty-sixth", "twenty-seventh", "twenty-eighth"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
SEEDS = {"validation": 11, "test": 12, "validation2": 13, "validation3": 14}


def _spoken(digits: str, rnd: random.Random) -> str:
    out, i = [], 0
    while i < len(digits):
        if i + 1 < len(digits) and digits[i] == digits[i + 1] and rnd.random() < 0.5:
            out.append("double " + _ONES[int(digits[i])])
            i += 2
        else:
            out.append(_ONES[int(digits[i])] if digits[i] != "0" or rnd.random() < 0.7
                       else "zero")
            i += 1
    return " ".join(out)


def _two(n: int) -> str:
    if n < 10:
        return ["oh", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine"][n]
    if n < 20:
        return _TEENS[n - 10]
    return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])


def _nhs(rnd: random.Random) -> str:
    while True:
        d = [rnd.randint(0, 9) for _ in range(9)]
        check = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, [*d, check]))


def phi_rows(split: str = "validation", n: int = 120) -> list[tuple[str, list, list]]:
    from faker import Faker

    fake = Faker(["en_GB", "en_US"])
    seed = SEEDS[split]
    Faker.seed(seed)
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        first, last = fake.first_name(), fake.last_name()
        k = rnd.randrange(18)
        if k == 0:
            v = f"{first} {last}"
            rows.append((f"This is {v} calling about my ramipril prescription.",
                         [("NAME", v)], ["ramipril"]))
        elif k == 1:
            rows.append((f"I saw Dr {last} last week about the asthma.",
                         [("NAME", last)], ["asthma"]))
        elif k == 2:
            rows.append((f"Mr {last} has been started on atorvastatin.",
                         [("NAME", last)], ["atorvastatin"]))
        elif k == 3:
            year = rnd.randint(1935, 2005)
            v = f"the {rnd.choice(_ORD)} of {rnd.choice(_MONTHS)}, nineteen " \
                f"{_two(year % 100)}" if year < 2000 else \
                f"the {rnd.choice(_ORD)} of {rnd.choice(_MONTHS)}, two thousand and " \
                f"{_two(year % 100)}"
            rows.append((f"Date of birth is {v}, and he has epilepsy.", [("DATE", v)],
                         ["epilepsy"]))
        elif k == 4:
            v = f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/{rnd.randint(1940, 2010)}"
            rows.append((f"She was admitted on {v} with pneumonia.", [("DATE", v)],
                         ["pneumonia"]))
        elif k == 5:
            digits = "07" + "".join(str(rnd.randint(0, 9)) for _ in range(9))
            v = _spoken(digits, rnd)
            rows.append((f"My mobile is {v} if the clinic needs me.", [("PHONE", v)], []))
        elif k == 6:
            digits = _nhs(rnd)
            v = f"{digits[:3]} {digits[3:6]} {digits[6:]}"
            rows.append((f"Her NHS number is {v} and she takes warfarin.", [("NHS", v)],
                         ["warfarin"]))
        elif k == 7:
            v = f"{rnd.choice('ABCDEFGHJK')}{rnd.randint(100000, 999999)}"
            rows.append((f"Hospital number {v}, admitted with sepsis.", [("MRN", v)],
                         ["sepsis"]))
        elif k == 8:
            v = f"{rnd.choice(['SW', 'N', 'LS', 'M', 'B', 'EH', 'CF'])}{rnd.randint(1, 19)} " \
                f"{rnd.randint(1, 9)}{rnd.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
                f"{rnd.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            rows.append((f"The postcode is {v}, near the surgery.", [("POSTCODE", v)], []))
        elif k == 9:
            age = rnd.randint(90, 103)
            v = f"{age}-year-old" if rnd.random() < 0.5 else f"aged {age}"
            rows.append((f"A {v} woman with heart failure." if "year" in v else
                         f"Patient {v}, known to have dementia.", [("AGE", v)],
                         ["heart failure" if "year" in v else "dementia"]))
        elif k == 10:
            v = f"{last} {rnd.choice(['General Hospital', 'Infirmary', 'Medical Centre'])}"
            rows.append((f"He was transferred from {v} with a fractured hip.",
                         [("FACILITY", v)], []))
        elif k == 11:
            street = rnd.choice(["Street", "Avenue", "Lane", "Close"])
            v = f"{rnd.randint(2, 250)} {fake.last_name()} {street}"
            rows.append((f"She lives alone at {v} and takes metformin.", [("ADDRESS", v)],
                         ["metformin"]))
        elif k == 12:
            v = fake.email()
            rows.append((f"Send the letter to {v} please, about the diabetes.",
                         [("EMAIL", v)], ["diabetes"]))
        elif k == 13:
            v = f"{first} {last}"
            rows.append((f"Patient's name is {v}, allergic to penicillin.", [("NAME", v)],
                         ["penicillin"]))
        elif k == 14:
            v = f"{rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}"
            rows.append((f"Social security number {v} on the form.", [("SSN", v)], []))
        elif k == 16:  # a surname alone, as clinicians speak of colleagues and patients
            rows.append((f"I discussed her with {last} on the ward, and the COPD is stable.",
                         [("NAME", last)], ["COPD"]))
        elif k == 17:
            rows.append((f"Referred to {last} in cardiology for the atrial fibrillation.",
                         [("NAME", last)], ["atrial fibrillation"]))
        else:
            v = f"{rnd.randint(10000, 99999)}"
            rows.append((f"She moved to Ohio, zip code {v}, with her asthma inhaler.",
                         [("ZIP", v)], ["asthma"]))
    return rows
