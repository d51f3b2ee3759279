"""The Governance view in the Airflow UI: a FastAPI app at /governance, behind Airflow's login, and a
"Governance" entry in the navigation that shows it inside the UI (an iframe that shares the login).

The app itself is governance/airflow/ui_app.py; this file only registers it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from governance.airflow.ui_app import create_app


class GovernancePlugin(AirflowPlugin):
    name = "governance"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_app(), "url_prefix": "/governance", "name": "Governance"},
    ]
    # A relative href (no leading slash): the UI resolves it against its base URL.
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "Governance", "href": "governance/", "destination": "nav", "url_route": "governance"},
    ]
