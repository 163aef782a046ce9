"""gunicorn settings of the production web process (Procfile's `web:`), read from the environment.

Why these defaults (benchmarks/webhook_throughput.py measures them): the endpoint is short CPU
work plus one SQLite commit, so a few processes per core beat threads under the GIL; gthread
keeps wrk's (and GitHub's) keep-alive connections open instead of reconnecting per request.
"""

import os
import tempfile

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '3000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "4"))
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
