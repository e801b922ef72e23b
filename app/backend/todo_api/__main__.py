"""Entry point: `python -m todo_api`. Checks the settings first: a missing one is one line on stderr, exit 2."""
from __future__ import annotations

import logging
import sys

from .config import ConfigError, load_settings


# Well inside the pod's 30 s terminationGracePeriodSeconds; the chat upstream's timeout (main.CHAT_TIMEOUT) is shorter.
GRACEFUL_SHUTDOWN_SECONDS = 20


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"todo-api: cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    logging.basicConfig(level=settings.log_level, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    from .main import create_app

    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",  # noqa: S104 - a container serves on every interface
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
