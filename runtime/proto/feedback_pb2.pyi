from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FeedbackRequest(_message.Message):
    __slots__ = ("model_name", "feedback")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    feedback: _containers.RepeatedCompositeFieldContainer[FeedbackItem]
    def __init__(self, model_name: _Optional[str] = ..., feedback: _Optional[_Iterable[_Union[FeedbackItem, _Mapping]]] = ...) -> None: ...

class FeedbackItem(_message.Message):
    __slots__ = ("id", "label", "value")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: _containers.RepeatedScalarFieldContainer[str]
    value: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, id: _Optional[str] = ..., label: _Optional[_Iterable[str]] = ..., value: _Optional[_Iterable[float]] = ...) -> None: ...

class FeedbackResponse(_message.Message):
    __slots__ = ("joined", "expired", "unknown", "duplicate")
    JOINED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    joined: int
    expired: int
    unknown: int
    duplicate: int
    def __init__(self, joined: _Optional[int] = ..., expired: _Optional[int] = ..., unknown: _Optional[int] = ..., duplicate: _Optional[int] = ...) -> None: ...
