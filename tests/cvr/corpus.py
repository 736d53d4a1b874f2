"""Where RCTab's native regression cases are (../shared/corpus/rctab-native beside the repo), and
what each one is for this project."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rctab-native"
PRESENT = CORPUS.is_dir()
ABSENT = f"the RCTab corpus is not checked out beside the repo at {CORPUS}"

# Folders that are not tabulation cases (CORPUS.md): RCTab's refusals, other features, a person asked.
NOT_TABULATION = {
    "invalid_params_test": "tests RCTab's refusal of bad rules",
    "invalid_sources_test": "tests RCTab's refusal of bad sources",
    "invalid_output_directory": "tests RCTab's output directory check",
    "max_ranking_enforcement": "tests RCTab's refusal of too many rankings",
    "signature_validation": "tests RCTab's signed-file check",
    "conversions_from_cdf": "tests RCTab's CVR conversion, not a count",
    "conversions_from_dominion": "tests RCTab's CVR conversion, not a count",
    "conversions_from_ess": "tests RCTab's CVR conversion, not a count",
    "sample_interactive_tiebreak": "asks a person to break the tie",
    "tabulate_by_precinct_without_precincts": "tests RCTab's refusal of per-precinct output without precincts",
}

# Cases where this project departs from RCTab on purpose (docs/cvr.md, "Where the count departs from RCTab").
DEPARTURES = {
    "nist_xml_cdf_2": "no valid votes (its one ballot is blank): RCTab elects a candidate by tie-break, "
                      "nobody is elected here",
}


def cases() -> list[Path]:
    """Every case folder with a configuration (the folder name is the case)."""
    if not PRESENT:
        return []
    return sorted(p.parent for p in CORPUS.glob("*/*_config.json"))


def config_of(case: Path) -> Path:
    return next(case.glob("*_config.json"))


def missing_sources(case: Path) -> list[str]:
    """The configuration's CVR files that this copy of the corpus does not hold."""
    config = json.loads(config_of(case).read_text())
    missing = []
    for source in config.get("cvrFileSources", []):
        path = case / source.get("filePath", "")
        if not source.get("filePath") or not path.exists():
            missing.append(source.get("filePath", ""))
        elif source.get("provider") == "dominion" and not list(path.glob("CvrExport*.json")):
            missing.append(f"{source['filePath']}/CvrExport.json")
    return missing
