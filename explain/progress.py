"""Progress of long operations as typed stages, never as prose to be parsed.

A job (a fit, a tune, a refresh of explanations) is a fixed plan of named stages, each owning a
slice of the whole bar. The code doing the work knows the plan, so it reports a :class:`Stage`
carrying where the whole job stands; shells (the CLI's log, a page's progress bar) only show
``stage.percent`` and ``stage.label``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass(frozen=True)
class Stage:
    """One progress report: stage ``name`` is ``done`` of ``total`` steps through, and the stage
    spans ``start``..``end`` of the whole job (fractions 0–1)."""

    name: str
    done: int
    total: int
    label: str
    start: float = 0.0
    end: float = 1.0

    @property
    def fraction(self) -> float:
        """How far the whole job is (0–1)."""
        share = 0.0 if self.total <= 0 else max(0.0, min(1.0, self.done / self.total))
        return self.start + (self.end - self.start) * share

    @property
    def percent(self) -> int:
        return max(0, min(100, round(100 * self.fraction)))


Report = Callable[[Stage], None]


class Plan:
    """Named stages with their relative weights; :meth:`report` turns (stage, done, total) into a
    :class:`Stage` placed on the whole job's bar, and never lets the bar go back."""

    def __init__(self, stages: Sequence[tuple[str, str, float]], report: Report | None = None) -> None:
        """``stages``: (name, label, weight) in order; weights are relative shares of the bar."""
        total = sum(weight for _, _, weight in stages) or 1.0
        self._spans: dict[str, tuple[str, float, float]] = {}
        at = 0.0
        for name, label, weight in stages:
            self._spans[name] = (label, at / total, (at + weight) / total)
            at += weight
        self._report = report
        self._shown = 0.0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._spans)

    def report(self, name: str, done: int, total: int, label: str | None = None) -> Stage:
        """Report ``done`` of ``total`` steps of stage ``name`` (``label`` overrides its words)."""
        default, start, end = self._spans[name]
        stage = Stage(name, done, total, label or default, start, end)
        if stage.fraction < self._shown:  # a later report of an earlier step: hold the bar where it is
            stage = Stage(name, done, total, stage.label, self._shown, self._shown)
        self._shown = stage.fraction
        if self._report is not None:
            self._report(stage)
        return stage

    def step(self, name: str, label: str | None = None) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback for the steps of stage ``name`` (loops that count)."""

        def progress(done: int, total: int) -> None:
            self.report(name, done, total, label)

        return progress
