"""The monitoring generators' step ids and artifact kinds (no imports)."""

RULES_STEP = "monitoring.prometheus-rules"
GRAFANA_STEP = "monitoring.grafana"
RULES_KIND = "prometheus-rules"
DASHBOARD_KIND = "grafana-dashboard"
PROVISIONING_KIND = "grafana-provisioning"
