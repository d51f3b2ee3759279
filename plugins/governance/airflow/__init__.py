"""The Airflow glue, in one place: task bodies, run cutoffs and parameters, connections
through the providers' hooks, DAG defaults, Assets and failure handling.

Everything else in `governance` is plain Python that imports nothing from Airflow, and is
tested without a scheduler.
"""
