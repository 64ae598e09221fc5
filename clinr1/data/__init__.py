"""Datasets in one item schema: adapters per source, one loader, a bundled demo set.

>>> from clinr1.data import DataSource, load_items
>>> result = load_items(DataSource(name="demo", limit=2))  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP

Importing this package is cheap (stdlib + pydantic); ``datasets`` loads on the first
``load_items`` call.
"""

from clinr1.data.adapters import ADAPTERS, Adapter, BadRow, Context, DataError, get_adapter
from clinr1.data.loading import LoadResult, demo_items, load_items, parse_split
from clinr1.data.source import DataSource

__all__ = [
    "ADAPTERS",
    "Adapter",
    "BadRow",
    "Context",
    "DataError",
    "DataSource",
    "LoadResult",
    "demo_items",
    "get_adapter",
    "load_items",
    "parse_split",
]
