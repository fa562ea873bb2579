"""The file forecast every surface shows: computed once per head and settings, with its track record.

The CLI (``forecast``, ``explain``), the editor's hover and the anticipatory
level all read the same run through :func:`file_forecast`, so they can never
disagree and the model trains once per head (the cache key is
:func:`forecast_key`, the only one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from empathy.core.config import Settings
from empathy.core.errors import ConfigError
from empathy.core.predict.forecast import ForecastRun, cached_forecast, forecast_files
from empathy.core.predict.records import latest_record

if TYPE_CHECKING:
    from empathy.core.workspace import Workspace

__all__ = ["Forecast", "file_forecast", "forecast_key"]

#: The settings that decide which files are forecast and which commits are fixes.
_KEY_SETTINGS = ("exclude", "source_suffixes", "fix_pattern", "fix_exclude_pattern")


def forecast_key(settings: Settings) -> str:
    """What a cached forecast depends on besides the head and the horizon."""
    return "|".join(str(settings[name]) for name in _KEY_SETTINGS)


@dataclass
class Forecast:
    """A forecast run and this repository's track record for its horizon (None before ``empathy eval``)."""

    run: ForecastRun
    record: dict[str, Any] | None

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        return {**self.run.to_dict(top), "track_record": self.record}


def file_forecast(
    ws: Workspace,
    as_of: int | None = None,
    horizon_days: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Forecast:
    """Every Python source file ranked by P(bug-fix commit within the horizon), as of ``as_of`` or now.

    The current forecast comes from the store's cache (trained once per head
    and settings); an ``as_of`` replay is computed from the history up to
    that time only.
    """
    days = int(ws.settings["horizon_days"]) if horizon_days is None else int(horizon_days)
    if days <= 0:
        raise ConfigError("the horizon must be a positive number of days")
    history = ws.history()
    if as_of is not None and as_of < min((c.committed_at for c in history.commits), default=as_of):
        raise ConfigError("the forecast date is before the first commit; there is no history to learn from")
    if as_of is None:
        run = cached_forecast(
            ws.store,
            ws.repo_id,
            ws.repo,
            history,
            ws.is_python_source,
            days,
            # a forecast is as of a day: tomorrow's windows end a day later, so it is computed again
            f"{forecast_key(ws.settings)}|day={history.now // 86_400}",
            emit=ws.emit,
        )
    else:
        run = forecast_files(ws.repo, history, ws.is_python_source, as_of=as_of, horizon_days=days,
                             progress=progress or (lambda _m: None))
    return Forecast(run=run, record=latest_record(ws.store, ws.repo_id, "file", days))
