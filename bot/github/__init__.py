"""The only code that talks to GitHub (PyGithub).

- ``auth``: the App (``GithubIntegration``), installation tokens and per-installation clients.
- ``requester``: the hook every request passes through (pacer, call counting, metrics).
- ``retry``: the one retry policy (5xx, secondary rate limits, ``Retry-After``), as a urllib3 ``Retry``.
- ``pacer``: per-installation pacing sized to GitHub's secondary rate limits.
- ``accounting``: API call counts per installation and per job.
- ``errors``: GitHub errors mapped to what the queue should do (``PermanentError``, ``RetryLater``).
- ``paging``: list reads at ``per_page=100`` returning plain dicts (no lazy fetches, no ``totalCount``).
"""
