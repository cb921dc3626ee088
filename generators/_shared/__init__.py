"""What several generators need, in one layer: generators import the engine's plugin API and this package,
never each other (enforced by the import-linter contracts in ``pyproject.toml``; see README.md)."""
