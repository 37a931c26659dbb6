"""One typed wrapper around QSettings, stored as an ini file in the data folder.

Tests pass a temporary file; nothing reads the platform's registry or ~/.config behind their back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings

T = TypeVar("T")



class Settings:
    """Typed get/set over an ini-format QSettings file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get(self, key: str, default: T) -> T:
        """The stored value converted to the type of `default` (which is returned if absent
        or unconvertible)."""
        raw = self._qs.value(key, None)
        if raw is None:
            return default
        try:
            if isinstance(default, bool):
                return (raw if isinstance(raw, bool)
                        else str(raw).lower() in ("1", "true", "yes", "on"))  # type: ignore
            if isinstance(default, (int, float, str)):
                return type(default)(raw)  # type: ignore[return-value]
            if isinstance(default, (bytes, QByteArray)):
                return QByteArray(raw) if isinstance(default, QByteArray) else bytes(raw)
            if isinstance(default, list):
                return list(raw) if isinstance(raw, (list, tuple)) else [raw]  # type: ignore
        except (TypeError, ValueError):
            return default
        return raw

    def set(self, key: str, value: Any) -> None:
        self._qs.setValue(key, value)

    def remove(self, key: str) -> None:
        self._qs.remove(key)

    def contains(self, key: str) -> bool:
        return self._qs.contains(key)

    def sync(self) -> None:
        self._qs.sync()
