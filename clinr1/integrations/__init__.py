"""Bridges from clinr1 to other training engines (``clinr1.integrations.verl``).

Each bridge imports only the standard library and clinr1's pure modules at import time: the
engine it serves (verl, Ray, vLLM) need not be installed for the bridge to be imported or tested.
"""
