"""The generator plugin interface: what a generator contributes to a build.

A *generator* (one per target: model, runtime, docker, k8s, gitlab, grafana, ...) is a class registered under
the ``mlready.generators`` entry-point group. It owns one section of the spec (a pydantic model) and returns
*steps*. A step is a pure function from a :class:`StepContext` to a list of :class:`Artifact`: it reads the
typed spec, its declared input files and its upstream steps' artifacts, and returns bytes. It never writes
into the build dir, reads the clock for its output, or touches the network: the engine caches, writes
atomically and records the manifest.

Minimal generator::

    class HelloSpec(Section):
        enabled: bool = False
        greeting: str = "hello"

    class HelloGenerator(Generator[HelloSpec]):
        name = "hello"
        group = "target"            # enabled by ``+target=hello`` (conf/target/hello.yaml sets hello.enabled)
        section = "target.hello"    # where its config lives in the spec
        config_model = HelloSpec

        def steps(self, spec):
            return [Step(id="hello.say", run=say, reads=("project.name",))]

    def say(ctx):                   # reads its own section and project.name: both are in its cache key
        greeting = HelloGenerator().config(ctx.spec).greeting
        return [Artifact.text("hello.txt", "hello", f"{greeting} from {ctx.spec.project.name}")]
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from mlready.engine.errors import SpecProblem
    from mlready.engine.spec import Spec


class Section(BaseModel):
    """Base for every spec section: unknown keys are errors, values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


@dataclass(frozen=True)
class Artifact:
    """One output file. ``path`` is POSIX and relative to the build dir; ``kind`` names it in the manifest.

    Small artifacts carry ``data``; large ones (wheelhouses, models) may instead point ``source`` at a file
    the step wrote inside its ``ctx.scratch`` dir. Use the constructors, which make output deterministic.
    """

    path: str
    kind: str
    data: bytes | None = None
    source: Path | None = None
    mode: int = 0o644
    #: the content's sha256 when already known (artifacts restored from the content-addressed cache)
    digest: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        p = Path(self.path)
        if p.is_absolute() or ".." in p.parts or not self.path or self.path != p.as_posix():
            raise ValueError(f"artifact path must be relative and normalised, got {self.path!r}")
        if (self.data is None) == (self.source is None):
            raise ValueError(f"artifact {self.path}: give exactly one of data or source")

    @classmethod
    def from_bytes(cls, path: str, kind: str, data: bytes, mode: int = 0o644) -> Artifact:
        return cls(path=path, kind=kind, data=data, mode=mode)

    @classmethod
    def text(cls, path: str, kind: str, text: str, mode: int = 0o644) -> Artifact:
        if not text.endswith("\n"):
            text += "\n"
        return cls(path=path, kind=kind, data=text.encode("utf-8"), mode=mode)

    @classmethod
    def json(cls, path: str, kind: str, obj: Any, sort_keys: bool = True) -> Artifact:
        from mlready.engine.serialize import dump_json

        return cls.text(path, kind, dump_json(obj, sort_keys=sort_keys))

    @classmethod
    def yaml(cls, path: str, kind: str, docs: Any, header: str | None = None, multi: bool = False) -> Artifact:
        """``docs`` is one document, or a list of documents when ``multi`` is true (joined by ``---``)."""
        from mlready.engine.serialize import dump_yaml

        return cls.text(path, kind, dump_yaml(docs, header=header, multi=multi))

    @classmethod
    def file(cls, path: str, kind: str, source: Path, mode: int = 0o644) -> Artifact:
        return cls(path=path, kind=kind, source=Path(source), mode=mode)

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else Path(self.source).read_bytes()  # type: ignore[arg-type]

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")

    def sha256(self) -> str:
        if self.digest is not None:
            return self.digest
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        return file_digest(Path(self.source))  # type: ignore[arg-type]


def file_digest(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Step:
    """A node of the build graph.

    The cache key covers: ``id``; the spec subtrees named in ``reads`` (dotted paths such as ``serving``,
    ``target.docker`` or ``model.name``; the generator's own section always) in full; ``config`` (JSON-able,
    a pydantic model is dumped: values derived at plan time from other parts of the spec go here); the
    digests of ``inputs`` (files or directories, relative to the project or absolute); the sources of
    ``templates`` (names under ``mlready.templates``); ``tools`` (name -> version of every tool that shapes
    the output); the header provenance when ``header`` is true; the keys of ``deps``; the mlready version
    and the digest of the generator's code (:mod:`mlready.engine.codehash`). Nothing is bumped by hand.

    While the body runs, ``ctx.spec`` answers only the paths in ``reads`` (:mod:`mlready.engine.specview`):
    reading anything else fails the step, so the key cannot miss what the output depends on.
    """

    id: str
    #: the step body, or ``"module:function"`` naming it — imported only when the step runs, so that planning
    #: a build (and every no-op rebuild) never imports the libraries a step needs
    run: Callable[[StepContext], list[Artifact]] | str
    deps: tuple[str, ...] = ()
    config: Any = None
    #: spec paths the body reads besides its generator's own section (the engine adds that one)
    reads: tuple[str, ...] = ()
    inputs: tuple[Path | str, ...] = ()
    templates: tuple[str, ...] = ()
    tools: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    header: bool = True
    cacheable: bool = True

    def body(self) -> Callable[[StepContext], list[Artifact]]:
        if callable(self.run):
            return self.run
        module, _, func = self.run.partition(":")
        body: Callable[[StepContext], list[Artifact]] = getattr(importlib.import_module(module), func)
        return body


class StepContext:
    """What a running step may use. Implemented by the engine (see :mod:`mlready.engine.execute`)."""

    spec: Spec  # a view answering only the step's declared reads (mlready.engine.specview.SpecView)
    project_dir: Path
    scratch: Path  # a private, empty temp dir for this step; removed when the build ends

    def upstream(self, step_id: str) -> list[Artifact]:  # artifacts of a declared dependency
        raise NotImplementedError

    def artifacts(self, kind: str) -> list[Artifact]:  # every upstream artifact (transitively) of a kind
        raise NotImplementedError

    def artifact(self, kind: str) -> Artifact:  # exactly one upstream artifact of a kind, else StepError
        raise NotImplementedError

    def progress(self, message: str, fraction: float | None = None) -> None:
        raise NotImplementedError

    def header(self, comment: str = "#") -> str:  # "generated by mlready — do not edit" + provenance
        raise NotImplementedError

    def render(self, template: str, **context: Any) -> str:  # Jinja, StrictUndefined, from mlready.templates
        raise NotImplementedError

    def resolve(self, path: str | Path) -> Path:  # a spec path, relative to the project dir
        raise NotImplementedError

    def where(self, key: str) -> str:  # where the spec sets a key ("deploy.yaml:12"), for error messages only
        return ""


SectionT = TypeVar("SectionT", bound=Section)


class Generator(Generic[SectionT]):
    """Base class for generators. Subclass as ``Generator[MySpec]``, set the class attributes, implement
    :meth:`steps`; :meth:`config` is the generator's own section, typed."""

    name: ClassVar[str]
    #: the Hydra config group that switches it on (``target``, ``ci``, ``monitoring``, ``pipeline``), or None
    #: for generators that are always on and decide from their section whether they have work.
    group: ClassVar[str | None] = None
    #: dotted spec path of its config section, e.g. ``target.k8s``, ``serving``, ``readiness``
    section: ClassVar[str]
    config_model: ClassVar[type[Section]]
    #: a human description for ``mlready generators``
    description: ClassVar[str] = ""

    def config(self, spec: Spec) -> SectionT:
        """This generator's section of ``spec`` (a full spec or a step's view of it)."""
        node: SectionT = spec.section(self.section)
        return node

    def enabled(self, spec: Spec) -> bool:
        if self.group is None:
            return True
        return bool(getattr(spec.section(self.section), "enabled", False))

    def validate(self, spec: Spec) -> list[SpecProblem]:
        """Cross-field checks beyond the section model; return problems (keys are full dotted paths)."""
        return []

    def steps(self, spec: Spec) -> list[Step]:
        raise NotImplementedError


def config_digest(obj: Any) -> Any:
    """JSON-able form of a step config (pydantic models are dumped) for cache keys."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, Mapping):
        return {str(k): config_digest(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [config_digest(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    json.dumps(obj)  # raises for anything else that is not JSON-able
    return obj
