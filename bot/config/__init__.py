"""`.github/release-bot.yml`: schema, defaults, merge, validation (with line numbers) and loading.

Pure parts (``schema.json``, ``defaults``, ``merge``, ``validate``) do no I/O beyond reading the
shipped schema; ``loader`` reads configuration through the GitHub contents API.
"""
