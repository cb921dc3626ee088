"""The monitoring generators' step ids and artifact kinds (no imports)."""

RULES_STEP = "monitoring.prometheus-rules"
GRAFANA_STEP = "monitoring.grafana"
RULES_KIND = "prometheus-rules"
DASHBOARD_KIND = "grafana-dashboard"
PROVISIONING_KIND = "grafana-provisioning"
DASHBOARDS_DIR = "/var/lib/grafana/dashboards/mlready"  # where the provisioned dashboards are mounted
