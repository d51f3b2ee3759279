"""The governance library: plain Python that turns the privacy policy into checked controls.

Nothing here imports Airflow at module level, so every module can be tested without a
scheduler; the DAGs in dags/ only wire these functions into tasks.
"""
