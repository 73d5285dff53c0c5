"""The hello-world app of the server-stack comparison: POST / reads the body and answers a small JSON.

    python bench/hello.py HOST PORT      # werkzeug's threaded development server (like moto_server)
    gunicorn -k gthread ... hello:app    # or granian --interface wsgi ... hello:app (PYTHONPATH=bench)
"""

from __future__ import annotations

import logging
import sys

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/")
def hello():
    request.get_data()
    return jsonify(hello="world")


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no access log, as under the other stacks
    run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=True)
