"""The Governance view in the Airflow UI: a FastAPI app at /governance, behind Airflow's login, and a
"Governance" entry in the navigation that shows it inside the UI (an iframe that shares the login).

The app itself is governance/airflow/ui_app.py; this file only registers it. Every Airflow process
loads plugins, but only the API server mounts apps: the app is built on first use, so that the
scheduler and each task do not import the API's security machinery.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin


class GovernancePlugin(AirflowPlugin):
    name = "governance"
    # A relative href (no leading slash): the UI resolves it against its base URL.
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "Governance", "href": "governance/", "destination": "nav", "url_route": "governance"},
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:
        from governance.airflow.ui_app import create_app

        return [{"app": create_app(), "url_prefix": "/governance", "name": "Governance"}]
