"""The optimize generator's step id and artifact kinds (no imports)."""

OPTIMIZE_STEP = "model.optimize"
#: ``model/providers.json``: execution-provider settings for the runtime (its own kind: it is not a runtime config)
PROVIDERS_KIND = "execution-providers"
PROVIDERS_PATH = "model/providers.json"
REPORT_KIND = "optimization-report"
