"""Adapter: the data model to and from the protobuf messages of shared/protos/logcast.proto."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from shared.errors import InvalidRequest
from shared.ids import validate_task_id
from shared.linefilter import LineFilter
from shared.model import (
    Batch,
    ConnectionState,
    Dropped,
    Gap,
    LogLine,
    Stream,
    TaskEnd,
    TaskInfo,
    TaskSpec,
    TaskStatus,
    WorkerSummary,
)
from shared.protos import logcast_pb2 as pb
from shared.search import DEFAULT_LIMIT, Query

_STREAM_TO_PB: dict[Stream, pb.Stream] = {
    Stream.STDOUT: pb.STDOUT,
    Stream.STDERR: pb.STDERR,
}
_STREAM_FROM_PB: defaultdict[pb.Stream, Stream] = defaultdict(
    lambda: Stream.STDOUT, {pb.STDOUT: Stream.STDOUT, pb.STDERR: Stream.STDERR}
)
_STATUS_TO_PB: dict[TaskStatus, pb.TaskStatus] = {
    TaskStatus.PENDING: pb.PENDING,
    TaskStatus.RUNNING: pb.RUNNING,
    TaskStatus.SUCCESS: pb.SUCCESS,
    TaskStatus.FAILED: pb.FAILED,
    TaskStatus.CANCELLED: pb.CANCELLED,
    TaskStatus.LOST: pb.LOST,
}
_STATUS_FROM_PB: dict[pb.TaskStatus, TaskStatus] = {v: k for k, v in _STATUS_TO_PB.items()}

MESSAGE_BUDGET = 1024 * 1024
"""Lines per LogBatch message are cut so that their UTF-8 content stays under this."""


def status_from_pb(value: pb.TaskStatus) -> TaskStatus:
    """A protobuf TaskStatus as the model's."""
    return _STATUS_FROM_PB.get(value, TaskStatus.LOST)


# ---------------------------------------------------------------- log batches


def batch_to_pb(batch: Batch) -> Iterator[pb.LogBatch]:
    """One or more LogBatch messages carrying ``batch`` in order, each well under 4 MiB."""
    parts = [part for part, _ in _split(batch.lines)]
    for i, part in enumerate(parts):
        msg = pb.LogBatch()
        if i == 0:
            _add_notices(msg, batch)
        _add_lines(msg, part)
        if i == len(parts) - 1 and batch.end is not None:
            msg.end.CopyFrom(end_to_pb(batch.end))
        yield msg


def _split(lines: list[LogLine]) -> Iterator[tuple[list[LogLine], int]]:
    """Cut ``lines`` so each part's UTF-8 size stays under MESSAGE_BUDGET (a char is at most
    3 bytes here: undecodable bytes became U+FFFD): ``(part, its estimated size)``. Always at
    least one part."""
    start = size = 0
    for i, line in enumerate(lines):
        cost = 3 * len(line.content) + 64
        if i > start and size + cost > MESSAGE_BUDGET:
            yield lines[start:i], size
            start, size = i, 0
        size += cost
    yield lines[start:], size


def _add_lines(msg: pb.LogBatch, lines: list[LogLine]) -> None:
    if not lines:
        return
    msg.first_seq = lines[0].seq
    if lines[-1].seq - lines[0].seq != len(lines) - 1:  # a filtered stream's: not consecutive
        msg.seqs.extend([line.seq for line in lines])
    _add_columns(msg, lines)


def _add_columns(msg: pb.LogBatch, lines: list[LogLine], offset: int = 0) -> None:
    """The lines' columns; their flags name them by index, ``offset`` + their position."""
    _extend_columns(msg, lines)
    for i, line in enumerate(lines, offset):
        if line.truncated:
            msg.truncated[i] = line.truncated
        if line.unterminated:
            msg.unterminated.append(i)


def _extend_columns(msg: pb.LogBatch | pb.StoredLines, lines: list[LogLine]) -> None:
    """Timestamps, streams and contents (the same fields in both messages)."""
    # columns, extended from Python lists in C: ~2x faster than a message per line
    msg.timestamps.extend([line.timestamp for line in lines])
    stream_to_pb = _STREAM_TO_PB
    msg.streams.extend([stream_to_pb[line.stream] for line in lines])
    msg.contents.extend([line.content for line in lines])


def batch_to_bytes(batch: Batch) -> Iterator[bytes]:
    """:func:`batch_to_pb`'s messages, serialized."""
    for msg in batch_to_pb(batch):
        yield msg.SerializeToString()


def batch_to_wire(batch: Batch) -> Iterator[bytes]:
    """:func:`batch_to_pb`'s messages, serialized, for the worker's StreamLogs: a run of lines
    that carries its stored encoding (:attr:`LogLine.packed`, set by the worker's store when
    it encoded the run, see :func:`encode_run`) is sent as those bytes, not encoded again.
    (Protobuf merges concatenated encodings: a LogBatch's first_seq followed by a run's
    columns is a LogBatch of those lines.)"""
    lines = batch.lines
    n = len(lines)
    if not n or lines[-1].seq - lines[0].seq != n - 1:
        pieces = None
    else:
        pieces = _pieces(lines)
    if pieces is None:
        yield from batch_to_bytes(batch)
        return
    messages: list[list[_Piece]] = [[]]
    size = 0
    for piece in pieces:
        cost = len(piece[2]) if piece[2] is not None else piece[3]
        if messages[-1] and size + cost > MESSAGE_BUDGET:
            messages.append([])
            size = 0
        messages[-1].append(piece)
        size += cost
    last = len(messages) - 1
    for k, parts in enumerate(messages):
        base = parts[0][0]
        head = pb.LogBatch(first_seq=lines[base].seq)
        if k == 0:
            _add_notices(head, batch)
        if k == last and batch.end is not None:
            head.end.CopyFrom(end_to_pb(batch.end))
        out = [head.SerializeToString()]
        for index, count, data, _ in parts:
            if data is None:
                columns = pb.LogBatch()
                _add_columns(columns, lines[index : index + count], index - base)
                data = columns.SerializeToString()
            out.append(data)
        yield b"".join(out)


_Piece = tuple[int, int, bytes | None, int]
"""Lines ``index .. index + count - 1`` of a batch: their encoding (None: to be made), and
the size the encoding is estimated at when it is still to be made."""


def _pieces(lines: list[LogLine]) -> list[_Piece] | None:
    """Consecutive ``lines`` as runs with an encoding of their own and runs without (cut
    to stay within a message's budget); None when no run has one."""
    pieces: list[_Piece] = []
    n = len(lines)
    i = start = 0
    while i < n:
        packed = lines[i].packed
        if packed is not None and i + packed[0] <= n and len(packed[1]) <= MESSAGE_BUDGET:
            if start < i:
                pieces.extend(_unpacked(lines, start, i))
            pieces.append((i, packed[0], packed[1], 0))
            i = start = i + packed[0]
        else:
            i += 1
    if not pieces:
        return None
    if start < n:
        pieces.extend(_unpacked(lines, start, n))
    return pieces


def _unpacked(lines: list[LogLine], start: int, end: int) -> Iterator[_Piece]:
    index = start
    for part, size in _split(lines[start:end]):
        yield index, len(part), None, size
        index += len(part)


def _add_notices(msg: pb.LogBatch, batch: Batch) -> None:
    if batch.state is not None:
        msg.state = batch.state.value
    if batch.gap is not None:
        g = batch.gap
        msg.gap.CopyFrom(pb.Gap(from_seq=g.from_seq, to_seq=g.to_seq, reason=g.reason))
    if batch.dropped is not None:
        d = batch.dropped
        msg.dropped.CopyFrom(pb.Dropped(count=d.count, from_seq=d.from_seq, to_seq=d.to_seq))


def encode_stored(lines: list[LogLine]) -> bytes:
    """Consecutive lines as a StoredLines message (the store's chunk format; read back by
    :func:`decode_stored`). The encodings of consecutive runs, concatenated, decode as one."""
    return encode_run(lines)[0]


def encode_run(lines: list[LogLine]) -> tuple[bytes, bool]:
    """:func:`encode_stored`'s bytes, and whether no line has a flag (truncated or
    unterminated): then the bytes are also the lines' columns of a LogBatch."""
    msg = pb.StoredLines()
    _extend_columns(msg, lines)
    plain = True
    for line in lines:
        if line.truncated:
            msg.truncated[line.seq] = line.truncated
            plain = False
        if line.unterminated:
            msg.unterminated.append(line.seq)
            plain = False
    return msg.SerializeToString(), plain


def decode_stored(data: bytes, first_seq: int, lo: int = 0, hi: int | None = None) -> list[LogLine]:
    """Lines ``lo .. hi - 1`` of a chunk in :func:`encode_stored`'s format whose first line is
    ``first_seq`` (only those become LogLine objects)."""
    timestamps, streams, contents, truncated, unterminated = _stored_columns(data)
    n = len(contents)
    hi = n if hi is None else min(hi, n)
    stream_of = _STREAM_FROM_PB
    seq = first_seq + lo
    lines = [
        LogLine(seq + i, ts, stream_of[stream], content)
        for i, (ts, stream, content) in enumerate(
            zip(timestamps[lo:hi], streams[lo:hi], contents[lo:hi], strict=True)
        )
    ]
    first, end = first_seq + lo, first_seq + hi
    for line_seq, cut in truncated.items():
        if first <= line_seq < end:
            lines[line_seq - first].truncated = cut
    for line_seq in unterminated:
        if first <= line_seq < end:
            lines[line_seq - first].unterminated = True
    return lines


def stored_contents(data: bytes) -> Sequence[str]:
    """The contents of a chunk in :func:`encode_stored`'s format (either format)."""
    return _stored_columns(data)[2]


def _stored_columns(
    data: bytes,
) -> tuple[Sequence[str], Sequence[pb.Stream], Sequence[str], Mapping[int, int], Sequence[int]]:
    """A chunk's timestamps, streams, contents, truncated and unterminated, in whichever
    format it was written."""
    msg = pb.StoredLines()
    msg.ParseFromString(data)
    if msg.contents or not msg.v1_contents:
        return msg.timestamps, msg.streams, msg.contents, msg.truncated, msg.unterminated
    # a chunk in the first format
    return (
        msg.v1_timestamps,
        msg.v1_streams,
        msg.v1_contents,
        msg.v1_truncated,
        msg.v1_unterminated,
    )


def end_to_pb(end: TaskEnd) -> pb.TaskEnd:
    """The model's TaskEnd as protobuf's."""
    msg = pb.TaskEnd(status=_STATUS_TO_PB[end.status], error=end.error)
    if end.exit_code is not None:
        msg.exit_code = end.exit_code
    return msg


def batch_from_pb(msg: pb.LogBatch) -> Batch:
    """A LogBatch message as the model's Batch."""
    stream_of = _STREAM_FROM_PB
    if msg.seqs:
        if len(msg.seqs) != len(msg.contents) or any(
            a >= b for a, b in zip(msg.seqs, msg.seqs[1:], strict=False)
        ):
            raise ValueError("a LogBatch's seqs must be one per line, ascending")
        lines = [
            LogLine(seq, ts, stream_of[stream], content)
            for seq, ts, stream, content in zip(
                list(msg.seqs),
                list(msg.timestamps),
                list(msg.streams),
                list(msg.contents),
                strict=True,
            )
        ]
    else:
        seq = msg.first_seq
        lines = [
            LogLine(seq + i, ts, stream_of[stream], content)
            for i, (ts, stream, content) in enumerate(
                zip(list(msg.timestamps), list(msg.streams), list(msg.contents), strict=True)
            )
        ]
    for i, cut in msg.truncated.items():
        lines[i].truncated = cut
    for i in msg.unterminated:
        lines[i].unterminated = True
    batch = Batch(lines=lines)
    if not lines and msg.first_seq:
        batch.newest = msg.first_seq - 1
    if msg.state:
        try:
            batch.state = ConnectionState(msg.state)
        except ValueError:
            batch.state = None
    if msg.HasField("gap"):
        batch.gap = Gap(msg.gap.from_seq, msg.gap.to_seq, msg.gap.reason)
    if msg.HasField("dropped"):
        batch.dropped = Dropped(msg.dropped.count, msg.dropped.from_seq, msg.dropped.to_seq)
    if msg.HasField("end"):
        batch.end = end_from_pb(msg.end)
    return batch


def filter_to_pb(line_filter: LineFilter) -> pb.LineFilter:
    """The model's LineFilter as protobuf's."""
    return pb.LineFilter(
        pattern=line_filter.pattern,
        regex=line_filter.regex,
        ignore_case=line_filter.ignore_case,
        stream=_STREAM_TO_PB[line_filter.stream] if line_filter.stream else pb.STREAM_UNSPECIFIED,
        min_level=line_filter.min_level.name.lower() if line_filter.min_level else "",
    )


def filter_from_pb(msg: pb.LineFilter) -> LineFilter:
    """A protobuf LineFilter as the model's (InvalidRequest for one it cannot be)."""
    stream = _STREAM_FROM_PB.get(msg.stream) if msg.stream else None
    if msg.stream and stream is None:
        raise InvalidRequest(f"unknown stream {msg.stream}")
    return LineFilter.parse(
        msg.pattern,
        regex=msg.regex,
        ignore_case=msg.ignore_case,
        stream=stream.value if stream else "",
        level=msg.min_level,
    )


def end_from_pb(msg: pb.TaskEnd) -> TaskEnd:
    """A protobuf TaskEnd as the model's."""
    code = msg.exit_code if msg.HasField("exit_code") else None
    return TaskEnd(status_from_pb(msg.status), code, msg.error)


# ---------------------------------------------------------------- tasks


def spec_to_pb(spec: TaskSpec) -> pb.TaskSpec:
    """The model's TaskSpec as protobuf's (a limit that is None stays absent)."""
    return pb.TaskSpec(
        task_id=spec.task_id,
        image=spec.image,
        command=list(spec.command),
        env=dict(spec.env),
        tty=spec.tty,
        labels=dict(spec.labels),
        memory=spec.memory,
        cpus=spec.cpus,
        pids_limit=spec.pids_limit,
        timeout=spec.timeout,
    )


def spec_from_pb(msg: pb.TaskSpec) -> TaskSpec:
    """A protobuf TaskSpec as the model's."""
    return TaskSpec(
        task_id=msg.task_id,
        image=msg.image,
        command=tuple(msg.command),
        env=tuple(sorted(msg.env.items())),
        tty=msg.tty,
        labels=tuple(sorted(msg.labels.items())),
        memory=msg.memory if msg.HasField("memory") else None,
        cpus=msg.cpus if msg.HasField("cpus") else None,
        pids_limit=msg.pids_limit if msg.HasField("pids_limit") else None,
        timeout=msg.timeout if msg.HasField("timeout") else None,
    )


def info_to_pb(info: TaskInfo) -> pb.TaskInfo:
    """The model's TaskInfo as protobuf's."""
    msg = pb.TaskInfo(
        task_id=info.task_id,
        status=_STATUS_TO_PB[info.status],
        error=info.error,
        worker=info.worker,
        image=info.image,
        command=list(info.command),
        tty=info.tty,
        created_at=info.created_at,
        finished_at=info.finished_at,
        lines=info.lines,
        container_id=info.container_id,
        labels=info.labels,
        started_at=info.started_at,
        store_error=info.store_error,
        expired=info.expired,
        memory=info.memory,
        cpus=info.cpus,
        pids_limit=info.pids_limit,
        timeout=info.timeout,
    )
    if info.exit_code is not None:
        msg.exit_code = info.exit_code
    return msg


def info_from_pb(msg: pb.TaskInfo) -> TaskInfo:
    """A protobuf TaskInfo as the model's."""
    return TaskInfo(
        task_id=msg.task_id,
        status=status_from_pb(msg.status),
        image=msg.image,
        command=tuple(msg.command),
        tty=msg.tty,
        exit_code=msg.exit_code if msg.HasField("exit_code") else None,
        error=msg.error,
        worker=msg.worker,
        created_at=msg.created_at,
        finished_at=msg.finished_at,
        lines=msg.lines,
        container_id=msg.container_id,
        labels=dict(msg.labels),
        started_at=msg.started_at,
        store_error=msg.store_error,
        expired=msg.expired,
        memory=msg.memory,
        cpus=msg.cpus,
        pids_limit=msg.pids_limit,
        timeout=msg.timeout,
    )


# ---------------------------------------------------------------- workers


def worker_to_pb(worker: WorkerSummary) -> pb.WorkerInfo:
    """The model's WorkerSummary as protobuf's WorkerInfo."""
    return pb.WorkerInfo(
        name=worker.name,
        address=worker.address,
        alive=worker.alive,
        running_tasks=worker.running_tasks,
        last_seen=worker.last_seen,
        clock_skew=worker.clock_skew,
    )


def worker_from_pb(msg: pb.WorkerInfo) -> WorkerSummary:
    """A protobuf WorkerInfo as the model's WorkerSummary."""
    skew = msg.clock_skew if msg.HasField("clock_skew") else None
    return WorkerSummary(
        msg.name, msg.address, msg.alive, msg.running_tasks, msg.last_seen, clock_skew=skew
    )


def query_from_pb(request: pb.SearchRequest) -> Query:
    """A search request as a :class:`shared.search.Query` (InvalidRequest when it is not one)."""
    validate_task_id(request.task_id)
    return Query(
        pattern=request.pattern,
        regex=request.regex,
        ignore_case=request.ignore_case,
        context=request.context,
        limit=request.limit or DEFAULT_LIMIT,
        reverse=request.newest_first,
    )
