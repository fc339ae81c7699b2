from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_UNSPECIFIED: _ClassVar[Stream]
    STDOUT: _ClassVar[Stream]
    STDERR: _ClassVar[Stream]

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[TaskStatus]
    PENDING: _ClassVar[TaskStatus]
    RUNNING: _ClassVar[TaskStatus]
    SUCCESS: _ClassVar[TaskStatus]
    FAILED: _ClassVar[TaskStatus]
    CANCELLED: _ClassVar[TaskStatus]
    LOST: _ClassVar[TaskStatus]
STREAM_UNSPECIFIED: Stream
STDOUT: Stream
STDERR: Stream
STATUS_UNSPECIFIED: TaskStatus
PENDING: TaskStatus
RUNNING: TaskStatus
SUCCESS: TaskStatus
FAILED: TaskStatus
CANCELLED: TaskStatus
LOST: TaskStatus

class Gap(_message.Message):
    __slots__ = ("from_seq", "to_seq", "reason")
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    to_seq: int
    reason: str
    def __init__(self, from_seq: _Optional[int] = ..., to_seq: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Dropped(_message.Message):
    __slots__ = ("count", "from_seq", "to_seq")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    count: int
    from_seq: int
    to_seq: int
    def __init__(self, count: _Optional[int] = ..., from_seq: _Optional[int] = ..., to_seq: _Optional[int] = ...) -> None: ...

class TaskEnd(_message.Message):
    __slots__ = ("status", "exit_code", "error")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    status: TaskStatus
    exit_code: int
    error: str
    def __init__(self, status: _Optional[_Union[TaskStatus, str]] = ..., exit_code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class LogBatch(_message.Message):
    __slots__ = ("state", "gap", "dropped", "end", "first_seq", "timestamps", "streams", "contents", "truncated", "unterminated", "seqs")
    class TruncatedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    STATE_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    UNTERMINATED_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    state: str
    gap: Gap
    dropped: Dropped
    end: TaskEnd
    first_seq: int
    timestamps: _containers.RepeatedScalarFieldContainer[str]
    streams: _containers.RepeatedScalarFieldContainer[Stream]
    contents: _containers.RepeatedScalarFieldContainer[str]
    truncated: _containers.ScalarMap[int, int]
    unterminated: _containers.RepeatedScalarFieldContainer[int]
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, state: _Optional[str] = ..., gap: _Optional[_Union[Gap, _Mapping]] = ..., dropped: _Optional[_Union[Dropped, _Mapping]] = ..., end: _Optional[_Union[TaskEnd, _Mapping]] = ..., first_seq: _Optional[int] = ..., timestamps: _Optional[_Iterable[str]] = ..., streams: _Optional[_Iterable[_Union[Stream, str]]] = ..., contents: _Optional[_Iterable[str]] = ..., truncated: _Optional[_Mapping[int, int]] = ..., unterminated: _Optional[_Iterable[int]] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class StoredLines(_message.Message):
    __slots__ = ("timestamps", "streams", "contents", "truncated", "unterminated", "v1_timestamps", "v1_streams", "v1_contents", "v1_truncated", "v1_unterminated")
    class TruncatedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    class V1TruncatedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    UNTERMINATED_FIELD_NUMBER: _ClassVar[int]
    V1_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    V1_STREAMS_FIELD_NUMBER: _ClassVar[int]
    V1_CONTENTS_FIELD_NUMBER: _ClassVar[int]
    V1_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    V1_UNTERMINATED_FIELD_NUMBER: _ClassVar[int]
    timestamps: _containers.RepeatedScalarFieldContainer[str]
    streams: _containers.RepeatedScalarFieldContainer[Stream]
    contents: _containers.RepeatedScalarFieldContainer[str]
    truncated: _containers.ScalarMap[int, int]
    unterminated: _containers.RepeatedScalarFieldContainer[int]
    v1_timestamps: _containers.RepeatedScalarFieldContainer[str]
    v1_streams: _containers.RepeatedScalarFieldContainer[Stream]
    v1_contents: _containers.RepeatedScalarFieldContainer[str]
    v1_truncated: _containers.ScalarMap[int, int]
    v1_unterminated: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, timestamps: _Optional[_Iterable[str]] = ..., streams: _Optional[_Iterable[_Union[Stream, str]]] = ..., contents: _Optional[_Iterable[str]] = ..., truncated: _Optional[_Mapping[int, int]] = ..., unterminated: _Optional[_Iterable[int]] = ..., v1_timestamps: _Optional[_Iterable[str]] = ..., v1_streams: _Optional[_Iterable[_Union[Stream, str]]] = ..., v1_contents: _Optional[_Iterable[str]] = ..., v1_truncated: _Optional[_Mapping[int, int]] = ..., v1_unterminated: _Optional[_Iterable[int]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("task_id", "pattern", "regex", "ignore_case", "context", "limit", "newest_first", "time_budget")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    IGNORE_CASE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    TIME_BUDGET_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    pattern: str
    regex: bool
    ignore_case: bool
    context: int
    limit: int
    newest_first: bool
    time_budget: float
    def __init__(self, task_id: _Optional[str] = ..., pattern: _Optional[str] = ..., regex: _Optional[bool] = ..., ignore_case: _Optional[bool] = ..., context: _Optional[int] = ..., limit: _Optional[int] = ..., newest_first: _Optional[bool] = ..., time_budget: _Optional[float] = ...) -> None: ...

class SearchBatch(_message.Message):
    __slots__ = ("seqs", "contents", "matches", "scanned", "lowest", "highest", "match_count", "done", "stopped")
    SEQS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    SCANNED_FIELD_NUMBER: _ClassVar[int]
    LOWEST_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_FIELD_NUMBER: _ClassVar[int]
    MATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    seqs: _containers.RepeatedScalarFieldContainer[int]
    contents: _containers.RepeatedScalarFieldContainer[str]
    matches: _containers.RepeatedScalarFieldContainer[bool]
    scanned: int
    lowest: int
    highest: int
    match_count: int
    done: bool
    stopped: str
    def __init__(self, seqs: _Optional[_Iterable[int]] = ..., contents: _Optional[_Iterable[str]] = ..., matches: _Optional[_Iterable[bool]] = ..., scanned: _Optional[int] = ..., lowest: _Optional[int] = ..., highest: _Optional[int] = ..., match_count: _Optional[int] = ..., done: _Optional[bool] = ..., stopped: _Optional[str] = ...) -> None: ...

class StreamLogsRequest(_message.Message):
    __slots__ = ("task_id", "tail", "after_seq", "no_follow", "user", "lossless", "filter")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    NO_FOLLOW_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LOSSLESS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    tail: int
    after_seq: int
    no_follow: bool
    user: str
    lossless: bool
    filter: LineFilter
    def __init__(self, task_id: _Optional[str] = ..., tail: _Optional[int] = ..., after_seq: _Optional[int] = ..., no_follow: _Optional[bool] = ..., user: _Optional[str] = ..., lossless: _Optional[bool] = ..., filter: _Optional[_Union[LineFilter, _Mapping]] = ...) -> None: ...

class LineFilter(_message.Message):
    __slots__ = ("pattern", "regex", "ignore_case", "stream", "min_level")
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    IGNORE_CASE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    pattern: str
    regex: bool
    ignore_case: bool
    stream: Stream
    min_level: str
    def __init__(self, pattern: _Optional[str] = ..., regex: _Optional[bool] = ..., ignore_case: _Optional[bool] = ..., stream: _Optional[_Union[Stream, str]] = ..., min_level: _Optional[str] = ...) -> None: ...

class ReadLogsRequest(_message.Message):
    __slots__ = ("task_id", "after_seq", "before_seq", "max_lines", "max_bytes")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    BEFORE_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_LINES_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    after_seq: int
    before_seq: int
    max_lines: int
    max_bytes: int
    def __init__(self, task_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., before_seq: _Optional[int] = ..., max_lines: _Optional[int] = ..., max_bytes: _Optional[int] = ...) -> None: ...

class TaskSpec(_message.Message):
    __slots__ = ("task_id", "image", "command", "env", "tty", "labels", "memory", "cpus", "pids_limit", "timeout")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    PIDS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    image: str
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    tty: bool
    labels: _containers.ScalarMap[str, str]
    memory: int
    cpus: float
    pids_limit: int
    timeout: float
    def __init__(self, task_id: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., tty: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., memory: _Optional[int] = ..., cpus: _Optional[float] = ..., pids_limit: _Optional[int] = ..., timeout: _Optional[float] = ...) -> None: ...

class TaskInfo(_message.Message):
    __slots__ = ("task_id", "status", "exit_code", "error", "worker", "image", "command", "tty", "created_at", "finished_at", "lines", "container_id", "labels", "started_at", "store_error", "expired", "memory", "cpus", "pids_limit", "timeout")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ERROR_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    PIDS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    status: TaskStatus
    exit_code: int
    error: str
    worker: str
    image: str
    command: _containers.RepeatedScalarFieldContainer[str]
    tty: bool
    created_at: float
    finished_at: float
    lines: int
    container_id: str
    labels: _containers.ScalarMap[str, str]
    started_at: float
    store_error: str
    expired: bool
    memory: int
    cpus: float
    pids_limit: int
    timeout: float
    def __init__(self, task_id: _Optional[str] = ..., status: _Optional[_Union[TaskStatus, str]] = ..., exit_code: _Optional[int] = ..., error: _Optional[str] = ..., worker: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., tty: _Optional[bool] = ..., created_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., lines: _Optional[int] = ..., container_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., started_at: _Optional[float] = ..., store_error: _Optional[str] = ..., expired: _Optional[bool] = ..., memory: _Optional[int] = ..., cpus: _Optional[float] = ..., pids_limit: _Optional[int] = ..., timeout: _Optional[float] = ...) -> None: ...

class TaskRef(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class TaskList(_message.Message):
    __slots__ = ("tasks", "version", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskInfo]
    version: int
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[TaskInfo, _Mapping]]] = ..., version: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("status", "labels", "limit", "page_token", "since_version")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SINCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    status: _containers.RepeatedScalarFieldContainer[TaskStatus]
    labels: _containers.ScalarMap[str, str]
    limit: int
    page_token: str
    since_version: int
    def __init__(self, status: _Optional[_Iterable[_Union[TaskStatus, str]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ..., since_version: _Optional[int] = ...) -> None: ...

class StartTaskRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: TaskSpec
    def __init__(self, spec: _Optional[_Union[TaskSpec, _Mapping]] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("name", "address", "alive", "running_tasks", "last_seen", "clock_skew")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASKS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    CLOCK_SKEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    alive: bool
    running_tasks: int
    last_seen: float
    clock_skew: float
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., alive: _Optional[bool] = ..., running_tasks: _Optional[int] = ..., last_seen: _Optional[float] = ..., clock_skew: _Optional[float] = ...) -> None: ...

class WorkerList(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerInfo]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerInfo, _Mapping]]] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("token_id", "user", "role", "created_at", "expires_at", "revoked_at", "state", "task_ids", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    user: str
    role: str
    created_at: float
    expires_at: float
    revoked_at: float
    state: str
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    def __init__(self, token_id: _Optional[str] = ..., user: _Optional[str] = ..., role: _Optional[str] = ..., created_at: _Optional[float] = ..., expires_at: _Optional[float] = ..., revoked_at: _Optional[float] = ..., state: _Optional[str] = ..., task_ids: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("role", "user", "expires_in", "task_ids", "labels", "replace_worker")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROLE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_WORKER_FIELD_NUMBER: _ClassVar[int]
    role: str
    user: str
    expires_in: float
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    replace_worker: str
    def __init__(self, role: _Optional[str] = ..., user: _Optional[str] = ..., expires_in: _Optional[float] = ..., task_ids: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., replace_worker: _Optional[str] = ...) -> None: ...

class CreatedToken(_message.Message):
    __slots__ = ("info", "token", "join_token")
    INFO_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    info: TokenInfo
    token: str
    join_token: str
    def __init__(self, info: _Optional[_Union[TokenInfo, _Mapping]] = ..., token: _Optional[str] = ..., join_token: _Optional[str] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TokenList(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("token_id",)
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    def __init__(self, token_id: _Optional[str] = ...) -> None: ...

class CreateLoginCodeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LoginCode(_message.Message):
    __slots__ = ("code", "expires_in", "url")
    CODE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    code: str
    expires_in: float
    url: str
    def __init__(self, code: _Optional[str] = ..., expires_in: _Optional[float] = ..., url: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("name", "address", "tasks", "since_version", "catalog_version", "more", "sent_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SINCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CATALOG_VERSION_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskInfo]
    since_version: int
    catalog_version: int
    more: bool
    sent_at: float
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskInfo, _Mapping]]] = ..., since_version: _Optional[int] = ..., catalog_version: _Optional[int] = ..., more: _Optional[bool] = ..., sent_at: _Optional[float] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("interval", "synced_version")
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SYNCED_VERSION_FIELD_NUMBER: _ClassVar[int]
    interval: float
    synced_version: int
    def __init__(self, interval: _Optional[float] = ..., synced_version: _Optional[int] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("name", "csr")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CSR_FIELD_NUMBER: _ClassVar[int]
    name: str
    csr: bytes
    def __init__(self, name: _Optional[str] = ..., csr: _Optional[bytes] = ...) -> None: ...

class JoinReply(_message.Message):
    __slots__ = ("certificate", "ca", "cluster_port")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CA_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_PORT_FIELD_NUMBER: _ClassVar[int]
    certificate: bytes
    ca: bytes
    cluster_port: int
    def __init__(self, certificate: _Optional[bytes] = ..., ca: _Optional[bytes] = ..., cluster_port: _Optional[int] = ...) -> None: ...

class RenewRequest(_message.Message):
    __slots__ = ("csr",)
    CSR_FIELD_NUMBER: _ClassVar[int]
    csr: bytes
    def __init__(self, csr: _Optional[bytes] = ...) -> None: ...

class RunTaskRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: TaskSpec
    def __init__(self, spec: _Optional[_Union[TaskSpec, _Mapping]] = ...) -> None: ...
