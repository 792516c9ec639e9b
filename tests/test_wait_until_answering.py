"""The engine tests' readiness wait ends at its deadline whatever the server answers."""

import http.server
import threading

import pytest

from test_registry_engine import wait_until_answering


def serve(statuses):
    """A local server answering the given statuses in turn, then the last one forever."""
    answers = list(statuses)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(answers.pop(0) if len(answers) > 1 else answers[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/v2/"


def outcome_within(url, seconds, budget=10):
    """What wait_until_answering did (None: returned), failing if it is still waiting after `budget` s."""
    result = []

    def wait():
        try:
            wait_until_answering(url, seconds=seconds)
            result.append(None)
        except Exception as error:  # noqa: BLE001 - reported to the test
            result.append(error)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    thread.join(budget)
    assert result, f"still waiting after {budget} s on a {seconds} s deadline"
    return result[0]


@pytest.mark.parametrize("status", [204, 503])
def test_a_server_that_never_says_200_times_out(status):
    server, url = serve([status])
    try:
        error = outcome_within(url, seconds=0.5)
    finally:
        server.shutdown()
    assert isinstance(error, TimeoutError) and url in str(error) and str(status) in str(error)


def test_a_server_that_gets_ready_is_waited_for():
    server, url = serve([503, 204, 200])
    try:
        assert outcome_within(url, seconds=5) is None
    finally:
        server.shutdown()
