"""Residual risk of released land: how many items may remain, and how sure we are that
none do, stated together with the assumptions that produced the figure.

The model is the Poisson one used in land-release argumentation: an area holds
N ~ Poisson(λ) items, λ = density x area, and each search finds each item
independently with its probability of detection. Thinning a Poisson count keeps it
Poisson, which gives closed forms:

* after clearance with detection Pd, remaining items ~ Poisson(λ(1 - Pd)), so
  P(none left) = exp(-λ(1 - Pd));
* a QC inspection of a fraction f with inspector detection Pq that finds nothing
  leaves remaining items ~ Poisson(λ(1 - Pd)(1 - f Pq));
* a survey of a fraction f with detection Pd that finds nothing in an area that *is*
  contaminated (N >= 1) happens with probability
  [exp(-λ f Pd) - exp(-λ)] / (1 - exp(-λ)), and Bayes' rule turns a prior probability
  of contamination into a posterior one.

A bare "98.8 %" invites being read as a guarantee; the results here carry the density
and its source, the detection probabilities, the QC fraction and the area, and
``statement()`` spells them out the way an information manager would put it in a
completion report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from demine.domain.errors import ValidationError
from demine.domain.vocab import EvidenceKind

_RECORD = "residual risk"

#: Prior item densities (items per m²) by the strongest evidence on an area. These are
#: ASSUMPTIONS for planning, not measurements: one item per 100 m² where there is direct
#: evidence (a confirmed hazardous area; patterned AP fields are denser, nuisance mining
#: sparser), one per 1 000 m² on indirect evidence only (a suspected hazardous area), and
#: one per 100 000 m² (10 ha) where survey found no evidence at all. Replace them with
#: national or programme figures, or better with densities from findings
#: (:func:`density_from_findings`).
PRIOR_DENSITY_DIRECT_PER_M2 = 1e-2
PRIOR_DENSITY_INDIRECT_PER_M2 = 1e-3
PRIOR_DENSITY_NO_EVIDENCE_PER_M2 = 1e-5
PRIOR_DENSITY_PER_M2: dict[str, float] = {
    EvidenceKind.DIRECT.value: PRIOR_DENSITY_DIRECT_PER_M2,
    EvidenceKind.INDIRECT.value: PRIOR_DENSITY_INDIRECT_PER_M2,
    "none": PRIOR_DENSITY_NO_EVIDENCE_PER_M2,
}


@dataclass(frozen=True)
class Density:
    """Items per m², with where the figure came from (it goes into every statement)."""

    per_m2: float
    source: str

    def __post_init__(self) -> None:
        _non_negative(self.per_m2, "density")


def density_from_findings(
    items_found: int, area_worked_m2: float, *, upper_confidence: float | None = None
) -> Density:
    """Density from items found over the area already worked.

    The plain ratio is the maximum-likelihood estimate; it is 0 after finding nothing,
    which says nothing about what was missed. ``upper_confidence`` (e.g. 0.95) gives the
    one-sided upper Poisson bound instead, (chi²_{C, 2(k+1)} / 2) / area, which for no
    finds is the familiar "rule of three" (about 3 / area at 95 %).
    """
    if isinstance(items_found, bool) or not isinstance(items_found, int) or items_found < 0:
        raise ValidationError(
            _RECORD, "items_found", f"must be a whole number >= 0, got {items_found!r}"
        )
    _non_negative(area_worked_m2, "area_worked_m2")
    if area_worked_m2 == 0:
        raise ValidationError(_RECORD, "area_worked_m2", "must be positive to give a density")
    worked = f"{items_found} item(s) found in {area_worked_m2:,.0f} m² worked"
    if upper_confidence is None:
        return Density(items_found / area_worked_m2, worked)
    _probability(upper_confidence, "upper_confidence", open_interval=True)
    from scipy.stats import chi2

    upper = float(chi2.ppf(upper_confidence, 2 * (items_found + 1))) / 2.0
    return Density(
        upper / area_worked_m2, f"{_pct(upper_confidence)} upper bound from {worked}"
    )


def prior_density(evidence: EvidenceKind | str | None) -> Density:
    """The assumed prior density for the strongest evidence on an area (``None``: none)."""
    key = "none" if evidence is None else str(getattr(evidence, "value", evidence)).lower()
    if key not in PRIOR_DENSITY_PER_M2:
        raise ValidationError(
            _RECORD, "evidence",
            f"unknown evidence class {evidence!r}; use one of {', '.join(PRIOR_DENSITY_PER_M2)}",
        )
    label = {"direct": "direct evidence", "indirect": "indirect evidence only",
             "none": "no evidence"}[key]
    return Density(PRIOR_DENSITY_PER_M2[key], f"assumed prior for an area with {label}")


@dataclass(frozen=True)
class ResidualRisk:
    """Residual items after clearance (and optionally a clean QC) of one area."""

    area_m2: float
    density: Density
    pd: float
    qc_fraction: float = 0.0
    pq: float = 0.0
    label: str = "the area"

    def __post_init__(self) -> None:
        _non_negative(self.area_m2, "area_m2")
        _probability(self.pd, "pd")
        _probability(self.qc_fraction, "qc_fraction")
        _probability(self.pq, "pq")

    @property
    def expected_items_before(self) -> float:
        """λ: items expected in the area before clearance."""
        return self.density.per_m2 * self.area_m2

    @property
    def expected_remaining(self) -> float:
        return (self.expected_items_before * (1.0 - self.pd)
                * (1.0 - self.qc_fraction * self.pq))

    @property
    def p_none_remaining(self) -> float:
        return math.exp(-self.expected_remaining)

    def statement(self) -> str:
        qc = (
            f"a post-clearance inspection of {_pct(self.qc_fraction)} of the area with "
            f"inspector detection probability {_prob(self.pq)} found nothing"
            if self.qc_fraction > 0 and self.pq > 0 else "no post-clearance inspection"
        )
        return (
            f"{_cap(self.label)} ({self.area_m2:,.0f} m²): expected remaining items "
            f"{_num(self.expected_remaining)}; probability that none remain "
            f"{_pct(self.p_none_remaining, -math.expm1(-self.expected_remaining))}, "
            f"assuming {_density(self.density)}, i.e. {_num(self.expected_items_before)} "
            f"items before clearance, a clearance detection probability of {_prob(self.pd)} "
            f"per item, "
            f"{qc}, and items present and detected independently (Poisson model)."
        )


def residual_risk(
    area_m2: float,
    density: Density,
    pd: float,
    *,
    qc_fraction: float = 0.0,
    pq: float = 0.0,
    label: str = "the area",
) -> ResidualRisk:
    return ResidualRisk(area_m2, density, pd, qc_fraction, pq, label)


@dataclass(frozen=True)
class SurveyConfidence:
    """What a survey that found nothing says about whether an area is contaminated."""

    area_m2: float
    density: Density
    prior_contaminated: float
    fraction_searched: float
    pd: float
    label: str = "the area"

    def __post_init__(self) -> None:
        _non_negative(self.area_m2, "area_m2")
        _probability(self.prior_contaminated, "prior_contaminated")
        _probability(self.fraction_searched, "fraction_searched")
        _probability(self.pd, "pd")
        if self.expected_items_if_contaminated <= 0:
            raise ValidationError(
                _RECORD, "density",
                "density x area must be positive: an area assumed to hold no items cannot "
                "be 'contaminated'",
            )

    @property
    def expected_items_if_contaminated(self) -> float:
        """λ of the Poisson model conditioned on at least one item being present."""
        return self.density.per_m2 * self.area_m2

    @property
    def p_nothing_found_if_contaminated(self) -> float:
        """[exp(-λ f Pd) - exp(-λ)] / (1 - exp(-λ)), computed without cancellation."""
        lam = self.expected_items_if_contaminated
        seen = self.fraction_searched * self.pd
        return math.exp(-lam * seen) * -math.expm1(-lam * (1.0 - seen)) / -math.expm1(-lam)

    @property
    def posterior_contaminated(self) -> float:
        """P(contaminated | nothing found) by Bayes' rule; a clean area finds nothing."""
        prior = self.prior_contaminated
        joint = prior * self.p_nothing_found_if_contaminated
        denominator = joint + (1.0 - prior)
        return 0.0 if denominator == 0 else joint / denominator

    @property
    def p_clean(self) -> float:
        return 1.0 - self.posterior_contaminated

    @property
    def expected_remaining(self) -> float:
        """Items expected to remain after the survey found nothing (none were removed).

        Given contamination and a clean search, the unseen items are Poisson(μ),
        μ = λ(1 - f Pd), conditioned on at least one: mean μ / (1 - exp(-μ)).
        """
        lam = self.expected_items_if_contaminated
        mu = lam * (1.0 - self.fraction_searched * self.pd)
        conditional = 1.0 if mu == 0 else mu / -math.expm1(-mu)
        return self.posterior_contaminated * conditional

    def statement(self) -> str:
        return (
            f"{_cap(self.label)} ({self.area_m2:,.0f} m²): probability that it is free of "
            f"explosive ordnance {_pct(self.p_clean, self.posterior_contaminated)} (contaminated "
            f"{_pct(self.posterior_contaminated)}, {_pct(self.prior_contaminated)} before the "
            f"survey); expected remaining items {_num(self.expected_remaining)}; assuming "
            f"a search of {_pct(self.fraction_searched)} of the area found nothing with "
            f"detection probability {_prob(self.pd)} per item, and that if contaminated it "
            f"holds {_density(self.density)} (at least one item, Poisson model)."
        )


def survey_confidence(
    area_m2: float,
    density: Density,
    *,
    prior_contaminated: float,
    fraction_searched: float,
    pd: float,
    label: str = "the area",
) -> SurveyConfidence:
    return SurveyConfidence(area_m2, density, prior_contaminated, fraction_searched, pd, label)


def _probability(value: float, field: str, open_interval: bool = False) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = 0 < value < 1 if open_interval else 0 <= value <= 1
    if not ok:
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise ValidationError(_RECORD, field, f"must be a probability in {bounds}, got {value!r}")


def _non_negative(value: float, field: str) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0:
        raise ValidationError(_RECORD, field, f"must be a non-negative number, got {value!r}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _prob(p: float) -> str:
    return f"{p:.6g}"


def _density(density: Density) -> str:
    if density.per_m2 == 0:
        return f"no items at all ({density.source})"
    return f"one item per {_num(1.0 / density.per_m2)} m² ({density.source})"


def _num(value: float) -> str:
    """Three significant figures, without scientific notation for everyday magnitudes."""
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e6:
        digits = max(0, 2 - math.floor(math.log10(abs(value))))
        return f"{value:,.{digits}f}"
    return f"{value:.2e}"


def _pct(p: float, complement: float | None = None) -> str:
    """A percentage that never rounds a near-certainty up to "100 %" (or down to "0 %").

    ``complement`` is 1 - p computed accurately by the caller (expm1), for p so close to
    1 that the float p itself has rounded to 1.
    """
    q = 1.0 - p if complement is None else complement
    if q <= 0:
        return "100 %"
    if p <= 0:
        return "0 %"
    if q < 1e-10:
        return "more than 99.99999999 %"
    distance = min(p, q) * 100
    digits = 1 if distance >= 0.1 else 1 - math.floor(math.log10(distance))
    return f"{p * 100:.{digits}f} %"
