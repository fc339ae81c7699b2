"""``master search TASK_ID PATTERN``: the task's whole stored log searched on its worker,
printed like ``grep -n``: ``SEQ:CONTENT`` for a match, ``SEQ-CONTENT`` for a context line, ``--``
between groups that are not adjacent. Exit 0 when something matched, 1 when nothing did, 2 on
errors (grep's codes); a search stopped by its time budget or the match limit says so on
stderr. On a terminal, control characters in lines are shown (``^[``) unless ``--raw``."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TextIO

from master.master_client import MasterClient
from master.plain import is_terminal
from shared.protos import logcast_pb2 as pb
from shared.terminal import escape_controls


@dataclass(frozen=True, slots=True)
class SearchConfig:
    master: str
    task_id: str
    pattern: str
    regex: bool = False
    ignore_case: bool = False
    context: int = 0
    limit: int = 0  # 0: the worker's default (10,000)
    as_json: bool = False
    raw: bool = False


async def run_search(
    config: SearchConfig, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run the search; its exit code. Errors raise (the CLI maps them to exit 2)."""
    request = pb.SearchRequest(
        task_id=config.task_id,
        pattern=config.pattern,
        regex=config.regex,
        ignore_case=config.ignore_case,
        context=config.context,
        limit=config.limit,
    )
    clean = not config.raw and not config.as_json and is_terminal(out)
    last_seq = 0
    final = pb.SearchBatch()
    async with MasterClient(config.master) as client:
        async for batch in client.search(request):
            for seq, content, match in zip(batch.seqs, batch.contents, batch.matches, strict=True):
                if config.as_json:
                    out.write(json.dumps({"seq": seq, "content": content, "match": match}) + "\n")
                    continue
                if config.context and last_seq and seq > last_seq + 1:
                    out.write("--\n")
                text = escape_controls(content) if clean else content
                out.write(f"{seq}{':' if match else '-'}{text}\n")
                last_seq = seq
            final = batch
    out.flush()
    if final.stopped:
        why = {"capped": "at the match limit", "time budget": "at its time budget"}
        err.write(
            f"logcast: search stopped {why.get(final.stopped, final.stopped)} after "
            f"{final.scanned} lines (seq {final.lowest}-{final.highest}), "
            f"{final.match_count} match(es)\n"
        )
        if not final.match_count:
            return 2  # nothing found, but not everything was searched
    return 0 if final.match_count else 1
