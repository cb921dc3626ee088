"""Shadow traffic (``target.k8s.rollout.strategy: shadow``): the version being built runs beside the stable one
and receives a mirrored share of the stable Service's requests; the proxy discards the mirror's answers.

Two Deployments (``<name>`` runs ``rollout.shadow.stable_version``, ``<name>-shadow`` the new image, labelled
``mlready.io/track: stable|shadow``), the Service ``<name>`` selecting the stable pods only and a
``<name>-shadow`` Service for the mirror. The mirror is, by ``rollout.shadow.via``:

- ``gateway``: a Gateway API ``RequestMirror`` filter with ``percent`` on the REST rule: on the exposure's
  HTTPRoute when ``exposure.kind`` is gateway, else on a mesh (GAMMA) HTTPRoute attached to the Service;
- ``istio``: an Istio ``VirtualService`` for the Service's host with ``mirror`` and ``mirrorPercentage``.
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_context import TRACK_LABEL, BundleContext
from mlready.generators._shared.k8s_exposure import GATEWAY_API, backend

TRACK = "shadow"


def shadow_name(ctx: BundleContext) -> str:
    return f"{ctx.name}-{TRACK}"


def on(ctx: BundleContext) -> bool:
    return ctx.cfg.rollout.strategy == "shadow"


def shadow_service(ctx: BundleContext, service: dict[str, Any]) -> dict[str, Any]:
    """The ``<name>-shadow`` Service: ``service`` (the stable one) selecting the shadow pods instead."""
    out = {**service, "metadata": ctx.meta(shadow_name(ctx)), "spec": dict(service["spec"])}
    out["spec"]["selector"] = {**ctx.service_selector(), TRACK_LABEL: TRACK}
    return out


def mirror_filter(ctx: BundleContext) -> list[dict[str, Any]]:
    """The Gateway API RequestMirror filter (REST port) sending ``percent`` of the requests to the shadow."""
    if not on(ctx) or ctx.cfg.rollout.shadow.via != "gateway":
        return []
    return [{"type": "RequestMirror", "requestMirror": {"backendRef": backend(ctx, shadow_name(ctx)),
                                                        "percent": ctx.cfg.rollout.shadow.percent}}]


def mesh_route(ctx: BundleContext) -> dict[str, Any]:
    """In-cluster mirroring without an exposure Gateway: an HTTPRoute whose parent is the Service (GAMMA)."""
    rule = {"filters": mirror_filter(ctx), "backendRefs": [backend(ctx)],
            "timeouts": {"request": f"{ctx.cfg.exposure.request_timeout_seconds}s"}}
    return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": ctx.meta(shadow_name(ctx)),
            "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": ctx.name, "port": ctx.ports.http}],
                     "rules": [rule]}}


def virtual_service(ctx: BundleContext) -> dict[str, Any]:
    port = {"number": ctx.ports.http}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": ctx.meta(),
        "spec": {
            "hosts": [ctx.name],
            "http": [{
                "name": "shadow",
                "route": [{"destination": {"host": ctx.name, "port": port}}],
                "mirror": {"host": shadow_name(ctx), "port": port},
                "mirrorPercentage": {"value": float(ctx.cfg.rollout.shadow.percent)},
                "timeout": f"{ctx.cfg.exposure.request_timeout_seconds}s",
            }],
        },
    }


def shadow_files(ctx: BundleContext, service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Base files of the shadow rollout besides its Deployment (file name -> object)."""
    if not on(ctx):
        return {}
    files = {"service-shadow.yaml": shadow_service(ctx, service)}
    if ctx.cfg.rollout.shadow.via == "istio":
        files["virtualservice.yaml"] = virtual_service(ctx)
    elif ctx.cfg.exposure.kind != "gateway":  # with a Gateway, the exposure's HTTPRoute carries the mirror
        files["httproute-shadow.yaml"] = mesh_route(ctx)
    return files
