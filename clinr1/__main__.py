"""``python -m clinr1`` (what ``accelerate launch -m clinr1`` runs)."""

from clinr1.cli import app

app()
