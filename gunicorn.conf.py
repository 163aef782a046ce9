"""gunicorn settings of the production web process (Procfile's `web:`), read from the environment.

Why these defaults (benchmarks/webhook_throughput.py measures them): the endpoint is short CPU
work plus a durable SQLite commit shared by the requests waiting at the same time (group commit);
gthread keeps keep-alive connections open instead of reconnecting per request.
Environment: HOST, PORT, WEB_CONCURRENCY (processes), WEB_THREADS (threads per process),
WEB_WORKER_CLASS (gthread), GUNICORN_LOG_LEVEL.
"""

import os
import tempfile

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '3000')}"
# One process per core (the GIL), many threads each: a request spends most of its time waiting
# for the queue's group commit (fsync), and the more requests wait together in one process, the
# more share one fsync. Threads are cheap while they wait.
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 1)))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "32"))
keepalive = 5
timeout = 30
graceful_timeout = 30
backlog = 2048
accesslog = None  # intake writes one JSON line per delivery itself
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
proc_name = "release-bot-web"

# /metrics must add up every worker process: prometheus-client's multiprocess mode needs a
# directory shared by the workers, set before they import prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="release-bot-metrics-")


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

