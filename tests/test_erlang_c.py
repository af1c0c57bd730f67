"""Erlang C against published values.

- Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example"
  (callcentrehelper.com): 100 calls in 30 minutes with an average handling time of 180 s are
  A = 10 erlangs; with 11 agents the probability of waiting is 0.6821 and the service level within
  20 s 39.0 %; 12 agents 64.0 %, 13 agents 79.6 %, 14 agents 88.8 %: 14 agents reach 80/20.
- L. Kleinrock, Queueing Systems, Vol. 1 (1975), §3.4–3.5: for one server (M/M/1) the
  probability of waiting is ρ and the mean wait ρ/(μ(1 − ρ)); for two servers (M/M/2) it is
  2ρ²/(1 + ρ), with ρ = A/N.
"""

from __future__ import annotations

import math

import pytest

from pantao.erlang_c import (
    average_speed_of_answer,
    operators_needed,
    service_level,
    staffing,
    traffic_erlangs,
    wait_probability,
)


def test_traffic_of_100_calls_per_half_hour_of_180_seconds_is_10_erlangs():
    assert traffic_erlangs(200, 180) == pytest.approx(10.0)


def test_the_worked_example_probability_of_waiting_with_11_agents():
    assert wait_probability(11, 10.0) == pytest.approx(0.6821, abs=5e-5)


@pytest.mark.parametrize(("agents", "published"), [(11, 0.390), (12, 0.640), (13, 0.796), (14, 0.888)])
def test_the_worked_example_service_levels_within_20_seconds(agents, published):
    assert service_level(agents, 10.0, 180, 20) == pytest.approx(published, abs=5e-4)


def test_the_worked_example_needs_14_agents_for_80_20():
    assert operators_needed(200, 180, 0.8, 20) == 14


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_one_server_waits_with_probability_rho_and_for_the_mm1_mean(rho):
    aht = 300.0
    assert wait_probability(1, rho) == pytest.approx(rho)
    mu = 1 / aht
    assert average_speed_of_answer(1, rho, aht) == pytest.approx(rho / (mu * (1 - rho)))


@pytest.mark.parametrize("traffic", [0.4, 1.0, 1.7])
def test_two_servers_wait_with_the_mm2_closed_form(traffic):
    rho = traffic / 2
    assert wait_probability(2, traffic) == pytest.approx(2 * rho**2 / (1 + rho))


def test_too_few_operators_always_wait_and_never_meet_the_target():
    assert wait_probability(10, 10.0) == 1.0
    assert service_level(9, 10.0, 180, 20) == 0.0
    assert average_speed_of_answer(10, 10.0, 180) == math.inf


def test_no_calls_need_no_operators():
    assert operators_needed(0, 180, 0.8, 20) == 0
    assert staffing(0, 180, 0.8, 20).service_level == 1.0


def test_hundreds_of_operators_do_not_overflow():
    # 3 000 calls an hour of 300 s: 250 erlangs; a factorial formula would overflow a float here
    needed = operators_needed(3000, 300, 0.8, 20)
    assert 250 < needed < 280
    assert service_level(needed, 250.0, 300, 20) >= 0.8 > service_level(needed - 1, 250.0, 300, 20)


def test_the_advice_carries_the_level_and_asa_of_the_operators_it_names():
    advice = staffing(200, 180, 0.8, 20)
    assert advice.operators == 14
    assert advice.service_level == pytest.approx(0.888, abs=5e-4)
    assert advice.asa_seconds == pytest.approx(0.1741 * 180 / 4, abs=0.01)


def test_a_target_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="target=80"):
        operators_needed(200, 180, 80, 20)
