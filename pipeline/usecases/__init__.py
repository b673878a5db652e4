"""Use cases: one function per state of the state machine, over ports (no Lambda, no boto3)."""
