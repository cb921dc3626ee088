"""The runtime generator's step id, artifact kind and path (no imports: other generators name them without
loading the generator)."""

STEP_ID = "runtime.config"
CONFIG_KIND = "runtime-config"
CONFIG_PATH = "runtime/config.json"
