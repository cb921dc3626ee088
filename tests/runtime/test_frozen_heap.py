"""The server freezes its heap once the models are loaded (gc.freeze, Service._freeze_heap): serving's garbage
collections then skip it. A version loaded before the freeze and retired by hot reload must still be freed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from mlready.runtime.config import RuntimeConfig
from mlready.runtime.service import Service


def test_the_heap_is_frozen_at_startup_and_a_retired_startup_version_is_still_freed(tmp_path, mk):
    repo = tmp_path / "repo"
    mk.write_version(repo, "m", 1, mk.mlp_model([8, 16, 2], seed=1))
    config = RuntimeConfig.from_dict({"model_repository": str(repo), "poll_interval_s": 0, "drain_seconds": 0.1,
                                      "default_model": {"batching": {"enabled": True, "max_batch_size": 8}}})

    async def main() -> tuple[int, bool, str]:
        service = Service(config)
        await service.start()
        await service.wait_loaded()
        frozen = gc.get_freeze_count()
        first = weakref.ref(service.manager.resolve("m", None, None))
        mk.write_version(repo, "m", 2, mk.mlp_model([8, 16, 2], seed=2))
        await service.manager.poll()
        for _ in range(200):  # retired once its in-flight requests (none) finish
            if service.manager.status["m"][1].state == "END":
                break
            await asyncio.sleep(0.02)
        state = service.manager.status["m"][1].state
        gc.collect()
        alive = first() is not None
        await service.stop()
        return frozen, alive, state

    try:
        frozen, alive, state = asyncio.run(main())
    finally:
        gc.unfreeze()  # this test process's heap: the other tests run as before
    assert frozen > 0 and state == "END"
    assert not alive  # version 1 was frozen with the heap; only refcounting can free it (no cycle may hold it)
