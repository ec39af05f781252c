"""A Celery app on forkline's SQS, for e2e/celery_test.go.

The worker consumes through kombu's SQS transport: boto3 (Debian's, query
protocol) for queue set-up, sends and deletes, and kombu's own asynchronous
client (pycurl, query protocol, its own XML parsing) for long-polled
receives.
"""
import os

from celery import Celery

app = Celery("forkline_e2e", broker=os.environ["BROKER"])
app.conf.broker_transport_options = {
    "region": "us-east-1",
    "wait_time_seconds": 1,
    "polling_interval": 0.2,
    "visibility_timeout": 30,
}
app.conf.task_default_queue = "celery-e2e"
app.conf.worker_hijack_root_logger = False

OUT = os.environ["OUT"]


def record(line):
    with open(OUT, "a") as f:
        f.write(line + "\n")


@app.task
def add(x, y):
    record(f"add {x + y}")


@app.task(bind=True, max_retries=2, default_retry_delay=1)
def flaky(self, tag):
    # Fails once: Celery sends the task again, with a delay.
    if self.request.retries < 1:
        raise self.retry()
    record(f"flaky {tag} after {self.request.retries} retry")


@app.task
def step(n):
    record(f"step {n}")
