"""``manage.py oidc_provider``: the local OpenID provider for ``make run`` and the browser tests.

It is oidc-provider-mock (a real OpenID Connect provider: discovery, JWKS, authorization code
flow, signed ID tokens, end-session endpoint) with the demo identities of
``portal.demo_identities`` as its predefined users, listening where ``NEMKONTO_OIDC_ISSUER``
points. Its log-in page lists the identities; picking one logs in as that person. Nonces are
required; any client ID and secret are accepted (no registration). Users and tokens live in
memory: a restart forgets them (and ``PUT /users/<sub>`` adds one, as the browser tests do).
Never for production: anyone can be anyone here.
"""

import os
from typing import Any
from urllib.parse import urlsplit

import werkzeug.serving
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.demo_identities import demo_identities


class Command(BaseCommand):
    help = "Run the local OpenID provider (oidc-provider-mock) with the demo identities."
    requires_system_checks: list[str] = []  # a separate server: it serves none of our URLs

    def add_arguments(self, parser: CommandParser) -> None:
        issuer = urlsplit(settings.NEMKONTO_OIDC_ISSUER)
        parser.add_argument("--host", default=issuer.hostname or "127.0.0.1")
        parser.add_argument("--port", type=int, default=issuer.port or 9400)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.NEMKONTO_DEMO_DATA_ALLOWED:
            raise CommandError("The local OpenID provider is refused by these settings.")
        # Imported here: Flask and the provider are only needed by this command.
        import oidc_provider_mock

        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
        identities = demo_identities()
        app = oidc_provider_mock.app(
            require_nonce=True,
            user_claims=[
                oidc_provider_mock.User(sub=identity.sub, claims=identity.claims)
                for identity in identities
            ],
        )
        server = werkzeug.serving.make_server(options["host"], options["port"], app, threaded=True)
        self.stdout.write(
            f"OpenID provider at http://{options['host']}:{server.server_port} with "
            f"{len(identities)} demo identities",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
