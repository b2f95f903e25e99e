"""The one table of classifier options: names, kinds, ranges and the one default.

The classifiers read their options from here (``resolve_options``), the CLI
makes one flag per option from it (``satseg classify --balanced --C 5 ...``),
the Model panel builds its form from it and the project file stores the
resolved values. So the UI, the CLI and a saved project train the same model
from the same samples (docs/classifiers.md, "Options").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import SatSegError


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    kind: str                      # "int", "float", "choice", "bool"
    default: object
    tip: str
    minimum: float = 0
    maximum: float = 1e9
    step: float = 1
    decimals: int = 2
    choices: tuple = ()            # (value, label) pairs for "choice"
    enabled_when: Optional[tuple] = None   # (other option key, value) that enables this one
    zero_means_none: bool = False          # an int option whose 0 means "no limit" (None)
    in_form: bool = True                   # False: CLI/project only (e.g. the random seed)

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


_SIGNATURES = Option(
    "signatures", "Signatures", "choice", "per-class",
    "Spectral signatures per class. Per class: one. Per polygon: one per training polygon, for classes made of "
    "several populations (roofs and roads, wet and dry grass). Auto: sub-clusters of each class found by a "
    "Gaussian mixture (count by BIC). Every signature maps back to its class.",
    choices=(("per-class", "one per class"), ("per-polygon", "one per polygon"), ("auto", "auto (sub-clusters)")))

_SEED = Option("seed", "Random seed", "int", 0, "Seed of the random parts (bootstrap, pixel subsets)",
               maximum=2 ** 31 - 1, in_form=False)

METHOD_OPTIONS: dict[str, tuple[Option, ...]] = {
    "mahalanobis": (_SIGNATURES,),
    "max_likelihood": (
        _SIGNATURES,
        Option("priors", "Class priors", "choice", "equal",
               "Equal: every class equally likely. Samples: in proportion to the training pixels of each class.",
               choices=(("equal", "equal"), ("samples", "from sample sizes"))),
    ),
    "parallelepiped": (
        _SIGNATURES,
        Option("box", "Box", "choice", "minmax",
               "Min–max: the box spans the lowest to highest sample value on each band. "
               "Mean ± k·σ: the box spans k standard deviations either side of the class mean.",
               choices=(("minmax", "min–max of samples"), ("sigma", "mean ± k·σ"))),
        Option("k", "k (standard deviations)", "float", 2.0,
               "Half-width of the mean ± k·σ box, in standard deviations of each band",
               minimum=0.1, maximum=10, step=0.1, decimals=1, enabled_when=("box", "sigma")),
    ),
    "random_forest": (
        Option("trees", "Trees", "int", 100, "Number of trees; more is steadier but slower",
               minimum=1, maximum=2000, step=10),
        Option("max_depth", "Maximum depth", "int", 0,
               "Deepest a tree may grow (levels); 0 = no limit, trees grow fully",
               minimum=0, maximum=100, zero_means_none=True),
        Option("balanced", "Balance classes", "bool", False,
               "Weight classes inversely to their pixel counts, so a class with few samples is not swamped "
               "(off: every training pixel counts the same, scikit-learn's default)"),
        _SEED,
    ),
    "min_distance": (_SIGNATURES,),
    "spectral_angle": (_SIGNATURES,),
    "svm": (
        Option("C", "C (regularization)", "float", 10.0,
               "Penalty for misclassified training pixels: larger C follows the samples more closely",
               minimum=0.01, maximum=10000, step=1, decimals=2),
        Option("max_train_per_class", "Training pixels per class (max)", "int", 2000,
               "SVM training time grows with the square of the pixel count, so at most this many random "
               "training pixels per class are used", minimum=2, maximum=100000, step=500),
        _SEED,
    ),
}


def options_for(method: str) -> tuple[Option, ...]:
    return METHOD_OPTIONS.get(method, ())


def all_options() -> dict[str, Option]:
    """Every option once, by key (the CLI makes one flag of each)."""
    out: dict[str, Option] = {}
    for opts in METHOD_OPTIONS.values():
        for o in opts:
            out.setdefault(o.key, o)
    return out


def _convert(o: Option, value, method: str):
    where = f"option {o.key} of {method}"
    if o.zero_means_none and (value is None or value == 0):
        return None
    if o.kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, (bool, int)):
            raise SatSegError(f"{where} must be true or false, not {value!r}")
        return bool(value)
    if o.kind == "choice":
        allowed = [c[0] for c in o.choices]
        if value not in allowed:
            raise SatSegError(f"{where} must be one of {', '.join(allowed)}, not {value!r}")
        return value
    try:
        v = int(value) if o.kind == "int" else float(value)
    except (TypeError, ValueError):
        raise SatSegError(f"{where} must be a number, not {value!r}") from None
    if o.kind == "int" and float(value) != v:
        raise SatSegError(f"{where} must be a whole number, not {value!r}")
    if not o.minimum <= v <= o.maximum:
        raise SatSegError(f"{where} must be between {o.minimum:g} and {o.maximum:g}, not {v:g}")
    return v


def resolve_options(method: str, given: Optional[dict] = None) -> dict:
    """Every option of ``method`` with its value: given ones checked, the rest the one default.

    Unknown options are errors (a typo must not train a different model silently).
    """
    opts = {o.key: o for o in options_for(method)}
    given = dict(given or {})
    unknown = [k for k in given if k not in opts]
    if unknown:
        known = ", ".join(opts) or "none"
        raise SatSegError(f"{method} has no option {', '.join(map(repr, unknown))} (its options: {known})")
    out = {}
    for key, o in opts.items():
        value = given.get(key, o.default)
        out[key] = _convert(o, value, method)
    return out


def stored_options(method: str, stored: Optional[dict], warnings: Optional[list] = None) -> dict:
    """Options read from a project file: unknown or bad values fall back to the default, with a warning."""
    opts = {o.key: o for o in options_for(method)}
    out = {}
    for key, value in dict(stored or {}).items():
        if key not in opts:
            if warnings is not None:
                warnings.append(f"the project's option '{key}' is not an option of {method}; ignored")
            continue
        try:
            out[key] = _convert(opts[key], value, method)
        except SatSegError as exc:
            if warnings is not None:
                warnings.append(f"{exc}; the default is used")
    return resolve_options(method, out) if method in METHOD_OPTIONS else out


def split_threshold_items(items) -> tuple[Optional[float], dict[str, float]]:
    """``--threshold`` items ('V' or 'CLASS=V') -> (value for all, {class key: value}).

    One parser for `satseg classify` and `satseg classify-ee`; each maps the class
    keys (names, ids, 'class/2' signatures) itself. Errors name the bad item.
    """
    default: Optional[float] = None
    per_class: dict[str, float] = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        try:
            v = float(value)
        except ValueError:
            raise SatSegError(f"--threshold '{item}': '{value}' is not a number") from None
        if not sep:
            if default is not None:
                raise SatSegError("--threshold VALUE given twice; use CLASS=VALUE for per-class values")
            default = v
        else:
            per_class[key.strip()] = v
    return default, per_class
