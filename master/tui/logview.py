"""LogView: a bounded, filterable, wrappable log pane that renders only what is on screen.

Appending a batch costs a list append per line; a line is sanitized and styled only when it
scrolls into view (then cached). This keeps the monitor cheap at thousands of lines a second,
close to Textual's own ``Log`` widget, while showing colours, stderr marks and notices.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from math import ceil

from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from master.tui.render import render_line, render_notice
from master.tui.sanitize import plain_text
from shared.model import Dropped, Gap, LogLine, Stream


class Entry:
    """A line or a notice in the pane."""

    __slots__ = ("_plain", "line", "notice", "serial")

    def __init__(
        self, serial: int, line: LogLine | None, notice: Gap | Dropped | str | None
    ) -> None:
        self.serial = serial
        self.line = line
        self.notice = notice
        self._plain: str | None = None

    @property
    def plain(self) -> str:
        """The text a reader sees (no colour codes), for filtering."""
        if self._plain is None:
            self._plain = plain_text(self.line.content) if self.line is not None else ""
        return self._plain


class LogView(ScrollView, can_focus=True):
    """The monitor's log pane."""

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $text;
        overflow: scroll;
    }
    """

    def __init__(self, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.follow = True
        self.timestamps = False
        self.wrap = False
        self.stream_filter: Stream | None = None  # None: both
        self.pattern: re.Pattern[str] | None = None
        self._entries: list[Entry] = []
        self._shown: list[Entry] = []
        self._rows: list[int] = [0]  # wrap: first row of each shown entry, then the total
        self._serial = 0
        self._width = 0
        self._cache: LRUCache[int, Strip] = LRUCache(2048)

    # ------------------------------------------------------------------ content

    @property
    def shown(self) -> list[Entry]:
        """The entries that pass the filters, oldest first."""
        return self._shown

    def add_lines(self, lines: Iterable[LogLine]) -> None:
        """Append a batch of lines (one refresh for the whole batch)."""
        self._add(Entry(0, line, None) for line in lines)

    def add_notice(self, notice: Gap | Dropped | str) -> None:
        """Append a notice (dropped lines, a gap, a connection change)."""
        self._add([Entry(0, None, notice)])

    def _add(self, entries: Iterable[Entry]) -> None:
        new = []
        for entry in entries:
            self._serial += 1
            entry.serial = self._serial
            new.append(entry)
        self._entries.extend(new)
        shown = [e for e in new if self._matches(e)]
        self._shown.extend(shown)
        excess = len(self._entries) - self.max_lines
        if excess > 0:
            oldest = self._entries[excess].serial
            del self._entries[:excess]
            cut = 0
            while cut < len(self._shown) and self._shown[cut].serial < oldest:
                cut += 1
            if cut:
                del self._shown[:cut]
                self._cache.clear()
                self._relayout()
                return
        for entry in shown:
            self._width = max(self._width, self._approx_width(entry))
        if self.wrap:
            width = self._wrap_width()
            for entry in shown:
                self._rows.append(self._rows[-1] + self._row_count(entry, width))
        self._update_size()

    def _matches(self, entry: Entry) -> bool:
        line = entry.line
        if line is None:
            return True
        if self.stream_filter is not None and line.stream is not self.stream_filter:
            return False
        return self.pattern is None or self.pattern.search(entry.plain) is not None

    # ------------------------------------------------------------------ settings

    def set_filter(self, pattern: re.Pattern[str] | None) -> None:
        """Show only lines whose text matches ``pattern`` (None: all), matches highlighted."""
        self.pattern = pattern
        self._refilter()

    def set_stream(self, stream: Stream | None) -> None:
        """Show only stdout, only stderr, or both (None)."""
        self.stream_filter = stream
        self._refilter()

    def set_timestamps(self, on: bool) -> None:
        """Show Docker's timestamp before each line."""
        self.timestamps = on
        self._cache.clear()
        self._relayout()

    def set_wrap(self, on: bool) -> None:
        """Wrap long lines at the pane's width instead of scrolling sideways."""
        self.wrap = on
        self._relayout()

    def _refilter(self) -> None:
        self._shown = [e for e in self._entries if self._matches(e)]
        self._cache.clear()
        self._relayout()

    def _relayout(self) -> None:
        self._width = max((self._approx_width(e) for e in self._shown), default=0)
        self._rows = [0]
        if self.wrap:
            width = self._wrap_width()
            for entry in self._shown:
                self._rows.append(self._rows[-1] + self._row_count(entry, width))
        self._update_size()
        self.refresh()

    def on_resize(self) -> None:
        # the pane changes height when the completion banner or the filter box appears: a
        # follower keeps the newest line on screen (it would end up under the banner otherwise)
        if self.wrap:
            self._relayout()
        elif self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _update_size(self) -> None:
        if self.wrap:
            self.virtual_size = Size(self._wrap_width(), self._rows[-1])
        else:
            self.virtual_size = Size(self._width, len(self._shown))
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.refresh()

    def _wrap_width(self) -> int:
        return max(10, self.scrollable_content_region.width or self.size.width or 80)

    def _approx_width(self, entry: Entry) -> int:
        if entry.line is None:
            return 80
        extra = 32 if self.timestamps else 2
        return len(entry.line.content) + extra

    def _row_count(self, entry: Entry, width: int) -> int:
        return max(1, ceil(self._strip(entry).cell_length / width))

    # ------------------------------------------------------------------ rendering

    def _text(self, entry: Entry) -> Text:
        if entry.line is None:
            assert entry.notice is not None
            return render_notice(entry.notice)
        text = render_line(entry.line, timestamps=self.timestamps)
        if self.pattern is not None:
            text.highlight_regex(self.pattern, style="reverse")
        return text

    def _strip(self, entry: Entry) -> Strip:
        strip = self._cache.get(entry.serial)
        if strip is None:
            text = self._text(entry)
            text.style = self.rich_style  # the base: the line's own colours are drawn on top
            segments = [s for s in text.render(self.app.console) if s.text != "\n"]
            strip = Strip(segments, text.cell_len)
            self._cache[entry.serial] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        """Textual's line API: the strip for screen row ``y``."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        row = scroll_y + y
        style = self.rich_style
        if self.wrap:
            if row >= self._rows[-1]:
                return Strip.blank(width, style)
            index = bisect_right(self._rows, row) - 1
            part = row - self._rows[index]
            wrap = self._wrap_width()
            strip = self._strip(self._shown[index]).crop(part * wrap, (part + 1) * wrap)
            return strip.extend_cell_length(width, style).crop(0, width)
        if row >= len(self._shown):
            return Strip.blank(width, style)
        strip = self._strip(self._shown[row])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def visible_text(self) -> list[str]:
        """The text of the rows on screen (for tests and screen readers)."""
        height = self.size.height
        return ["".join(seg.text for seg in self.render_line(y)).rstrip() for y in range(height)]
