"""``master monitor --plain A B``: the merged lines of several tasks on stdout, each prefixed
with its task (``task-a | ...``, the tag in the task's colour on a terminal, plain when piped);
notices and each task's end on stderr, naming the task, worded as for one task
(:mod:`master.plain`, :mod:`master.presentation`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from master.plain import PREFIX, format_line, notices
from master.presentation import end_summary
from shared.merge import PALETTE_SIZE, TaskBatch, colour_index
from shared.model import ConnectionState
from shared.terminal import escape_controls

TAG_SGR = ("36", "35", "33", "34", "32", "96", "95", "94")
"""The terminal colour (SGR foreground) of each of the :data:`~shared.merge.PALETTE_SIZE` tag
colours: cyan, magenta, yellow, blue, green and their bright kin; never red, which marks
failures."""
assert len(TAG_SGR) == PALETTE_SIZE


def task_tag(task_id: str, width: int = 0, *, colour: bool = False) -> str:
    """The prefix of a task's lines: its id padded to ``width``, then `` | ``; in its colour
    (:func:`~shared.merge.colour_index`) with ``colour``."""
    text = f"{task_id:<{width}} |"
    if colour:
        text = f"\x1b[{TAG_SGR[colour_index(task_id)]}m{text}\x1b[0m"
    return text + " "


class TaggedPrinter:
    """Prints a merged stream: takes each :class:`~shared.merge.TaskBatch` in order (an
    ``emit`` of :func:`~shared.merge_driver.merge_sources`), one write per batch."""

    def __init__(
        self,
        task_ids: Sequence[str],
        out: TextIO,
        err: TextIO,
        *,
        timestamps: bool = False,
        clean: bool = False,
        colour: bool = False,
    ) -> None:
        """``clean``: show the control characters of lines (a terminal, without ``--raw``);
        ``colour``: colour the tags (a terminal)."""
        self.out = out
        self.err = err
        self.timestamps = timestamps
        self.clean = clean
        width = max(len(t) for t in task_ids)
        self.tags = {t: task_tag(t, width, colour=colour) for t in task_ids}
        self.troubled = dict.fromkeys(task_ids, False)

    async def take(self, item: TaskBatch) -> None:
        """Print one batch: its notices, its lines, its task's end."""
        task_id, batch = item.task_id, item.batch
        for text in notices(batch, troubled=self.troubled[task_id]):
            self._say(f"{task_id}: {text[len(PREFIX) :]}")
        if batch.state is not None:
            self.troubled[task_id] = batch.state is not ConnectionState.STREAMING
        if batch.lines:
            tag, ts, clean = self.tags[task_id], self.timestamps, self.clean
            self.out.write(
                "".join(
                    [tag + format_line(ln, timestamps=ts, clean=clean) + "\n" for ln in batch.lines]
                )
            )
            self.out.flush()
        if batch.end is not None:
            self._say(f"{task_id}: {end_summary(batch.end)}")

    def _say(self, text: str) -> None:
        self.err.write(PREFIX + escape_controls(text) + "\n")  # reasons and errors are data too
        self.err.flush()
