"""clinr1: Clinical-R1's CRPO (accuracy + faithfulness + comprehensiveness rewards) on one GPU."""

__version__ = "0.1.0"
