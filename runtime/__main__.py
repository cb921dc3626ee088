"""``python -m mlready.runtime --config /etc/mlready/runtime.json`` (or ``--model-repository DIR``); with the
command ``score`` (``[--config FILE] score --model DIR --input ... --output ...``) it scores tables instead:
the image's batch entrypoint, see :mod:`mlready.runtime.score.__main__`."""

from __future__ import annotations

import argparse
import os
import sys


def _port_or_off(text: str) -> int | str:
    if text.strip().lower() == "off":
        return "off"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number or off, got {text!r}") from None


def _score_argv(argv: list[str]) -> list[str] | None:
    """The batch-scoring arguments when the command is ``score`` (the image's ENTRYPOINT adds ``--config FILE``
    before whatever ``docker run <image>`` / a Job's ``args`` give), else None."""
    head = argv[2:] if argv[:1] == ["--config"] else argv
    return head[1:] if head[:1] == ["score"] else None


def _score(argv: list[str]) -> int:
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        print("error: score: this image was built without batch scoring (pyarrow); rebuild it with the batch "
              "target (+target=batch) or target.docker.scoring=true", file=sys.stderr)
        return 2
    from mlready.runtime.score.__main__ import main as score_main

    return score_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    score = _score_argv(argv)
    if score is not None:  # `<image> score --model ... --input ... --output ...`: batch scoring, not serving
        return _score(score)
    from mlready.runtime.config import ConfigError, RuntimeConfig

    parser = argparse.ArgumentParser(prog="python -m mlready.runtime", description="The mlready model server.")
    parser.add_argument("command", nargs="?", choices=["serve"],
                        help="optional; SageMaker starts containers as `docker run <image> serve`. `[--config "
                        "FILE] score ...` scores tables instead (python -m mlready.runtime.score --help)")
    parser.add_argument("--config", help="runtime config JSON (kind: runtime-config)")
    parser.add_argument("--model-repository", help="serve this repository (overrides the config's)")
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--grpc-port", type=_port_or_off, help="a port, or off: REST only")
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--host")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from mlready.runtime import logs

    try:
        if args.config:
            data = RuntimeConfig.load(args.config).to_dict()
        elif args.model_repository:
            data = {"model_repository": args.model_repository}
        else:
            parser.error("give --config FILE or --model-repository DIR")
        overrides = {"model_repository": args.model_repository, "http_port": args.http_port,
                     "grpc_port": args.grpc_port, "metrics_port": args.metrics_port, "host": args.host,
                     "log_level": args.log_level}
        data.update({k: v for k, v in overrides.items() if v is not None})
        if args.grpc_port == "off":  # REST only
            data["grpc_port"] = None
        config = RuntimeConfig.from_dict(data)
        config.vertex_routes(os.environ)  # routes from the environment collide with no other route
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs.configure(config.log_level)
    from mlready.runtime.server import run

    return run(config, args.config, worker=args.worker)


if __name__ == "__main__":
    sys.exit(main())
