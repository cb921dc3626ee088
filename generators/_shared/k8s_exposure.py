"""Exposure (``target.k8s.exposure``): how clients outside the cluster reach the model server's Service.

- ``gateway``: a Gateway API ``HTTPRoute`` for the REST port (path prefix, request timeout, the prefix
  rewritten to ``/`` so the server sees its own routes) and a ``GRPCRoute`` for the gRPC port, attached to
  ``exposure.gateway`` (a shared Gateway, or one mlready writes when ``gateway.class_name`` is set: TLS is
  terminated by a Gateway listener, so that is where ``tls_secret`` goes);
- ``ingress``: a ``networking.k8s.io/v1`` Ingress for the REST port (TLS from ``tls_secret``); the timeout and a
  non-root path use ingress-nginx annotations (other controllers have their own; gRPC needs the gateway kind).

Shadow traffic (:mod:`mlready.generators._shared.k8s_shadow`) adds its mirror filter to the HTTPRoute built here.
"""

from __future__ import annotations

import re
from typing import Any

from mlready.generators._shared.k8s_context import BundleContext

GATEWAY_API = "gateway.networking.k8s.io/v1"


def gateway_name(ctx: BundleContext) -> str:
    """The Gateway the routes attach to: ``gateway.name``, or the app's own (``class_name`` set)."""
    return ctx.cfg.exposure.gateway.name or ctx.name


def parent_refs(ctx: BundleContext) -> list[dict[str, Any]]:
    g = ctx.cfg.exposure.gateway
    ref: dict[str, Any] = {"name": gateway_name(ctx)}
    if g.namespace and not g.class_name:  # mlready's own Gateway sits beside the routes
        ref["namespace"] = g.namespace
    if g.section_name:
        ref["sectionName"] = g.section_name
    return [ref]


def backend(ctx: BundleContext, service: str | None = None, port: int | None = None) -> dict[str, Any]:
    return {"name": service or ctx.name, "port": port or ctx.ports.http}


def http_rule(ctx: BundleContext, filters: list[dict[str, Any]] | None = None,
              to: dict[str, Any] | None = None) -> dict[str, Any]:
    """The REST rule: path prefix (rewritten to ``/``), the Service's http port (or ``to``: KEDA's HTTP
    interceptor), the request timeout."""
    e = ctx.cfg.exposure
    rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": e.path}}]}
    out_filters = list(filters or [])
    if e.path != "/":
        out_filters.insert(0, {"type": "URLRewrite",
                               "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}})
    if out_filters:
        rule["filters"] = out_filters
    rule["backendRefs"] = [to or backend(ctx)]
    rule["timeouts"] = {"request": f"{e.request_timeout_seconds}s"}
    return rule


def http_route(ctx: BundleContext, filters: list[dict[str, Any]] | None = None,
               to: dict[str, Any] | None = None) -> dict[str, Any]:
    e = ctx.cfg.exposure
    spec: dict[str, Any] = {"parentRefs": parent_refs(ctx)}
    if e.host:
        spec["hostnames"] = [e.host]
    spec["rules"] = [http_rule(ctx, filters, to)]
    return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": ctx.meta(), "spec": spec}


def grpc_route(ctx: BundleContext) -> dict[str, Any]:
    e = ctx.cfg.exposure
    spec: dict[str, Any] = {"parentRefs": parent_refs(ctx)}
    if e.host:
        spec["hostnames"] = [e.host]
    spec["rules"] = [{"backendRefs": [backend(ctx, port=ctx.ports.grpc)]}]
    return {"apiVersion": GATEWAY_API, "kind": "GRPCRoute", "metadata": ctx.meta(f"{ctx.name}-grpc"), "spec": spec}


def gateway(ctx: BundleContext) -> dict[str, Any]:
    """mlready's own Gateway (``gateway.class_name`` set): one listener, HTTPS with ``tls_secret`` or HTTP,
    for ``host``, taking routes from its own namespace only."""
    e = ctx.cfg.exposure
    listener: dict[str, Any] = {"name": "https" if e.tls_secret else "http",
                                "protocol": "HTTPS" if e.tls_secret else "HTTP",
                                "port": 443 if e.tls_secret else 80}
    if e.host:
        listener["hostname"] = e.host
    if e.tls_secret:
        listener["tls"] = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": e.tls_secret}]}
    listener["allowedRoutes"] = {"namespaces": {"from": "Same"}}
    return {"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": ctx.meta(gateway_name(ctx)),
            "spec": {"gatewayClassName": e.gateway.class_name, "listeners": [listener]}}


def ingress(ctx: BundleContext) -> dict[str, Any]:
    e = ctx.cfg.exposure
    timeout = str(e.request_timeout_seconds)
    annotations = {"nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
                   "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout}
    path, path_type = e.path, "Prefix"
    if e.path != "/":  # the server answers on its own routes: strip the prefix (ingress-nginx's regex rewrite)
        annotations["nginx.ingress.kubernetes.io/use-regex"] = "true"
        annotations["nginx.ingress.kubernetes.io/rewrite-target"] = "/$2"
        path, path_type = f"{re.escape(e.path.rstrip('/'))}(/|$)(.*)", "ImplementationSpecific"
    http = {"paths": [{"path": path, "pathType": path_type,
                       "backend": {"service": {"name": ctx.name, "port": {"name": "http"}}}}]}
    rule: dict[str, Any] = {"host": e.host, "http": http} if e.host else {"http": http}
    spec: dict[str, Any] = {}
    if e.ingress_class:
        spec["ingressClassName"] = e.ingress_class
    if e.tls_secret:
        spec["tls"] = [{"hosts": [e.host], "secretName": e.tls_secret} if e.host else {"secretName": e.tls_secret}]
    spec["rules"] = [rule]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": ctx.meta(annotations=annotations), "spec": spec}


def exposure_files(ctx: BundleContext, mirror: list[dict[str, Any]] | None = None,
                   to: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Base files of the exposure (file name -> object); ``mirror``: the shadow's RequestMirror filter; ``to``:
    the REST backend when it is not the Service (KEDA's HTTP interceptor: gRPC is then not routed, since
    a gRPC call would not wake a Deployment scaled to zero)."""
    e = ctx.cfg.exposure
    if e.kind == "ingress":
        return {"ingress.yaml": ingress(ctx)}
    if e.kind != "gateway":
        return {}
    files = {}
    if e.gateway.class_name:
        files["gateway.yaml"] = gateway(ctx)
    files["httproute.yaml"] = http_route(ctx, mirror, to)
    if e.grpc and ctx.ports.grpc and to is None:
        files["grpcroute.yaml"] = grpc_route(ctx)
    return files
