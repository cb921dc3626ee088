from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)
