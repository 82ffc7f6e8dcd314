"""The Streamlit dashboard: ``tokenfrontier dashboard`` serves ``app.py`` on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).with_name("app.py")

__all__ = ["APP"]
