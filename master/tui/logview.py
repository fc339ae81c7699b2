"""LogView: a bounded, filterable, wrappable log pane that renders only what is on screen.

Appending a batch costs a list append per line; a line is sanitized and styled only when it
scrolls into view (then cached). This keeps the monitor cheap at thousands of lines a second,
close to Textual's own ``Log`` widget, while showing colours, levels, stderr marks and
notices. A JSON line may be shown indented (``set_pretty``): it then takes several rows.
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
from shared.levels import Level, detect_level, pretty_json
from shared.model import Dropped, Gap, LogLine, Stream


class Entry:
    """A line or a notice in the pane."""

    __slots__ = ("_level", "_plain", "_pretty", "_read", "line", "notice", "serial")

    def __init__(
        self, serial: int, line: LogLine | None, notice: Gap | Dropped | str | None
    ) -> None:
        self.serial = serial
        self.line = line
        self.notice = notice
        self._plain: str | None = None
        self._level: Level | None = None
        self._pretty: str | None = None
        self._read = 0  # which of level (1) and pretty (2) were computed

    @property
    def plain(self) -> str:
        """The text a reader sees (no colour codes), for filtering."""
        if self._plain is None:
            self._plain = plain_text(self.line.content) if self.line is not None else ""
        return self._plain

    @property
    def level(self) -> Level | None:
        """The level the line says it has (None: none, or a notice)."""
        if not self._read & 1 and self.line is not None:
            self._level = detect_level(self.line.content)
            self._read |= 1
        return self._level

    @property
    def pretty(self) -> str | None:
        """The line indented, when it is JSON (None: it is not, or a notice)."""
        if not self._read & 2 and self.line is not None:
            self._pretty = pretty_json(self.line.content)
            self._read |= 2
        return self._pretty


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
        self.pretty = False  # JSON lines indented, over several rows
        self.stream_filter: Stream | None = None  # None: both
        self.pattern: re.Pattern[str] | None = None
        self._entries: list[Entry] = []
        self._shown: list[Entry] = []
        self._rows: list[int] = [0]  # several rows: first row of each shown entry, the total
        self._serial = 0
        self._width = 0
        self._cache: LRUCache[int, list[Strip]] = LRUCache(2048)

    # ------------------------------------------------------------------ content

    @property
    def shown(self) -> list[Entry]:
        """The entries that pass the filters, oldest first."""
        return self._shown

    def add_lines(self, lines: Iterable[LogLine]) -> None:
        """Append a batch of lines (one refresh for the whole batch)."""
        self._add(Entry(0, line, None) for line in lines)

    def clear(self) -> None:
        """Forget every entry (a new stream replaces the view's content)."""
        self._entries.clear()
        self._shown.clear()
        self._cache.clear()
        self._width = 0
        self._relayout()

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
        cut = 0  # shown entries that go with the oldest
        if excess > 0:
            oldest = self._entries[excess].serial
            del self._entries[:excess]
            while cut < len(self._shown) and self._shown[cut].serial < oldest:
                cut += 1
            if cut > len(self._shown) - len(shown):  # new ones too: more than the pane holds
                del self._shown[:cut]
                self._relayout()
                return
            # the rest stay as they are: the cache is by entry, and the width only grows (as
            # in Textual's Log); a full relayout per batch once the pane is full measured
            # every kept line for each batch (benchmark 8)
            del self._shown[:cut]
        for entry in shown:
            self._width = max(self._width, self._approx_width(entry))
        if self.multirow:
            rows = self._rows
            if cut:
                base = rows[cut]
                rows = self._rows = [r - base for r in rows[cut:]]
            width = self._wrap_width()
            for entry in shown:
                rows.append(rows[-1] + self._row_count(entry, width))
        self._update_size()
        if cut:
            self.refresh()  # every row on screen moved

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

    def set_pretty(self, on: bool) -> None:
        """Show JSON lines indented, over several rows (their text stays the line's)."""
        self.pretty = on
        self._cache.clear()
        self._relayout()

    @property
    def multirow(self) -> bool:
        """Whether a line may take more than one row (wrapped, or indented JSON)."""
        return self.wrap or self.pretty

    def _refilter(self) -> None:
        self._shown = [e for e in self._entries if self._matches(e)]
        self._cache.clear()
        self._relayout()

    def _relayout(self) -> None:
        self._width = max((self._approx_width(e) for e in self._shown), default=0)
        self._rows = [0]
        if self.multirow:
            width = self._wrap_width()
            for entry in self._shown:
                self._rows.append(self._rows[-1] + self._row_count(entry, width))
        self._update_size()
        self.refresh()

    def on_resize(self) -> None:
        # the pane changes height when the completion banner or the filter box appears: a
        # follower keeps the newest line on screen (it would end up under the banner otherwise)
        if self.multirow:
            self._relayout()
        elif self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _update_size(self) -> None:
        if self.multirow:
            width = self._wrap_width() if self.wrap else self._width
            self.virtual_size = Size(width, self._rows[-1])
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
        if not self.wrap:  # indented JSON only: counted without drawing the line
            pretty = self._pretty_of(entry)
            return 1 if pretty is None else pretty.count("\n") + 1
        return sum(max(1, ceil(s.cell_length / width)) for s in self._strips(entry))

    def _pretty_of(self, entry: Entry) -> str | None:
        return entry.pretty if self.pretty and entry.line is not None else None

    # ------------------------------------------------------------------ rendering

    def _text(self, entry: Entry) -> Text:
        if entry.line is None:
            assert entry.notice is not None
            return render_notice(entry.notice)
        text = render_line(
            entry.line,
            timestamps=self.timestamps,
            level=entry.level,
            pretty=self._pretty_of(entry),
        )
        if self.pattern is not None:
            text.highlight_regex(self.pattern, style="reverse")
        return text

    def _strips(self, entry: Entry) -> list[Strip]:
        """The entry's rows before wrapping: one, or one per row of indented JSON."""
        strips = self._cache.get(entry.serial)
        if strips is None:
            strips = []
            for text in self._text(entry).split("\n"):
                text.style = self.rich_style  # the base: the line's own colours drawn on top
                segments = [s for s in text.render(self.app.console) if s.text != "\n"]
                strips.append(Strip(segments, text.cell_len))
            self._cache[entry.serial] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        """Textual's line API: the strip for screen row ``y``."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        row = scroll_y + y
        style = self.rich_style
        if self.multirow:
            if row >= self._rows[-1]:
                return Strip.blank(width, style)
            index = bisect_right(self._rows, row) - 1
            part = row - self._rows[index]
            wrap = self._wrap_width() if self.wrap else 0
            for strip in self._strips(self._shown[index]):
                rows = max(1, ceil(strip.cell_length / wrap)) if wrap else 1
                if part < rows:
                    break
                part -= rows
            if wrap:
                strip = strip.crop(part * wrap, (part + 1) * wrap)
                return strip.extend_cell_length(width, style).crop(0, width)
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        if row >= len(self._shown):
            return Strip.blank(width, style)
        strip = self._strips(self._shown[row])[0]
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def visible_text(self) -> list[str]:
        """The text of the rows on screen (for tests and screen readers)."""
        height = self.size.height
        return ["".join(seg.text for seg in self.render_line(y)).rstrip() for y in range(height)]
