"""The defaults of ``coursepipe``'s options, in one place, so ``serve``, ``cookies`` and ``up`` agree
on where keys and exports live and which ports the local fronts use.

``DEFAULT_AWS_PORT`` stays with the target resolver (``pipeline.local.target``) that also honours
``COURSEPIPE_ENDPOINT_URL``; this module imports nothing, so the access commands stay free of boto3.
"""

from __future__ import annotations

DEFAULT_OUT = "coursepipe-out"
"""Where ``demo`` and ``process`` export, and so what ``serve`` serves (its ``site/`` folder)."""
DEFAULT_KEY_DIR = "coursepipe-keys"
"""The signing key pair ``keys generate`` writes, ``cookies`` signs with and ``up``/``serve`` trust."""
DEFAULT_HTTP_PORT = 8080
"""``coursepipe up``'s HTTP front (catalog API, sign-in, the site behind the local edge)."""
DEFAULT_EDGE_PORT = 8081
"""``coursepipe serve``: next to ``up``'s 8080, so both can run at once."""
DEFAULT_MEDIA_DOMAIN = f"127.0.0.1:{DEFAULT_HTTP_PORT}"
"""The local stack's HTTP front (``coursepipe up --http-port``), where the local edge checks cookies."""
