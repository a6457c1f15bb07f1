"""``uvicorn --workers N``, but with TCP_NODELAY on every connection: run as a script by the async part.

uvicorn's multi-worker mode binds the listening socket itself, with ``proto`` 0; the accepted sockets
inherit it, and asyncio's event loop sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP.
Nagle's algorithm then holds each response's body until the client acknowledges its headers, which
Linux delays by about 40 ms: every keep-alive request after a connection's first takes 40 ms more
(uvicorn issue #3149, open as of uvicorn 0.54). uvloop sets TCP_NODELAY itself, and a single worker
is not affected, nor is gunicorn; with asyncio's loop (uvicorn without uvloop) it measured 44 ms a
request for a view that takes 3. This script binds the socket with IPPROTO_TCP and hands it to
uvicorn's own multi-worker supervisor, as ``uvicorn.run`` would; everything else is uvicorn's.
"""

from __future__ import annotations

import argparse
import inspect
import socket
import sys

from uvicorn import Config, Server
from uvicorn.supervisors import Multiprocess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app")
    parser.add_argument("--app-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    args = parser.parse_args()

    sys.path.insert(0, args.app_dir)  # what uvicorn's --app-dir does; the workers inherit sys.path
    config = Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        http=args.http,
        log_level="warning",
        access_log=False,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.set_inheritable(True)
    if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn before 0.36
        Multiprocess(config, target=Server(config).run, sockets=[sock]).run()  # type: ignore[call-arg]
    else:
        Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main()
