"""Selection on measured figures: budget, speed check, objective, noise, simplest wins, fallback."""

from __future__ import annotations

import pytest
from mlready.generators.optimize.config import OptimizeSpec
from mlready.generators.optimize.measure import Quality, Timing
from mlready.generators.optimize.select import Candidate, select


def cand(name, acc=0.95, agree=1.0, p50=1.0, rps=1000.0, size=1000, jitter=(1.0, 1.02, 0.98, 1.01, 0.99)):
    return Candidate(
        name, model=b"x" * size,
        quality=Quality("accuracy", acc, None if name == "baseline" else agree, 0.0),
        timing=Timing(p50, p50 * 2, rps, 0.02, [p50 * j for j in jitter], [rps / j for j in jitter]),
    )


def test_the_fastest_candidate_within_budget_wins():
    cands = [cand("baseline"), cand("int8_dynamic", acc=0.948, p50=0.5), cand("graph", p50=0.9)]
    winner, headline = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "int8_dynamic"
    assert headline.startswith("int8_dynamic: best on latency within the accuracy budget, p50 0.5000 ms at batch 1, "
                               "2.00× the baseline's speed (median of 5 paired rounds)")
    assert [c.verdict for c in cands] == ["accepted", "chosen", "accepted"]


def test_over_budget_and_disagreeing_candidates_are_rejected_with_the_figures():
    cands = [cand("baseline"), cand("distill_mlp", acc=0.93, p50=0.2), cand("prune", agree=0.97, p50=0.3)]
    winner, headline = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "baseline"
    assert cands[1].why == "accuracy 0.9300 is 2.00 points below the baseline's 0.9500 (budget 0.50)"
    assert cands[2].why == "labels agree with the baseline on 97.00% of rows (budget 99.00%)"
    assert headline == "no candidate met the budget and speed checks: serving the fp32 baseline"


def test_a_slower_candidate_is_rejected_even_when_smaller():
    cands = [cand("baseline"), cand("fp16", p50=1.5, size=500)]
    winner, _ = select(cands, OptimizeSpec(auto=True, objective="size"))
    assert winner.name == "baseline"
    assert cands[1].verdict == "rejected" and cands[1].why.startswith("slower than the baseline at batch 1")


def test_speed_check_can_be_turned_off_for_size():
    cands = [cand("baseline"), cand("fp16", p50=1.5, size=500)]
    winner, _ = select(cands, OptimizeSpec(auto=True, objective="size", measure={"require_faster": False}))
    assert winner.name == "fp16"


def test_within_the_noise_the_simpler_candidate_wins():
    cands = [cand("baseline"), cand("graph", p50=0.80), cand("structured_prune", p50=0.76)]
    winner, _ = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "graph"
    assert cands[2].why == "within the noise of graph on latency; the simpler candidate wins"


def test_a_gap_that_rounds_disagree_on_is_noise():
    # median 2x faster, but only 3 of 5 paired rounds say so: not a proven gap, the baseline stays
    erratic = (0.3, 0.4, 0.5, 1.5, 1.6)
    cands = [cand("baseline", jitter=(1.0,) * 5), cand("int8_dynamic", p50=1.0, jitter=erratic)]
    winner, headline = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "baseline"
    assert headline == "no candidate beat the baseline on latency beyond the noise: serving the fp32 baseline"


@pytest.mark.parametrize("objective,expected", [("throughput", "int8_dynamic"), ("size", "structured_prune")])
def test_the_objective_decides(objective, expected):
    cands = [cand("baseline"), cand("int8_dynamic", rps=3000, size=300), cand("structured_prune", rps=2000, size=200)]
    winner, _ = select(cands, OptimizeSpec(auto=True, objective=objective))
    assert winner.name == expected


def test_skipped_and_failed_candidates_keep_their_reason():
    cands = [cand("baseline"), Candidate("fp16", status="skipped", reason="fp16 conversion does not apply: x"),
             Candidate("int8_static", status="failed", reason="unsupported operator 'Foo'")]
    winner, headline = select(cands, OptimizeSpec(auto=True))
    assert (cands[1].verdict, cands[1].why) == ("skipped", "fp16 conversion does not apply: x")
    assert (cands[2].verdict, cands[2].why) == ("failed", "unsupported operator 'Foo'")
    assert headline == "no pass applied to this model: serving the fp32 baseline"


def test_slower_is_judged_round_by_round():
    # the machine flips between quiet and busy rounds; the candidate takes 30% longer in every paired round
    base_rounds = (1.0, 2.0, 2.0, 2.0, 1.0)
    cands = [cand("baseline", jitter=base_rounds), cand("int8_dynamic", jitter=tuple(1.3 * j for j in base_rounds))]
    winner, _ = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "baseline"
    assert cands[1].why == ("slower than the baseline at batch 1 (p50 1.0000 ms): 1.30× the baseline's time per row "
                            "in the median paired round, slower in 5 of 5 rounds (noise margin 20%)")


def test_a_candidate_must_be_clearly_better_than_the_baseline_to_displace_it():
    # "within the noise" is not transitive: fp16 is within the noise of the best (3 of 5 rounds level with
    # it) but not clearly faster than the baseline (slower in 2 of 5 rounds), so the simpler fp16 may not win
    fp16 = cand("fp16", p50=1.0, jitter=(0.5, 0.5, 0.5, 1.2, 1.2))
    cands = [cand("baseline", p50=1.0), fp16, cand("structured_prune+int8_dynamic", p50=0.5)]
    winner, _ = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "structured_prune+int8_dynamic"
    assert fp16.verdict == "accepted"


def test_within_the_noise_of_the_best_and_clearly_better_than_the_baseline_the_simpler_wins():
    cands = [cand("baseline", p50=1.0), cand("fp16", p50=0.545), cand("structured_prune+int8_dynamic", p50=0.5)]
    winner, _ = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "fp16"


def test_a_candidate_level_with_the_baseline_says_so():
    cands = [cand("baseline", p50=1.0), cand("graph", p50=0.97)]
    winner, _ = select(cands, OptimizeSpec(auto=True))
    assert winner.name == "baseline"
    assert cands[1].why == ("not clearly faster than the baseline (p50 0.9700 ms at batch 1, 1.03× the baseline's "
                            "speed (median of 5 paired rounds)); within the 20% noise margin the simpler model stays")
