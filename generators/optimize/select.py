"""Selection: reject candidates over the accuracy budget or slower than the baseline, pick by the objective.

Stability on a noisy machine: two candidates are compared round by round (the rounds are interleaved, so
each pair of figures saw the same load); a gap counts only when the median ratio passes the noise margin and
most rounds agree on its direction. Among the candidates not clearly worse than the best, the simplest one
wins (the baseline is the simplest of all), ties broken by name. So two runs on the same machine pick the
same model unless the measured gap really sits on the margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlready.generators.optimize.config import OptimizeSpec
from mlready.generators.optimize.measure import Quality, Timing
from mlready.generators.optimize.passes import complexity

SIZE_MARGIN = 0.01  # file sizes are exact; 1% keeps trivially different files from beating a simpler one


@dataclass
class Candidate:
    name: str
    status: str = "built"  # built | skipped | failed
    reason: str = ""  # why skipped/failed, or what the pass did
    model: bytes | None = None
    quality: Quality | None = None
    timing: Timing | None = None
    peak_rss_mb: float | None = None
    verdict: str = ""  # chosen | accepted | rejected | skipped | failed
    why: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def size_bytes(self) -> int | None:
        return len(self.model) if self.model is not None else None

    @property
    def complexity(self) -> int:
        return complexity(self.name)

    # the measured figures, for code that only runs on measured candidates
    def timed(self) -> Timing:
        if self.timing is None:
            raise ValueError(f"candidate {self.name} has no timing")
        return self.timing

    def rated(self) -> Quality:
        if self.quality is None:
            raise ValueError(f"candidate {self.name} has no quality figures")
        return self.quality

    def built_model(self) -> bytes:
        if self.model is None:
            raise ValueError(f"candidate {self.name} has no model")
        return self.model

    def size(self) -> int:
        return len(self.built_model())


AGREE = 0.8  # share of paired rounds that must point the same way for a gap to count


def _series(c: Candidate, objective: str) -> list[float]:
    """Per-round figures where lower is better (batch-1 p50, or seconds per row for throughput)."""
    if objective == "throughput":
        return [1.0 / r for r in c.timed().rounds_rps]
    return list(c.timed().rounds_p50_ms)


def paired(a: Candidate, b: Candidate, objective: str) -> tuple[float, int, int]:
    """``(median ratio a/b, rounds where a was worse, rounds)`` over the interleaved rounds (lower = better)."""
    ratios = sorted(x / y for x, y in zip(_series(a, objective), _series(b, objective), strict=True) if y > 0)
    if not ratios:
        return 1.0, 0, 0
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
    return median, sum(r > 1 for r in ratios), len(ratios)


def clearly_worse(a: Candidate, b: Candidate, objective: str, margin: float) -> bool:
    """Is ``a`` worse than ``b`` beyond the noise? Paired over the interleaved rounds: the median ratio
    must pass ``1 + margin`` and at least :data:`AGREE` of the rounds must agree on the direction."""
    if objective == "size":
        return a.size() > b.size() * (1 + SIZE_MARGIN)
    ratio, worse, n = paired(a, b, objective)
    return n > 0 and ratio > 1 + margin and worse >= AGREE * n


def objective_value(c: Candidate, objective: str) -> float:
    if objective == "latency":
        return c.timed().p50_ms
    if objective == "throughput":
        return -c.timed().throughput_rps
    return float(c.size())


def _budget_problem(c: Candidate, base: Candidate, cfg: OptimizeSpec) -> str | None:
    q, bq, budget = c.rated(), base.rated(), cfg.budget
    if q.value is None or bq.value is None:
        return f"{q.metric} is undefined on the evaluation data"
    drop = bq.value - q.value
    if drop > budget.max_accuracy_drop + 1e-12:
        return (f"{q.metric} {q.value:.4f} is {drop * 100:.2f} points below the baseline's {bq.value:.4f} "
                f"(budget {budget.max_accuracy_drop * 100:.2f})")
    if q.agreement is not None and q.agreement < budget.min_label_agreement:
        return f"labels agree with the baseline on {q.agreement:.2%} of rows (budget {budget.min_label_agreement:.2%})"
    return None


def _slower(c: Candidate, base: Candidate, cfg: OptimizeSpec) -> str | None:
    m = cfg.measure.noise_margin
    speed = "throughput" if cfg.objective == "throughput" else "latency"
    if not clearly_worse(c, base, speed, m):
        return None
    ratio, worse, n = paired(c, base, speed)
    what = f"batched throughput ({c.timed().throughput_rps:,.0f} rows/s)" if speed == "throughput" else (
        f"batch 1 (p50 {c.timed().p50_ms:.4f} ms)")
    return (f"slower than the baseline at {what}: {ratio:.2f}× the baseline's time per row in the median "
            f"paired round, slower in {worse} of {n} rounds (noise margin {m:.0%})")


def _describe(c: Candidate, base: Candidate, objective: str) -> str:
    if objective in ("latency", "throughput"):
        ratio, _, n = paired(base, c, objective)
        figure = (f"p50 {c.timed().p50_ms:.4f} ms at batch 1" if objective == "latency"
                  else f"{c.timed().throughput_rps:,.0f} rows/s")
        return f"{figure}, {ratio:.2f}× the baseline's speed (median of {n} paired rounds)"
    return f"{c.size():,} bytes ({base.size() / c.size():.2f}× smaller than the baseline)"


def select(cands: list[Candidate], cfg: OptimizeSpec) -> tuple[Candidate, str]:
    """Set every candidate's verdict and reason; return the winner and the headline reason."""
    base = next(c for c in cands if c.name == "baseline")
    accepted = [base]
    for c in cands:
        if c is base:
            continue
        if c.status != "built":
            c.verdict, c.why = c.status, c.reason
            continue
        problem = _budget_problem(c, base, cfg) or (_slower(c, base, cfg) if cfg.measure.require_faster else None)
        if problem:
            c.verdict, c.why = "rejected", problem
        else:
            accepted.append(c)
    obj = cfg.objective
    best = min(accepted, key=lambda c: objective_value(c, obj))

    m = cfg.measure.noise_margin
    # "within the noise" is not transitive: a candidate may only displace the baseline by being clearly better
    # than it, not merely close to the best
    close = sorted((c for c in accepted if not clearly_worse(c, best, obj, m)
                    and (c is base or clearly_worse(base, c, obj, m))),
                   key=lambda c: (c.complexity, c.name))
    if not close:  # the best itself is not clearly better than the baseline
        close = [base]
    winner = close[0]
    for c in accepted:
        c.verdict = "chosen" if c is winner else "accepted"
        if c is winner:
            continue
        if c in close:
            c.why = f"within the noise of {winner.name} on {obj}; the simpler candidate wins"
        elif obj != "size" and not clearly_worse(base, c, obj, m):
            c.why = (f"not clearly faster than the baseline ({_describe(c, base, obj)}); within the "
                     f"{m:.0%} noise margin the simpler model stays")
        else:
            c.why = f"within budget but behind {winner.name} on {obj}: {_describe(c, base, obj)}"
    if winner is base:
        if len(accepted) == 1:
            built = [c for c in cands if c.status == "built" and c is not base]
            headline = ("no candidate met the budget and speed checks: serving the fp32 baseline" if built
                        else "no pass applied to this model: serving the fp32 baseline")
        else:
            headline = f"no candidate beat the baseline on {obj} beyond the noise: serving the fp32 baseline"
    else:
        headline = f"{winner.name}: best on {obj} within the accuracy budget, {_describe(winner, base, obj)}"
        if len(close) > 1:
            headline += f"; simplest of {len(close)} candidates within the noise margin"
    winner.why = headline
    return winner, headline
