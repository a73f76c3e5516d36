"""RECIST 1.1 best overall response (her2meta.recist) on hand-made sequences.

Each expected value is worked out by hand from RECIST 1.1 (Eisenhauer et al., Eur J Cancer
2009;45:228-247, section 4.4 and Table 3) with the rule the test states."""

from __future__ import annotations

import datetime as dt

import pytest

from cdisc_fixtures import RECIST_CASES
from her2meta.recist import Rule, best_overall_response

START = dt.date(2020, 1, 1)


def seq(*pairs):
    return [(START + dt.timedelta(days=day), response) for day, response in pairs]


CONFIRMED = Rule(confirm=True, confirm_days=28, sd_min_days=42)
UNCONFIRMED = Rule(confirm=False, sd_min_days=42)


@pytest.mark.parametrize("sequence, confirmed, unconfirmed", RECIST_CASES)
def test_fixture_sequences_give_the_hand_derived_response(sequence, confirmed, unconfirmed):
    assert best_overall_response(seq(*sequence), CONFIRMED, START).response == confirmed
    assert best_overall_response(seq(*sequence), UNCONFIRMED, START).response == unconfirmed


def test_confirmation_interval_is_the_one_the_mapping_states():
    pr_28_days_apart = seq((56, "PR"), (84, "PR"))
    assert best_overall_response(pr_28_days_apart, Rule(confirm=True, confirm_days=28, sd_min_days=42), START).response == "PR"
    # 35 days asked for: not confirmed, and the PRs (from day 56 on, past 42 days) count as SD
    assert best_overall_response(pr_28_days_apart, Rule(confirm=True, confirm_days=35, sd_min_days=42), START).response == "SD"


def test_sd_minimum_duration_decides_between_sd_and_pd():
    early_sd_then_pd = seq((40, "SD"), (80, "PD"))
    assert best_overall_response(early_sd_then_pd, Rule(confirm=True, sd_min_days=42), START).response == "PD"
    assert best_overall_response(early_sd_then_pd, Rule(confirm=True, sd_min_days=35), START).response == "SD"
    assert best_overall_response(early_sd_then_pd, Rule(confirm=True, sd_min_days=0)).response == "SD"


def test_order_of_the_records_does_not_matter():
    ordered = seq((56, "CR"), (70, "NE"), (98, "CR"))
    assert best_overall_response(list(reversed(ordered)), CONFIRMED, START).response == "CR"


def test_assessments_before_the_start_are_not_used():
    result = best_overall_response(seq((-10, "PR"), (50, "SD")), CONFIRMED, START)
    assert result.response == "SD" and result.used == 1


def test_window_ends_at_first_progression_and_counts_what_it_used():
    result = best_overall_response(seq((50, "SD"), (90, "PD"), (130, "CR"), (170, "CR")), CONFIRMED, START)
    assert result.response == "SD" and result.used == 2 and result.best_single == "SD"


def test_unconfirmed_best_single_response_is_reported_beside():
    result = best_overall_response(seq((56, "PR"), (70, "PR")), CONFIRMED, START)
    assert result.response == "SD" and result.best_single == "PR"


def test_no_assessment_gives_no_response():
    assert best_overall_response([], CONFIRMED, START).response is None


def test_a_value_that_is_not_a_recist_response_is_refused():
    with pytest.raises(ValueError, match="not a RECIST time-point response"):
        best_overall_response(seq((56, "Partial")), CONFIRMED, START)


def test_minimum_sd_duration_needs_a_start_date():
    with pytest.raises(ValueError, match="needs a start date"):
        best_overall_response(seq((56, "SD")), CONFIRMED, None)
