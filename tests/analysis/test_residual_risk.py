"""Residual risk: the Poisson formulas against simulation and enumeration, monotonicity,
and statements that carry their assumptions."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from demine.analysis.residual_risk import (
    PRIOR_DENSITY_PER_M2,
    Density,
    density_from_findings,
    prior_density,
    residual_risk,
    survey_confidence,
)
from demine.domain.errors import ValidationError

RNG_SEED = 20240607
probability = st.floats(0.0, 1.0)


def test_clearance_matches_monte_carlo():
    lam, pd = 3.0, 0.7
    risk = residual_risk(3000, Density(lam / 3000, "test"), pd)
    rng = np.random.default_rng(RNG_SEED)
    items = rng.poisson(lam, size=400_000)
    remaining = items - rng.binomial(items, pd)
    p_none = float((remaining == 0).mean())
    se = math.sqrt(p_none * (1 - p_none) / len(items))
    assert abs(risk.p_none_remaining - p_none) < 5 * se
    assert abs(risk.expected_remaining - remaining.mean()) < 5 * remaining.std() / math.sqrt(
        len(items)
    )


def test_clean_qc_update_matches_monte_carlo():
    lam, pd, f, pq = 6.0, 0.6, 0.3, 0.9
    risk = residual_risk(6000, Density(1e-3, "test"), pd, qc_fraction=f, pq=pq)
    rng = np.random.default_rng(RNG_SEED + 1)
    items = rng.poisson(lam, size=600_000)
    remaining = items - rng.binomial(items, pd)
    # Each remaining item lies in the inspected fraction and is seen with prob f*Pq;
    # keep only the worlds where the inspection found nothing.
    seen = rng.binomial(remaining, f * pq)
    clean = remaining[seen == 0]
    p_none = float((clean == 0).mean())
    se = math.sqrt(p_none * (1 - p_none) / len(clean))
    assert abs(risk.p_none_remaining - p_none) < 5 * se
    assert abs(risk.expected_remaining - clean.mean()) < 5 * clean.std() / math.sqrt(len(clean))


def enumerate_survey(lam: float, prior: float, f: float, pd: float) -> tuple[float, float]:
    """Posterior P(contaminated | nothing found) and E[items | nothing found], by summing
    over the number of items: a discrete Bayes computation independent of the formula."""
    n = np.arange(0, 400)
    pmf = poisson.pmf(n, lam)
    truncated = np.where(n >= 1, pmf, 0.0) / (1 - pmf[0])  # contaminated: at least one
    miss_all = (1 - f * pd) ** n  # every item outside the search or missed in it
    joint_contaminated = prior * (truncated * miss_all).sum()
    evidence = joint_contaminated + (1 - prior) * 1.0
    expected = prior * (truncated * miss_all * n).sum() / evidence
    return joint_contaminated / evidence, expected


@pytest.mark.parametrize("lam, prior, f, pd", [
    (0.5, 0.3, 0.2, 0.8), (4.0, 0.5, 0.5, 0.9), (12.0, 0.9, 0.1, 0.6), (2.0, 0.05, 1.0, 1.0),
])
def test_survey_posterior_matches_enumeration(lam, prior, f, pd):
    result = survey_confidence(
        1000, Density(lam / 1000, "test"), prior_contaminated=prior, fraction_searched=f, pd=pd
    )
    posterior, expected = enumerate_survey(lam, prior, f, pd)
    assert math.isclose(result.posterior_contaminated, posterior, rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(result.p_clean, 1 - posterior, rel_tol=1e-9)
    assert math.isclose(result.expected_remaining, expected, rel_tol=1e-9, abs_tol=1e-15)


def test_survey_likelihood_matches_the_reference_formula():
    lam, f, pd = 3.0, 0.25, 0.8
    result = survey_confidence(
        3000, Density(1e-3, "test"), prior_contaminated=0.5, fraction_searched=f, pd=pd
    )
    formula = (math.exp(-lam * f * pd) - math.exp(-lam)) / (1 - math.exp(-lam))
    assert math.isclose(result.p_nothing_found_if_contaminated, formula, rel_tol=1e-12)


def test_survey_of_nothing_leaves_the_prior():
    result = survey_confidence(
        500, Density(0.01, "test"), prior_contaminated=0.4, fraction_searched=0.0, pd=0.9
    )
    assert math.isclose(result.posterior_contaminated, 0.4)


@settings(max_examples=150)
@given(
    area=st.floats(1.0, 1e6), density=st.floats(1e-7, 0.1), pd=probability,
    qc=probability, pq=probability, bump=st.floats(0.01, 0.5),
)
def test_clearance_risk_monotone(area, density, pd, qc, pq, bump):
    base = residual_risk(area, Density(density, "t"), pd, qc_fraction=qc, pq=pq)
    p = base.p_none_remaining
    better = [
        residual_risk(area, Density(density, "t"), min(1, pd + bump), qc_fraction=qc, pq=pq),
        residual_risk(area, Density(density, "t"), pd, qc_fraction=min(1, qc + bump), pq=pq),
        residual_risk(area, Density(density, "t"), pd, qc_fraction=qc, pq=min(1, pq + bump)),
        residual_risk(area * (1 - bump), Density(density, "t"), pd, qc_fraction=qc, pq=pq),
        residual_risk(area, Density(density * (1 - bump), "t"), pd, qc_fraction=qc, pq=pq),
    ]
    for other in better:
        assert other.p_none_remaining >= p
        assert other.expected_remaining <= base.expected_remaining
    assert 0 <= p <= 1
    assert math.isclose(p, math.exp(-base.expected_remaining))


@settings(max_examples=150)
@given(
    lam=st.floats(1e-3, 50), prior=st.floats(0.001, 0.999), f=probability, pd=probability,
    bump=st.floats(0.01, 0.5),
)
def test_survey_posterior_monotone(lam, prior, f, pd, bump):
    def posterior(prior_=prior, f_=f, pd_=pd):
        return survey_confidence(
            1000, Density(lam / 1000, "t"), prior_contaminated=prior_, fraction_searched=f_,
            pd=pd_,
        ).posterior_contaminated

    p = posterior()
    assert p <= prior + 1e-12  # finding nothing never raises suspicion
    assert posterior(f_=min(1, f + bump)) <= p + 1e-12
    assert posterior(pd_=min(1, pd + bump)) <= p + 1e-12
    assert posterior(prior_=min(0.999, prior + bump)) >= p - 1e-12


def test_perfect_clearance_leaves_nothing():
    risk = residual_risk(10_000, prior_density("direct"), 1.0)
    assert risk.expected_remaining == 0
    assert risk.p_none_remaining == 1.0
    assert "100 %" in risk.statement()


def test_statement_names_the_assumptions():
    risk = residual_risk(
        12_000, prior_density("indirect"), 0.9, qc_fraction=0.1, pq=0.8, label="hazard SHA-42"
    )
    text = risk.statement()
    assert text.startswith("Hazard SHA-42")
    assert "12,000 m²" in text
    assert "indirect evidence" in text
    assert "0.9" in text and "0.8" in text and "10.0 %" in text
    assert "Poisson" in text
    lam = 12_000 * PRIOR_DENSITY_PER_M2["indirect"] * 0.1 * (1 - 0.1 * 0.8)
    assert f"{math.exp(-lam) * 100:.1f} %" in text
    assert f"{lam:.3g}" in text


@settings(max_examples=100)
@given(st.floats(1e-9, 1e-3))
def test_statement_never_rounds_a_residual_chance_to_certainty(expected):
    risk = residual_risk(1.0, Density(expected, "t"), 0.0)
    text = risk.statement()
    match = re.search(r"none remain (more than )?([\d.]+) %", text)
    assert match
    assert float(match.group(2)) < 100
    survey = survey_confidence(
        1.0, Density(0.5, "t"), prior_contaminated=expected, fraction_searched=0.5, pd=0.5
    )
    match = re.search(r"free of explosive ordnance (more than )?([\d.]+) %", survey.statement())
    assert match
    assert float(match.group(2)) < 100


def test_density_from_findings():
    d = density_from_findings(12, 3_000.0)
    assert math.isclose(d.per_m2, 0.004)
    assert "12 item(s)" in d.source and "3,000 m²" in d.source
    # No finds: the 95 % upper bound is -ln(0.05)/area ("rule of three").
    upper = density_from_findings(0, 1_000.0, upper_confidence=0.95)
    assert math.isclose(upper.per_m2, -math.log(0.05) / 1_000.0, rel_tol=1e-9)
    # With finds, the upper bound exceeds the plain ratio.
    assert density_from_findings(5, 1_000.0, upper_confidence=0.9).per_m2 > 0.005


def test_prior_densities_rank_by_evidence():
    direct, indirect, none = (prior_density(e).per_m2 for e in ("direct", "indirect", None))
    assert direct > indirect > none > 0
    assert prior_density("DIRECT").per_m2 == direct


@pytest.mark.parametrize("call, field", [
    (lambda: residual_risk(100, Density(0.01, "t"), 1.2), "pd"),
    (lambda: residual_risk(100, Density(0.01, "t"), math.nan), "pd"),
    (lambda: residual_risk(100, Density(0.01, "t"), 0.9, qc_fraction=-0.1), "qc_fraction"),
    (lambda: residual_risk(100, Density(0.01, "t"), 0.9, pq=2), "pq"),
    (lambda: residual_risk(-1, Density(0.01, "t"), 0.9), "area_m2"),
    (lambda: Density(-0.01, "t"), "density"),
    (lambda: density_from_findings(3, 0), "area_worked_m2"),
    (lambda: density_from_findings(-1, 100), "items_found"),
    (lambda: density_from_findings(0, 100, upper_confidence=1.0), "upper_confidence"),
    (lambda: prior_density("rumour"), "evidence"),
    (lambda: survey_confidence(100, Density(0.0, "t"), prior_contaminated=0.5,
                               fraction_searched=0.5, pd=0.5), "density"),
    (lambda: survey_confidence(100, Density(0.1, "t"), prior_contaminated=1.5,
                               fraction_searched=0.5, pd=0.5), "prior_contaminated"),
])
def test_bad_inputs_name_the_field(call, field):
    with pytest.raises(ValidationError) as err:
        call()
    assert err.value.field == field
