"""Run the app under waitress, so that slow or half-sent requests cannot lock everyone else out.

Waitress stops accepting connections once ``connection_limit`` are open and, by default, closes an
idle one only after 120 s: 100 half-sent requests kept the server (and ``/healthz``) unreachable for
two minutes. Here a short channel timeout closes idle connections after seconds, and at the limit
the connection idle longest, among those with no request being served, is closed to make room for a
new one instead of refusing every newcomer.
"""
from __future__ import annotations

import logging
import time

from waitress.adjustments import Adjustments
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from kb.settings import SERVE_CHANNEL_TIMEOUT, SERVE_CONNECTION_LIMIT

# How often idle connections are looked for: waitress's 30 s would let one live 40 s past a 10 s timeout.
CLEANUP_INTERVAL = 2
# At the connection limit, a connection younger than this is never closed to make room: a client
# that has just connected is about to send its request.
MIN_AGE_TO_SHED = 1.0
# Under a flood of slow clients a line per closed connection would bury the log: one a minute.
SHED_LOG_INTERVAL = 60.0

log = logging.getLogger("hvkb.serve")


class SheddingServer(TcpWSGIServer):
    """A waitress TCP server that, at the connection limit, closes an idle connection to admit a new one."""

    _last_shed_log = 0.0

    def readable(self):
        # One below the limit: a slot stays free for the next newcomer, and waitress stops
        # accepting (and logs it) only when every connection is really being served.
        if self.accepting and len(self._map) >= self.adj.connection_limit - 1:
            self.shed_idle_channel(time.time())
        return super().readable()

    def shed_idle_channel(self, now: float) -> bool:
        """Close the connection idle longest that is not being served and is over a second old.

        :returns: whether one was marked for closing (waitress closes it on its next loop pass).
        """
        idle = [c for c in self.active_channels.values()
                if not c.requests and not c.will_close and not c.close_when_flushed and not c.total_outbufs_len
                and now - c.creation_time >= MIN_AGE_TO_SHED]
        if not idle:
            return False
        channel = min(idle, key=lambda c: c.last_activity)
        channel.will_close = True
        if now - self._last_shed_log >= SHED_LOG_INTERVAL:
            self._last_shed_log = now
            log.warning("connection limit (%d) reached: closing idle connections to admit new ones "
                        "(logged once a minute)", self.adj.connection_limit)
        return True


def create_server(app, host: str, port: int, threads: int, connection_limit: int = SERVE_CONNECTION_LIMIT,
                  channel_timeout: int = SERVE_CHANNEL_TIMEOUT, **options):
    """A waitress server for ``app`` on ``host:port`` built from :class:`SheddingServer` (one per address).

    Mirrors ``waitress.create_server`` for TCP addresses; ``options`` are further waitress adjustments.
    """
    adj = Adjustments(host=host, port=port, threads=threads, connection_limit=connection_limit,
                      channel_timeout=channel_timeout, cleanup_interval=min(CLEANUP_INTERVAL, channel_timeout),
                      **options)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict = {}
    servers = [SheddingServer(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo)
               for sockinfo in adj.listen]
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)


def serve(app, on_bound=None, **options) -> None:
    """Serve ``app`` until Ctrl+C; ``options`` as for :func:`create_server`.

    :param on_bound: called with the server once its socket is bound, before the first request
        (where the CLI says "serving on", so it never says so for a port it could not get).
    :raises OSError: the address cannot be bound (``errno.EADDRINUSE`` for a port in use), before ``on_bound``.
    """
    logging.basicConfig()  # as waitress.serve does: its warnings (and ours) reach the terminal
    server = create_server(app, **options)
    if on_bound is not None:
        on_bound(server)
    server.run()
