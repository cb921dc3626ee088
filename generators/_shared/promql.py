"""PromQL for the dashboard and the alerts, from the metric names of the runtime's single metrics module.

Expressions here must return data on a healthy server under load (the end-to-end test evaluates every one
through a real Prometheus): ratios fall back to 0 when no request failed, instead of to nothing.
"""

from __future__ import annotations

from mlready.runtime import metrics as m

#: prometheus_client's process collector names (CPU and memory of the server process)
PROCESS_CPU = "process_cpu_seconds_total"
PROCESS_MEMORY = "process_resident_memory_bytes"


def sel(**labels: str) -> str:
    """A label selector; a value starting with '~' is a regex match."""
    parts = []
    for k, v in labels.items():
        parts.append(f'{k}=~"{v[1:]}"' if v.startswith("~") else f'{k}="{v}"')
    return "{" + ", ".join(parts) + "}"


def rate(metric: str, selector: str, window: str) -> str:
    return f"rate({metric}{selector}[{window}])"


def quantile(q: float, histogram: str, selector: str, window: str, by: str = "") -> str:
    group = ", ".join(x for x in (by, "le") if x)
    return f"histogram_quantile({q}, sum by ({group}) ({rate(histogram + '_bucket', selector, window)}))"


def error_ratio(selector_labels: dict[str, str], window: str, by: str = "") -> str:
    """5xx share of requests; 0 (not nothing) when none failed."""
    agg = f"sum by ({by})" if by else "sum"
    total = f"{agg} ({rate(m.REQUESTS_TOTAL, sel(**selector_labels), window)})"
    failed_sel = sel(**selector_labels, **{m.LABEL_STATUS: "~5.."})
    failed = f"{agg} ({rate(m.REQUESTS_TOTAL, failed_sel, window)})"
    return f"({failed} or {total} * 0) / {total}"


def mean(histogram: str, selector: str, window: str) -> str:
    return (f"sum({rate(histogram + '_sum', selector, window)}) / "
            f"sum({rate(histogram + '_count', selector, window)})")


def available(selector_labels: dict[str, str]) -> str:
    return f"{m.MODEL_VERSION_STATE}{sel(**selector_labels, **{m.LABEL_STATE: 'AVAILABLE'})}"
