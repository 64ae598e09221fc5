"""The reward tests share their cases through ``crpo_cases`` (next to this file), importable
whatever pytest's import mode."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
