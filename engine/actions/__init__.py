"""Operations with side effects, one module per action, behind :mod:`mlready.engine.api`.

A build is pure until the writer; these act on the world: ``image`` (Docker Engine API: build, smoke test,
push, record), ``deploy`` and ``rollback`` (the Kubernetes API), ``serve`` (the model server) and ``promote``
(the MLflow Model Registry). Commands call them only through the API. See README.md.
"""
